// `evtool tcp forward PORT HOST:PORT` (alias `proxy`): a port forwarder,
// libevent's le-proxy sample on the server frame. Each accepted
// connection is joined to a new connection to the target (dns::Connector:
// names resolved, every address tried; or a Unix socket); a Relay moves
// bytes both ways with back-pressure, passes half-close through, and
// closes both sides once both directions are done, with one log line.
// --tls terminates TLS on the listening side (the frame's wrapping);
// --to-tls speaks TLS to the target (the client TLS helpers).
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "cli/validators.h"
#include "cmds/relay.h"
#include "cmds/server_frame.h"
#include "cmds/tcp_commands.h"
#include "cmds/tls_options.h"
#include "engine/dns/connector.h"
#include "engine/dns/resolver.h"
#include "engine/util/socket.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

struct ForwardOptions {
  ServerOptions server;
  std::string port_arg, target_arg;  // PORT HOST:PORT (just HOST:PORT with --unix)
  ev::Endpoint target;
  std::string connect_timeout = "10s";
  ClientTlsFlags to_tls;  // --to-tls, -k, --cacert, --servername
};

class Forwarder final : public ConnectionHandler {
 public:
  Forwarder(ServerLoop& loop, const ForwardOptions& o, std::shared_ptr<ev::tls::ClientConnector> tls)
      : ConnectionHandler(loop), opts_(o), tls_(std::move(tls)), timeout_(*ev::parse_duration(o.connect_timeout)) {
    if (!o.target.unix && !ev::parse_ip(o.target.host)) {
      std::string why;
      resolver_ = ev::dns::Resolver::system(base(), &why);
      if (!resolver_) out().debug("resolver: %s", why.c_str());
    }
  }

  void on_connection(int fd, const ev::SocketAddress& peer) override {
    std::string name = peer_name(peer);
    ev::make_tcp_nodelay(fd);  // a relay must not hold small writes back (Nagle); fails harmlessly on Unix sockets
    auto client = open_connection(fd, name);
    if (!client) return;
    auto relay = std::make_unique<Relay>(std::move(client), name, [this](Relay& r) { finished(r); });
    Relay* r = relay.get();
    relays_.emplace(r, Pending{std::move(relay), std::make_unique<ev::dns::Connector>(base(), resolver_.get()), nullptr});
    joined(name);
    ev::dns::Connector& c = *relays_.at(r).connector;
    c.set_trace([this, name](const std::string& line) { out().debug("%s: %s", name.c_str(), line.c_str()); });
    ev::dns::Connector::Options copts;
    copts.timeout = timeout_;
    auto done = [this, r](std::unique_ptr<ev::SocketBufferEvent> bev, const ev::dns::Connector::Result& res) {
      connected(*r, std::move(bev), res);
    };
    if (opts_.target.unix) c.connect(*opts_.target.unix, copts, done);
    else c.connect(opts_.target.host, opts_.target.port, copts, done);
  }

  void on_stop(std::function<void()> done) override {
    stop_ = std::move(done);
    if (relays_.empty()) stop_();
  }

 private:
  struct Pending {
    std::unique_ptr<Relay> relay;
    std::unique_ptr<ev::dns::Connector> connector;  // until the target answers
    std::unique_ptr<ev::BufferEvent> handshake;     // --to-tls: the target until its handshake is done
  };

  void connected(Relay& r, std::unique_ptr<ev::SocketBufferEvent> bev, const ev::dns::Connector::Result& res) {
    if (!bev) {
      out().info("%s -> %s: %s", r.peer().c_str(), target_text().c_str(), res.message.c_str());
      return r.close();
    }
    ev::make_tcp_nodelay(bev->fd());
    if (!tls_) return start(r, std::move(bev));
    std::string why;
    // A Unix target has no host name: "localhost" unless --servername.
    std::string name = !opts_.to_tls.servername.empty() ? opts_.to_tls.servername
                       : opts_.target.unix                 ? std::string("localhost")
                                                           : opts_.target.host;
    auto tls = tls_->wrap(std::move(bev), name, ev::BufferEvent::kCloseOnFree, &why);
    if (!tls) {
      out().info("%s -> %s: TLS: %s", r.peer().c_str(), target_text().c_str(), why.c_str());
      return r.close();
    }
    // The handshake (and verification) must finish within the connect timeout.
    tls->set_timeouts(timeout_, timeout_);
    Relay* rp = &r;
    tls->setcb(nullptr, nullptr, [this, rp](ev::BufferEvent& b, short what) {
      if (what & ev::BufferEvent::kConnected) return start(*rp, std::move(relays_.at(rp).handshake));
      std::string why = (what & ev::BufferEvent::kTimedOut) ? "handshake timed out" : b.error_detail();
      out().info("%s -> %s: TLS: %s", rp->peer().c_str(), target_text().c_str(),
                 why.empty() ? "handshake failed" : why.c_str());
      rp->close();  // destroys the Pending, and with it this BufferEvent (allowed from its callback)
    });
    tls->enable(ev::kRead | ev::kWrite);
    relays_.at(&r).handshake = std::move(tls);
  }

