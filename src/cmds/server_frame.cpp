#include "cmds/server_frame.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <thread>

#include "cli/validators.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/tls/tls_buffer_event.h"
#include "engine/util/units.h"

namespace evtool {

// ---- options --------------------------------------------------------------

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

long ServerOptions::connection_limit() const {
  if (max_conns > 0) return max_conns;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1L << 20;
  constexpr rlim_t kReserve = 32;
  long fds = static_cast<long>(rl.rlim_cur > kReserve + 1 ? std::min<rlim_t>(rl.rlim_cur - kReserve, 1L << 30) : 1);
  return std::max(1L, fds / std::max(1, fds_per_connection));
}

ev::SocketAddress ServerOptions::address() const {
  if (!unix_path.empty()) {
    std::string why;
    auto addr = ev::SocketAddress::unix_path(unix_path, &why);
    if (!addr) throw UsageError("--unix: " + why);
    return *addr;
  }
  if (port.empty()) throw UsageError("PORT is required (or --unix PATH)");
  auto addr = ev::parse_ip(bind, *ev::parse_port(port));
  if (!addr) throw UsageError("--bind: invalid address '" + bind + "'");
  return *addr;
}

void add_server_options(CLI::App* cmd, ServerOptions& o, unsigned flags, const std::string& port_help) {
  CLI::Option* port = nullptr;
  if (flags & kPortArgument) {
    port = cmd->add_option("PORT", o.port, port_help)->check(kPort);
    if (!(flags & kUnix)) port->required();
  }
  if (flags & kPortOption) port = cmd->add_option("--port,-p", o.port, port_help)->check(kPort);
  if (flags & kUnix) {
    auto* unix_opt = cmd->add_option("--unix", o.unix_path, "Listen on a Unix domain socket at PATH instead of a port")
                     ->option_text("PATH");
    if (port) unix_opt->excludes(port);
  }
  cmd->add_option("--bind", o.bind, "Address to listen on (default 0.0.0.0)")->check(kIpAddress)->option_text("ADDR");
  cmd->add_option("--drain-timeout", o.drain_timeout,
                  "On SIGINT/SIGTERM, give in-flight work DUR to finish (default 10s)")
      ->check(kPositiveDuration);
  if (flags & kMaxConns)
    cmd->add_option("--max-conns", o.max_conns,
                    o.fds_per_connection > 1 ? "Serve at most N connections at once (default: RLIMIT_NOFILE less 32, halved)"
                                             : "Serve at most N connections at once (default: RLIMIT_NOFILE less 32)")
        ->check(kPositive);
  if (flags & kIdleTimeout)
    cmd->add_option("--idle-timeout", o.idle_timeout, "Close a connection idle this long")->check(kPositiveDuration);
  if (flags & kRates) {
    cmd->add_option("--rate", o.rate, "Limit each connection to RATE bytes/s each way")
        ->check(kPositiveSize)->option_text("RATE");
    cmd->add_option("--group-rate", o.group_rate, "Limit all connections together to RATE bytes/s")
        ->check(kPositiveSize)->option_text("RATE");
  }
  if (flags & kThreads)
    cmd->add_option("--threads", o.threads, "Event loops (threads) sharing the port with SO_REUSEPORT")
        ->check(kPositive)->check(CLI::Range(1, 256));
  if (flags & kTlsFlags) add_server_tls_flags(cmd, o.tls);
}

void print_listening(const Context& ctx, const ev::SocketAddress& addr, const char* proto, bool show_proto) {
  if (addr.is_unix()) {
    if (ctx.out.json()) ctx.out.json_line({{"event", "listening"}, {"proto", "unix"}, {"address", addr.host()}});
    else ctx.out.line("listening on " + addr.to_string());
    return;
  }
  if (ctx.out.json()) {
    ctx.out.json_line({{"event", "listening"}, {"proto", proto}, {"address", addr.host()}, {"port", addr.port()}});
  } else {
    ctx.out.line(std::string("listening on ") + (show_proto ? std::string(proto) + " " : "") + addr.to_string());
  }
}

std::string peer_name(const ev::SocketAddress& addr) { return addr.to_string(); }

// ---- connections ----------------------------------------------------------

bool ConnectionHandler::listen(const ev::SocketAddress& addr, bool reuse_port, std::vector<Listening>& bound) {
  int flags = ev::ConnListener::kReusable | ev::ConnListener::kCloseOnExec;
  if (reuse_port) flags |= ev::ConnListener::kReusablePort;
  ServerLoop* lp = &loop_;
  std::string why;
  auto accepted = [lp, max = loop_.opts.connection_limit()](ev::ConnListener& l, int fd, const ev::SocketAddress& peer) {
    if (lp->shared.connections.load() >= max) {
      lp->ctx.out.debug("%s refused: --max-conns %ld reached", peer_name(peer).c_str(), max);
      ::close(fd);
      return;
    }
    // A Unix client rarely binds a name of its own: call it by the socket it came in on.
    bool unnamed = peer.is_unix() && peer.host().empty();
    lp->handler->on_connection(fd, unnamed ? l.local_address() : peer);
  };
  if (addr.is_unix() && loop_.index > 0) {  // SO_REUSEPORT does not spread Unix sockets: share the first loop's
    int fd = ::dup(loop_.shared.loops.front()->listener->fd());
    if (fd >= 0) loop_.listener = ev::ConnListener::adopt(base(), fd, flags | ev::ConnListener::kCloseOnFree, accepted);
    else why = std::string("dup: ") + std::strerror(errno);
  } else {
    loop_.listener = ev::ConnListener::bind(base(), addr, flags, -1, accepted, &why);
  }
  if (!loop_.listener) {
    out().error("%s", why.c_str());
    return false;
  }
  // Out of descriptors: the listener pauses 100 ms and tries again; say so
  // at most once a second.
  loop_.listener->set_error_callback([lp](ev::ConnListener& l, int err) {
    std::int64_t now = l.base().now_us();
    if (now - lp->accept_error_logged_us < 1000000 && lp->accept_error_logged_us != 0) return;
    lp->accept_error_logged_us = now;
    bool out_of_fds = err == EMFILE || err == ENFILE;
    lp->ctx.out.info("accept: %s%s", std::strerror(err), out_of_fds ? "; pausing accepts for 100 ms" : "");
  });
  bound.push_back({loop_.listener->local_address()});
  return true;
}

void ConnectionHandler::on_connection(int fd, const ev::SocketAddress&) { ::close(fd); }

void ConnectionHandler::apply_limits(ev::BufferEvent& bev) {
  if (auto idle = loop_.opts.idle()) bev.set_timeouts(*idle, *idle);
  if (loop_.rate) bev.set_rate_limit(&*loop_.rate);
  if (loop_.group) bev.add_to_rate_limit_group(*loop_.group);
}

std::unique_ptr<ev::BufferEvent> ConnectionHandler::open_connection(int fd, std::string* why) {
  std::unique_ptr<ev::BufferEvent> bev;
  if (loop_.tls) bev = ev::tls::TlsBufferEvent::accept_socket(base(), fd, loop_.tls, ev::BufferEvent::kCloseOnFree, why);
  else bev = ev::SocketBufferEvent::create(base(), fd, ev::BufferEvent::kCloseOnFree);
  if (bev) apply_limits(*bev);
  return bev;
}

std::unique_ptr<ev::BufferEvent> ConnectionHandler::open_connection(int fd, const std::string& peer) {
  std::string why;
  auto bev = open_connection(fd, &why);
  if (!bev) out().info("%s: %s", peer.c_str(), why.c_str());  // the socket was closed with it
  return bev;
}

void ConnectionHandler::report_error(ev::BufferEvent& bev, const std::string& peer) {
  std::string why = bev.error_detail();
  if (!why.empty()) out().info("%s: %s", peer.c_str(), why.c_str());
}

std::size_t ConnectionHandler::queued(ev::BufferEvent& bev) {
  std::size_t n = 0;
  for (ev::BufferEvent* b = &bev; b; b = b->underlying()) n += b->output().length();
  return n;
}

void ConnectionHandler::joined(const std::string& peer) {
  ++loop_.shared.connections;
  if (!announce_) return out().debug("%s connected", peer.c_str());
  if (out().json()) out().json_line({{"event", "join"}, {"peer", peer}});
  else out().info("%s joined", peer.c_str());
}

void ConnectionHandler::left(const std::string& peer) {
  --loop_.shared.connections;
  if (!announce_) return out().debug("%s disconnected", peer.c_str());
  if (out().json()) out().json_line({{"event", "leave"}, {"peer", peer}});
  else out().info("%s left", peer.c_str());
}

// ---- running --------------------------------------------------------------

namespace {

// Creates loop i: its base, limits, handler and sockets (SO_REUSEPORT when
// there are several loops). False after printing the error.
bool setup_loop(ServerLoop& loop, const ev::SocketAddress& addr, const HandlerFactory& make_handler,
                std::vector<Listening>& listening, int* rc) {
  loop.base = loop.ctx.make_base(rc);
  if (!loop.base) return false;
  auto threads = static_cast<std::uint64_t>(loop.opts.threads);
  if (auto r = loop.opts.rate_bytes()) loop.rate = ev::TokenBucketConfig::per_second(*r);
  if (auto g = loop.opts.group_rate_bytes())  // each loop takes its part of the group's rate
    loop.group = std::make_unique<ev::RateLimitGroup>(
        *loop.base, ev::TokenBucketConfig::per_second(std::max<std::uint64_t>(1, *g / threads)));
  loop.handler = make_handler(loop);
  if (!loop.handler->listen(addr, threads > 1, listening)) {
    *rc = kExitFailure;
    return false;
  }
  return true;
}

// Every loop leaves its loop now, whatever is in flight.
void break_all(ServerShared& shared) {
  for (auto& lp : shared.loops) {
    ev::EventBase* b = lp->base.get();
    b->run_in_loop([b] { b->loopbreak(); });
  }
}

// SIGINT / SIGTERM: every loop closes its listener and lets its handler
// finish what is in flight, then leaves its loop, or when `drain` is over.
void drain_all(ServerShared& shared, ev::Duration drain) {
  for (auto& lp : shared.loops) {
    ServerLoop* loop = lp.get();
    loop->base->run_in_loop([loop, drain] {
      loop->listener.reset();
      ev::EventBase* b = loop->base.get();
      loop->drain_timer.assign(*b, -1, 0, [b](int, short) { b->loopbreak(); });
      loop->drain_timer.add(drain);
      loop->handler->on_stop([b] { b->loopbreak(); });
    });
  }
}

}  // namespace

int run_server(const Context& ctx, const ServerOptions& opts, const ServerSpec& spec, const HandlerFactory& make_handler) {
  ServerShared shared;
  ev::SocketAddress addr = opts.address();
  int rc = kExitOk;
  std::shared_ptr<ev::tls::Context> tls = make_server_tls(ctx, opts.tls, opts.bind, spec.alpn, &rc);
  if (rc != kExitOk) return rc;
  std::vector<Listening> listening;
  for (long i = 0; i < opts.threads; ++i) {
    shared.loops.push_back(
        std::make_unique<ServerLoop>(ctx, opts, shared, static_cast<int>(i), tls));
    std::vector<Listening> bound;
    if (!setup_loop(*shared.loops.back(), addr, make_handler, bound, &rc)) return rc;
    if (i == 0) {
      listening = bound;
      if (!bound.empty()) addr = bound.front().address;  // port 0: every loop shares the real one
    }
  }
  ServerLoop& main_loop = *shared.loops[0];
  const ev::Duration drain = *ev::parse_duration(opts.drain_timeout);
  StopSignals stop(*main_loop.base, [&shared, drain, signals = 0](int) mutable {
    if (++signals > 1) return break_all(shared);
    drain_all(shared, drain);
  });
  // After the signal handlers: scripts may signal as soon as they read it.
  for (const Listening& l : listening) print_listening(ctx, l.address, l.proto, l.show_proto);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < shared.loops.size(); ++i) {
    ServerLoop* lp = shared.loops[i].get();
    threads.emplace_back([lp] {
      lp->handler->on_start();
      lp->base->loop(ev::EventBase::kLoopNoExitOnEmpty);
    });
  }
  main_loop.handler->on_start();
  main_loop.base->loop(ev::EventBase::kLoopNoExitOnEmpty);
  for (std::thread& t : threads) t.join();
  return kExitOk;
}

}  // namespace evtool
