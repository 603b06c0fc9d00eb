// `evtool tcp chat HOST PORT` (or `--unix PATH`): a TCP client as nc
// users expect.
// stdin goes to the server, the server's bytes go to stdout unchanged;
// EOF on stdin half-closes and keeps reading; exit 0 when the server
// closes. Each address of HOST is tried in turn. With --tls the connected
// socket is wrapped in a TLS client (peer and name verified unless -k);
// a failed handshake or verification exits 5.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <vector>

#include "cli/validators.h"
#include "cmds/std_streams.h"
#include "cmds/stop_signals.h"
#include "cmds/tcp_commands.h"
#include "cmds/tls_options.h"
#include "engine/dns/connector.h"
#include "engine/dns/resolver.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/tls/tls_buffer_event.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

constexpr std::size_t kOutputHigh = 1024 * 1024;  // stop reading stdin above this
constexpr std::size_t kOutputLow = 256 * 1024;

struct ChatOptions {
  std::string host, port;
  std::string unix_path;  // --unix PATH instead of HOST PORT
  std::string connect_timeout = "10s";
  ClientTlsFlags tls;
};

class ChatClient {
 public:
  // `tls`: nullptr for plain TCP. `servername`: the name TLS sends and
  // verifies (default: host).
  ChatClient(const Context& ctx, ev::EventBase& base, std::string host, int port, ev::Duration timeout,
             std::shared_ptr<ev::tls::ClientConnector> tls, std::string servername)
      : ctx_(ctx), base_(base), host_(std::move(host)), port_(port), timeout_(timeout), tls_(std::move(tls)),
        servername_(servername.empty() ? host_ : std::move(servername)) {
    timer_.assign_timer(base, &ChatClient::on_handshake_timeout, this);
  }

  // A Unix domain socket instead of host and port.
  void set_unix(const ev::SocketAddress& addr) { unix_ = addr; }

  int run() {
    StopSignals stop(base_, [this](int signum) {
      status_ = signum == SIGINT ? kExitInterrupted : kExitOk;
      base_.loopbreak();
    });
    if (unix_) {
      address_ = *unix_;
    } else if (!ev::parse_ip(host_)) {
      std::string why;
      resolver_ = ev::dns::Resolver::system(base_, &why);
      if (!resolver_) ctx_.out.debug("resolver: %s", why.c_str());
    }
    connector_ = std::make_unique<ev::dns::Connector>(base_, resolver_.get());
    connector_->set_trace([this](const std::string& line) { ctx_.out.debug("%s", line.c_str()); });
    ev::dns::Connector::Options opts;
    opts.timeout = timeout_;
    auto done = [this](std::unique_ptr<ev::SocketBufferEvent> bev, const auto& r) { tcp_done(std::move(bev), r); };
    if (unix_) connector_->connect(*unix_, opts, done);
    else connector_->connect(host_, port_, opts, done);
    base_.loop(ev::EventBase::kLoopNoExitOnEmpty);
    return status_;
  }

 private:
  // Every address was tried (or the name did not resolve): exit 3 for a
  // name that does not exist, 4 for a timeout, else 1.
  void tcp_done(std::unique_ptr<ev::SocketBufferEvent> bev, const ev::dns::Connector::Result& r) {
    using E = ev::dns::Connector::Error;
    if (r.error != E::kNone) {
      ctx_.out.error("%s", r.message.c_str());
      bool no_name = r.error == E::kResolve && r.dns_error == ev::dns::kErrNotExist;
      status_ = no_name ? kExitNotFound
                : (r.error == E::kTimeout || r.error == E::kResolveTimeout) ? kExitTimeout
                                                                            : kExitFailure;
      base_.loopbreak();
      return;
    }
    address_ = *r.address;
    bev_ = std::move(bev);
    attach_callbacks();
    if (tls_) return start_tls();
    connected();
  }

  static void on_handshake_timeout(int, short, void* arg) {
    auto* c = static_cast<ChatClient*>(arg);
    c->ctx_.out.error("TLS with %s: handshake timed out", c->target().c_str());
    c->status_ = kExitTimeout;
    c->base_.loopbreak();
  }

  // The socket connected: with --tls, the handshake runs over it within
  // the connect timeout.
  void start_tls() {
    ctx_.out.debug("connected to %s; TLS handshake", address_.to_string().c_str());
    std::string why;
    auto tls = tls_->wrap(std::move(bev_), servername_, ev::BufferEvent::kCloseOnFree, &why);
    if (!tls) return fail_tls(why);
    tls_bev_ = tls.get();
    bev_ = std::move(tls);
    attach_callbacks();
    bev_->enable(ev::kRead | ev::kWrite);
    timer_.add(timeout_);
  }

  // Ours on bev_: the socket, then the TLS layer over it.
  void attach_callbacks() {
    bev_->setcb([this](ev::BufferEvent& b) { received(b); },
                [this](ev::BufferEvent&) {
                  if (stdin_) stdin_->resume();
                },
                [this](ev::BufferEvent& b, short what) { event(b, what); });
  }

