#include "cmds/tcp_common.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "cli/validators.h"
#include "engine/io/buffer.h"
#include "engine/util/socket.h"
#include "engine/util/units.h"

namespace evtool {

std::optional<ev::Duration> ServerOptions::idle() const {
  if (idle_timeout.empty()) return std::nullopt;
  return ev::parse_duration(idle_timeout);
}
std::optional<std::uint64_t> ServerOptions::rate_bytes() const {
  return rate.empty() ? std::nullopt : ev::parse_size(rate);
}
std::optional<std::uint64_t> ServerOptions::group_rate_bytes() const {
  return group_rate.empty() ? std::nullopt : ev::parse_size(group_rate);
}

void add_server_options(CLI::App* cmd, ServerOptions& o) {
  cmd->add_option("PORT", o.port, "TCP port to listen on (0: any free port)")->required()->check(kPort);
  cmd->add_option("--bind", o.bind, "Address to listen on (default 0.0.0.0)")->check(kIpAddress)->option_text("ADDR");
  cmd->add_option("--max-conns", o.max_conns, "Close connections beyond N at once")->check(kPositive);
  cmd->add_option("--idle-timeout", o.idle_timeout, "Close a connection idle this long")->check(kDuration);
  cmd->add_option("--rate", o.rate, "Limit each connection to RATE bytes/s each way")->check(kSize)->option_text("RATE");
  cmd->add_option("--group-rate", o.group_rate, "Limit all connections together to RATE bytes/s")
      ->check(kSize)->option_text("RATE");
  cmd->add_option("--threads", o.threads, "Event loops (threads) sharing the port with SO_REUSEPORT")
      ->check(kPositive)->check(CLI::Range(1, 256));
  add_server_tls_flags(cmd, o.tls);
}

ev::SocketAddress server_address(const ServerOptions& o) {
  auto addr = ev::parse_ip(o.bind, *ev::parse_port(o.port));
  if (!addr) throw UsageError("--bind: invalid address '" + o.bind + "'");
  return *addr;
}

std::unique_ptr<ev::ConnListener> listen_tcp(const Context& ctx, ev::EventBase& base, const ev::SocketAddress& addr,
                                             bool reuse_port, ev::ConnListener::AcceptCallback cb) {
  int flags = ev::ConnListener::kReusable | ev::ConnListener::kCloseOnExec;
  if (reuse_port) flags |= ev::ConnListener::kReusablePort;
  std::string why;
  auto l = ev::ConnListener::bind(base, addr, flags, -1, std::move(cb), &why);
  if (!l) ctx.out.error("%s", why.c_str());
  return l;
}

void print_listening(const Context& ctx, const ev::SocketAddress& addr, const char* proto, bool show_proto) {
  if (ctx.out.json()) {
    ctx.out.json_line({{"event", "listening"}, {"proto", proto}, {"address", addr.host()}, {"port", addr.port()}});
  } else {
    ctx.out.line(std::string("listening on ") + (show_proto ? std::string(proto) + " " : "") + addr.to_string());
  }
}

std::string peer_name(const ev::SocketAddress& addr) { return addr.to_string(); }

// ---- signals --------------------------------------------------------------

StopSignals::StopSignals(ev::EventBase& base, std::function<void(int)> on_stop) : base_(base), on_stop_(std::move(on_stop)) {
  int_.assign_signal(base, SIGINT, &StopSignals::on_signal, this);
  term_.assign_signal(base, SIGTERM, &StopSignals::on_signal, this);
  int_.add();
  term_.add();
}

void StopSignals::on_signal(int signum, short, void* arg) {
  auto* s = static_cast<StopSignals*>(arg);
  s->signum_ = signum;
  if (s->on_stop_) s->on_stop_(signum);
  else s->base_.loopbreak();
}

// ---- stdin ----------------------------------------------------------------

StdinReader::StdinReader(ev::EventBase& base, DataFn on_data, EofFn on_eof)
    : base_(base), on_data_(std::move(on_data)), on_eof_(std::move(on_eof)) {
  ev::make_socket_nonblocking(STDIN_FILENO);
  ev_.assign(base, STDIN_FILENO, ev::kRead | ev::kPersist, &StdinReader::on_ready, this);
  if (ev_.add() != 0) {
    // epoll refuses regular files (and /dev/null): they are always ready.
    pump_ = true;
    ev_.assign(base, -1, 0, &StdinReader::on_ready, this);
    ev_.add(ev::Duration(0));
  }
}

void StdinReader::pause() {
  paused_ = true;
  ev_.del();
}

void StdinReader::resume() {
  if (!paused_ || done_) return;
  paused_ = false;
  if (pump_) ev_.add(ev::Duration(0));
  else ev_.add();
}

void StdinReader::on_ready(int, short, void* arg) { static_cast<StdinReader*>(arg)->read_some(); }

void StdinReader::read_some() {
  char buf[64 * 1024];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    if (pump_ && !paused_) ev_.add(ev::Duration(1000));
    return;
  }
  if (n <= 0) {
    done_ = true;
    ev_.del();
    on_eof_(n < 0 ? errno : 0);
    return;
  }
  if (pump_ && !paused_) ev_.add(ev::Duration(0));
  on_data_(buf, static_cast<std::size_t>(n));
}

// ---- stdout ---------------------------------------------------------------

namespace {
// After a failed write to stdout: true to try again (interrupted, or a
// non-blocking stdout that is full: wait until it drains).
bool retry_stdout() {
  if (errno == EINTR) return true;
  if (errno != EAGAIN) return false;
  pollfd pfd{STDOUT_FILENO, POLLOUT, 0};
  ::poll(&pfd, 1, -1);
  return true;
}
}  // namespace

bool write_stdout(const void* data, std::size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, len);
    if (n < 0) {
      if (retry_stdout()) continue;
      return false;
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_stdout(ev::Buffer& buf) {
  while (!buf.empty())
    if (buf.write(STDOUT_FILENO) < 0 && !retry_stdout()) return false;
  return true;
}

}  // namespace evtool
