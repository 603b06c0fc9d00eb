// `evtool timer`: a timer as a tool. A one-shot or
// persistent timer that prints each tick (scheduled from the nominal time,
// so it does not drift) and may run a shell command at every tick; the
// children are reaped through a SIGCHLD signal event, so ticks never wait.
// With --json a command's stdout is captured and reported as an `exec`
// event, so the output stays NDJSON.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>

#include "cli/validators.h"
#include "cmds/commands.h"
#include "cmds/stop_signals.h"
#include "engine/util/units.h"

extern char** environ;

namespace evtool {
namespace {

struct TimerOptions {
  std::string after, every, exec;
  long count = 0;  // 0: not given
};

// Starts `sh -c command`, its stdout on `stdout_fd` when that is not -1.
// evtool ignores SIGPIPE for itself; the command gets it back at its
// default, as it would from a shell.
int spawn_shell(const std::string& command, int stdout_fd, pid_t* pid) {
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  posix_spawnattr_t attr;
  if (int err = posix_spawnattr_init(&attr)) return err;
  posix_spawn_file_actions_t actions;
  if (int err = posix_spawn_file_actions_init(&actions)) {
    posix_spawnattr_destroy(&attr);
    return err;
  }
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  int err = posix_spawn(pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return err;
}

// With --json a command's stdout is read from a pipe, so that it never
// lands in the NDJSON stream, and reported in its `exec` event. Bounded:
// beyond kMaxCaptured the rest is read and dropped.
struct CapturedCommand {
  static constexpr std::size_t kMaxCaptured = 64 * 1024;
  long tick = 0;
  int fd = -1;  // the pipe's read end, until EOF
  std::string output;
  bool truncated = false;
  ev::Event readable;

  ~CapturedCommand() {
    readable.del();
    if (fd >= 0) ::close(fd);
  }
  // Reads what the pipe holds now; false at EOF or on an error.
  bool drain() {
    char buf[16 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN;
      if (n == 0) return false;
      std::size_t room = kMaxCaptured - output.size();
      output.append(buf, std::min(room, static_cast<std::size_t>(n)));
      truncated = truncated || static_cast<std::size_t>(n) > room;
    }
  }
};

class TimerJob {
 public:
  TimerJob(const Context& ctx, ev::EventBase& base, const TimerOptions& o) : ctx_(ctx), base_(base), exec_(o.exec) {
    // Both were validated by the parser; at least one is set.
    ev::Duration every = ev::parse_duration(o.every).value_or(ev::Duration(-1));
    ev::Duration after = ev::parse_duration(o.after).value_or(ev::Duration(-1));
    bool periodic = !o.every.empty();
    period_ = periodic ? every : after;
    first_ = o.after.empty() ? every : after;
    persistent_ = periodic || o.count > 1;
    limit_ = o.count > 0 ? o.count : (periodic ? 0 : 1);
  }

  int run() {
    start_ = last_ = Clock::now();
    StopSignals stop(base_, [this](int) {
      ctx_.out.debug("interrupted: leaving %d command(s) running", children_);
      base_.loopbreak();
    });
    if (!exec_.empty()) {
      sigchld_.assign_signal(base_, SIGCHLD, &TimerJob::on_child, this);
      if (sigchld_.add() != 0) return kExitFailure;
    }
    // A persistent event keeps the nominal schedule; after a first delay
    // that differs from the period, tick() aims each tick at it instead.
    if (first_ == period_ && persistent_) {
      tick_.assign(base_, -1, ev::kPersist, &TimerJob::on_tick, this);
    } else {
      tick_.assign_timer(base_, &TimerJob::on_tick, this);
    }
    next_us_ = base_.now_us() + first_.count();
    if (tick_.add(first_) != 0) return kExitFailure;
    base_.loop(ev::EventBase::kLoopNoExitOnEmpty);
    return status_;
  }

 private:
  using Clock = std::chrono::steady_clock;

  static void on_tick(int, short, void* arg) { static_cast<TimerJob*>(arg)->tick(); }
  static void on_child(int, short, void* arg) { static_cast<TimerJob*>(arg)->reap(); }

  void tick() {
    ++ticks_;
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - last_).count();
    double since = std::chrono::duration<double>(now - start_).count();
    last_ = now;
    if (ctx_.out.json()) {
      ctx_.out.json_line({{"event", "tick"}, {"tick", ticks_}, {"elapsed", round_ms(elapsed)}, {"since_start", round_ms(since)}});
    } else {
      char line[64];
      std::snprintf(line, sizeof line, "[%.3f] tick %ld", elapsed, ticks_);
      ctx_.out.line(line);
    }
    if (!exec_.empty()) spawn();
    bool last = limit_ > 0 && ticks_ >= limit_;
    if (last) {
      tick_.del();
      finish_if_idle();
    } else if (!(tick_.events() & ev::kPersist)) {
      schedule_next();
    }
  }

  // The next tick as a one-shot timer at its nominal time, counted from the
  // first tick's nominal time, not from when this one ran (so a late first
  // tick shifts nothing); missed ticks are skipped, keeping the phase, as
  // the engine does for persistent timers.
  void schedule_next() {
    const std::int64_t period = period_.count(), now = base_.now_us();
    next_us_ += period;
    if (next_us_ < now) next_us_ += ((now - next_us_) / period + 1) * period;
    tick_.add(ev::Duration(next_us_ - now));
  }

  void spawn() {
    std::fflush(stdout);  // the child writes to the same stdout
    std::unique_ptr<CapturedCommand> capture;
    int pipe_fds[2] = {-1, -1};
    if (ctx_.out.json()) {
      if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return spawn_failed("pipe", errno);
      capture = std::make_unique<CapturedCommand>();
      capture->tick = ticks_;
      capture->fd = pipe_fds[0];
      ::fcntl(capture->fd, F_SETFL, O_NONBLOCK);
    }
    pid_t pid;
    int err = spawn_shell(exec_, pipe_fds[1], &pid);
    if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
    if (err != 0) return spawn_failed("/bin/sh", err);
    ++children_;
    ctx_.out.debug("tick %ld: started pid %d", ticks_, static_cast<int>(pid));
    if (!capture) return;
    CapturedCommand* c = capture.get();
    c->readable.assign(base_, c->fd, ev::kRead | ev::kPersist, [c](int, short) {
      if (!c->drain()) c->readable.del();
    });
    c->readable.add();
    captured_.emplace(pid, std::move(capture));
  }

  void spawn_failed(const char* what, int err) {
    ctx_.out.error("--exec: cannot start %s: %s", what, std::strerror(err));
    status_ = kExitFailure;
  }

  void reap() {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      --children_;
      if (WIFEXITED(status)) ctx_.out.debug("pid %d exited with %d", static_cast<int>(pid), WEXITSTATUS(status));
      else if (WIFSIGNALED(status)) ctx_.out.debug("pid %d killed by signal %d", static_cast<int>(pid), WTERMSIG(status));
      report_exec(pid, status);
    }
    finish_if_idle();
  }