  void start(Relay& r, std::unique_ptr<ev::BufferEvent> target) {
    target->set_timeouts(opts_.server.idle(), opts_.server.idle());
    bool limited = !opts_.server.rate.empty() || !opts_.server.group_rate.empty();
    r.start(std::move(target), !limited);
  }

  void finished(Relay& r) {
    const std::string& peer = r.peer();
    if (!out().quiet()) {
      if (out().json())
        out().json_line({{"event", "closed"}, {"peer", peer}, {"target", target_text()},
                         {"bytes_up", r.bytes_up()}, {"bytes_down", r.bytes_down()}});
      else
        out().line(peer + " -> " + target_text() + ": " + std::to_string(r.bytes_up()) + " bytes up, " +
                   std::to_string(r.bytes_down()) + " bytes down");
    }
    left(peer);
    relays_.erase(&r);  // from inside r's callback: Relay::close allows it
    if (stop_ && relays_.empty()) stop_();
  }

  std::string target_text() const { return opts_.target.unix ? opts_.target.unix->to_string() : opts_.target_arg; }

  const ForwardOptions& opts_;
  std::shared_ptr<ev::tls::ClientConnector> tls_;
  ev::Duration timeout_;
  std::unique_ptr<ev::dns::Resolver> resolver_;
  std::unordered_map<Relay*, Pending> relays_;
  std::function<void()> stop_;
};

// PORT HOST:PORT, or HOST:PORT alone with --unix (the one positional
// CLI11 then put in PORT). Throws UsageError naming the bad argument.
void resolve_arguments(ForwardOptions& o) {
  if (!o.server.unix_path.empty() && o.target_arg.empty()) std::swap(o.port_arg, o.target_arg);
  if (o.target_arg.empty()) throw UsageError("HOST:PORT is required: evtool tcp forward PORT HOST:PORT");
  if (!o.port_arg.empty()) {
    if (!o.server.unix_path.empty()) throw UsageError("--unix: a Unix socket replaces PORT; give one of them");
    if (!ev::parse_port(o.port_arg)) throw UsageError("PORT: invalid port '" + o.port_arg + "'");
  }
  o.server.port = o.port_arg;
  std::string why;
  auto target = ev::parse_endpoint(o.target_arg, &why);
  if (!target) throw UsageError("HOST:PORT: invalid target '" + o.target_arg + "': " + why);
  o.target = *target;
}

int run_forward(const Context& ctx, ForwardOptions& o) {
  resolve_arguments(o);
  int rc = kExitOk;
  auto tls = make_client_tls(ctx, o.to_tls, TlsChoice::kToSwitch, {}, true, &rc);
  if (rc != kExitOk) return rc;
  return run_server(ctx, o.server, {}, [&o, tls](ServerLoop& loop) { return std::make_unique<Forwarder>(loop, o, tls); });
}

}  // namespace

void add_tcp_forward_command(CLI::App& tcp, Context& ctx) {
  auto o = std::make_shared<ForwardOptions>();
  o->server.fds_per_connection = 2;  // the client's socket and the target's
  CLI::App* cmd = tcp.add_subcommand("forward", "Forward each connection on PORT to HOST:PORT (a relay, like socat)");
  cmd->alias("proxy");
  cmd->add_option("PORT", o->port_arg, "TCP port to listen on (0: any free port; none with --unix)")->option_text("PORT");
  cmd->add_option("TARGET", o->target_arg, "Where to connect: HOST:PORT, [IPv6]:PORT or unix:PATH")
      ->option_text("HOST:PORT");
  add_server_options(cmd, o->server, kTcpServerFlags & ~kPortArgument);
  cmd->add_option("--connect-timeout", o->connect_timeout, "Give up connecting to the target after DUR (default 10s)")
      ->check(kPositiveDuration);
  add_client_tls_flags(cmd, o->to_tls, TlsChoice::kToSwitch);
  ctx.add_command(cmd, [&ctx, o] { return run_forward(ctx, *o); });
}

}  // namespace evtool
