// `evtool timer`: a timer as a tool. A one-shot or
// persistent timer that prints each tick (scheduled from the nominal time,
// so it does not drift) and may run a shell command at every tick; the
// children are reaped through a SIGCHLD signal event, so ticks never wait.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>

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

// Starts `sh -c command`. evtool ignores SIGPIPE for itself; the command
// gets it back at its default, as it would from a shell.
int spawn_shell(const std::string& command, pid_t* pid) {
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  posix_spawnattr_t attr;
  if (int err = posix_spawnattr_init(&attr)) return err;
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  int err = posix_spawn(pid, "/bin/sh", nullptr, &attr, const_cast<char**>(argv), environ);
  posix_spawnattr_destroy(&attr);
  return err;
}

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
    pid_t pid;
    int err = spawn_shell(exec_, &pid);
    if (err != 0) {
      ctx_.out.error("--exec: cannot start /bin/sh: %s", std::strerror(err));
      status_ = kExitFailure;
      return;
    }
    ++children_;
    ctx_.out.debug("tick %ld: started pid %d", ticks_, static_cast<int>(pid));
  }

  void reap() {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      --children_;
      if (WIFEXITED(status)) ctx_.out.debug("pid %d exited with %d", static_cast<int>(pid), WEXITSTATUS(status));
      else if (WIFSIGNALED(status)) ctx_.out.debug("pid %d killed by signal %d", static_cast<int>(pid), WTERMSIG(status));
    }
    finish_if_idle();
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