  // {"event":"exec","tick":N,"pid":P,"status":S,"stdout":"…"}: S is the
  // exit status, or 128+N for a command killed by signal N (as sh reports
  // it, with "signal":N). Everything the command wrote before it exited is
  // in the pipe by now; a background process that kept the pipe open
  // loses what it writes later.
  void report_exec(pid_t pid, int status) {
    auto it = captured_.find(pid);
    if (it == captured_.end()) return;
    CapturedCommand& c = *it->second;
    c.readable.del();
    c.drain();
    bool signaled = WIFSIGNALED(status);
    Json doc = {{"event", "exec"}, {"tick", c.tick}, {"pid", static_cast<int>(pid)},
                {"status", signaled ? 128 + WTERMSIG(status) : WEXITSTATUS(status)}};
    if (signaled) doc["signal"] = WTERMSIG(status);
    put_text(doc, "stdout", c.output);
    if (c.truncated) doc["stdout_truncated"] = true;
    ctx_.out.json_line(doc);
    captured_.erase(it);
  }

  void finish_if_idle() {
    if (limit_ > 0 && ticks_ >= limit_ && children_ <= 0) base_.loopbreak();
  }

  const Context& ctx_;
  ev::EventBase& base_;
  std::string exec_;
  ev::Duration first_{}, period_{};
  bool persistent_ = false;
  long limit_ = 0;
  long ticks_ = 0;
  std::int64_t next_us_ = 0;  // nominal time of the next tick, on the base's clock
  int children_ = 0;
  std::unordered_map<pid_t, std::unique_ptr<CapturedCommand>> captured_;  // --json only
  int status_ = kExitOk;
  Clock::time_point start_, last_;
  ev::Event tick_, sigchld_;
};

int run_timer(const Context& ctx, const TimerOptions& o) {
  if (o.after.empty() && o.every.empty()) throw UsageError("timer needs --every DUR, --after DUR, or both");
  auto zero = [](const std::string& d) { return !d.empty() && ev::parse_duration(d)->count() == 0; };
  if (zero(o.every)) throw UsageError("--every: the period must be greater than 0");
  if (o.every.empty() && o.count > 1 && zero(o.after))
    throw UsageError("--count with --after alone repeats every --after, which must be greater than 0");
  int rc = kExitOk;
  auto base = ctx.make_base(&rc, ev::Config::kPreciseTimer);  // ticks on time, not rounded to ms
  if (!base) return rc;
  TimerJob job(ctx, *base, o);
  return job.run();
}

}  // namespace

void add_timer_command(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<TimerOptions>();
  CLI::App* cmd = app.add_subcommand("timer", "Print a tick after a delay or periodically, optionally running a command");
  cmd->add_option("--after", opts->after, "First tick after DUR; alone: a one-shot timer")->check(kDuration);
  cmd->add_option("--every", opts->every, "Tick every DUR (persistent, no drift)")->check(kDuration);
  cmd->add_option("--count", opts->count, "Stop after N ticks (default: unlimited with --every, else 1)")->check(kPositive);
  cmd->add_option("--exec", opts->exec, "Run 'sh -c CMD' at every tick without blocking")->option_text("CMD");
  ctx.add_command(cmd, [&ctx, opts] { return run_timer(ctx, *opts); });
}

}  // namespace evtool