  void fail_tls(const std::string& why) {
    timer_.del();
    ctx_.out.error("TLS with %s: %s", target().c_str(), why.empty() ? "handshake failed" : why.c_str());
    status_ = kExitTls;
    base_.loopbreak();
  }

  std::string target() const {
    return servername_ == address_.host() ? address_.to_string() : servername_ + " (" + address_.to_string() + ")";
  }

  void connected() {
    timer_.del();
    if (tls_bev_)
      ctx_.out.debug("%s with %s, cipher %s", tls_bev_->version().c_str(), target().c_str(),
                     tls_bev_->cipher().c_str());
    bev_->setwatermark(ev::kWrite, kOutputLow, 0);
    bev_->enable(ev::kRead | ev::kWrite);
    stdin_ = std::make_unique<StdinReader>(
        base_, [this](const char* d, std::size_t n) { typed(d, n); }, [this](int) { bev_->flush(ev::kWrite, ev::BufferEvent::Flush::Finished); });
  }

  void typed(const char* data, std::size_t len) {
    bev_->write(data, len);
    if (bev_->output().length() >= kOutputHigh) stdin_->pause();
  }

  void received(ev::BufferEvent& b) {
    if (!write_stdout(b.input())) {
      ctx_.out.error("writing to stdout: %s", std::strerror(errno));
      status_ = kExitFailure;
      base_.loopbreak();
    }
  }

  void event(ev::BufferEvent& b, short what) {
    if (what & ev::BufferEvent::kConnected) return connected();
    if (tls_bev_ && !tls_bev_->handshake_done()) return fail_tls(tls_bev_->error());
    if (what & ev::BufferEvent::kEof) {
      received(b);
      if (tls_bev_ && tls_bev_->dirty_shutdown()) ctx_.out.debug("the server closed without a TLS close_notify");
      status_ = kExitOk;
    } else if (tls_bev_ && !tls_bev_->error().empty()) {
      ctx_.out.error("connection to %s: %s", address_.to_string().c_str(), tls_bev_->error().c_str());
      status_ = kExitFailure;
    } else {
      ctx_.out.error("connection to %s: %s", address_.to_string().c_str(), std::strerror(errno));
      status_ = kExitFailure;
    }
    base_.loopbreak();
  }

  const Context& ctx_;
  ev::EventBase& base_;
  std::string host_;
  int port_;
  std::optional<ev::SocketAddress> unix_;
  std::unique_ptr<ev::dns::Resolver> resolver_;
  std::unique_ptr<ev::dns::Connector> connector_;
  ev::SocketAddress address_;  // the one connected to
  ev::Duration timeout_;
  int status_ = kExitOk;
  ev::Event timer_;  // the TLS handshake's deadline
  std::shared_ptr<ev::tls::ClientConnector> tls_;
  std::string servername_;
  std::unique_ptr<ev::BufferEvent> bev_;
  ev::tls::TlsBufferEvent* tls_bev_ = nullptr;  // bev_ once TLS wraps the socket
  std::unique_ptr<StdinReader> stdin_;
};

int run_chat(const Context& ctx, const ChatOptions& o) {
  int rc = kExitOk;
  auto tls = make_client_tls(ctx, o.tls, TlsChoice::kSwitch, {}, true, &rc);
  if (rc != kExitOk) return rc;
  std::optional<ev::SocketAddress> unix_addr;
  if (!o.unix_path.empty()) {
    std::string why;
    unix_addr = ev::SocketAddress::unix_path(o.unix_path, &why);
    if (!unix_addr) throw UsageError("--unix: " + why);
    if (!o.port.empty()) throw UsageError("--unix: give HOST PORT or --unix PATH, not both");
  } else if (o.host.empty() || o.port.empty()) {
    throw UsageError("HOST and PORT are required (or --unix PATH)");
  }
  auto base = ctx.make_base(&rc);
  if (!base) return rc;
  // Over a Unix socket, TLS names the server "localhost" unless --servername says otherwise.
  std::string host = unix_addr && o.host.empty() ? "localhost" : o.host;
  ChatClient client(ctx, *base, host, o.port.empty() ? 0 : *ev::parse_port(o.port),
                    *ev::parse_duration(o.connect_timeout), std::move(tls), o.tls.servername);
  if (unix_addr) client.set_unix(*unix_addr);
  return client.run();
}

}  // namespace

void add_tcp_chat_command(CLI::App& tcp, Context& ctx) {
  auto opts = std::make_shared<ChatOptions>();
  CLI::App* cmd = tcp.add_subcommand("chat", "Connect to HOST PORT: stdin to the server, the server to stdout");
  cmd->add_option("HOST", opts->host, "Server name or IP address (none with --unix)")->option_text("HOST");
  cmd->add_option("PORT", opts->port, "Server port")->check(kPort);
  cmd->add_option("--unix", opts->unix_path, "Connect to the Unix domain socket at PATH instead of HOST PORT")
      ->option_text("PATH");
  cmd->add_option("--connect-timeout", opts->connect_timeout, "Give up connecting after DUR (default 10s)")
      ->check(kPositiveDuration);
  add_client_tls_flags(cmd, opts->tls);
  ctx.add_command(cmd, [&ctx, opts] { return run_chat(ctx, *opts); });
}

}  // namespace evtool
