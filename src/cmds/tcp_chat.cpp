// `evtool tcp chat HOST PORT`: the guide's TCP client, as nc users expect.
// stdin goes to the server, the server's bytes go to stdout unchanged;
// EOF on stdin half-closes and keeps reading; exit 0 when the server
// closes. Each address of HOST is tried in turn. With --tls the connected
// socket is wrapped in a TLS client (peer and name verified unless -k);
// a failed handshake or verification exits 5.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "cli/validators.h"
#include "cmds/tcp_server.h"
#include "cmds/tls_options.h"
#include "engine/dns/resolver.h"
#include "engine/tls/tls_buffer_event.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

constexpr std::size_t kOutputHigh = 1024 * 1024;  // stop reading stdin above this
constexpr std::size_t kOutputLow = 256 * 1024;

struct ChatOptions {
  std::string host, port;
  std::string connect_timeout = "10s";
  ClientTlsFlags tls;
};

// The engine's resolver with the system's resolv.conf and hosts file.
std::unique_ptr<ev::dns::Resolver> system_resolver(const Context& ctx, ev::EventBase& base) {
  std::string why;
  auto conf = ev::dns::load_resolv_conf("/etc/resolv.conf", &why).value_or(ev::dns::ResolvConf{});
  auto resolver = ev::dns::Resolver::create(base, conf, &why);
  if (auto hosts = ev::dns::HostsFile::load("/etc/hosts", &why)) resolver->set_hosts(std::move(*hosts));
  else ctx.out.debug("/etc/hosts: %s", why.c_str());
  return resolver;
}

class ChatClient {
 public:
  // `tls`: nullptr for plain TCP. `servername`: the name TLS sends and
  // verifies (default: host).
  ChatClient(const Context& ctx, ev::EventBase& base, std::string host, int port, ev::Duration timeout,
             std::shared_ptr<ev::tls::Context> tls, std::string servername)
      : ctx_(ctx), base_(base), host_(std::move(host)), port_(port), timeout_(timeout), tls_(std::move(tls)),
        servername_(servername.empty() ? host_ : std::move(servername)) {
    timer_.assign_timer(base, &ChatClient::on_timeout, this);
  }

  int run() {
    StopSignals stop(base_, [this](int signum) {
      status_ = signum == SIGINT ? kExitInterrupted : kExitOk;
      base_.loopbreak();
    });
    if (auto literal = ev::parse_ip(host_, port_)) {
      addrs_ = {*literal};
      if (!try_next()) return status_;
    } else {
      resolve();
    }
    base_.loop(ev::EventBase::kLoopNoExitOnEmpty);
    return status_;
  }

 private:
  static void on_timeout(int, short, void* arg) {
    auto* c = static_cast<ChatClient*>(arg);
    c->ctx_.out.debug("%s: connection timed out", c->addrs_[c->next_ - 1].to_string().c_str());
    c->last_error_ = ETIMEDOUT;
    c->try_next();
  }

  // A name: every address the resolver finds (IPv4 first), tried in turn.
  void resolve() {
    resolver_ = system_resolver(ctx_, base_);
    resolver_->getaddrinfo(host_, port_, AF_UNSPEC, [this](int err, const std::vector<ev::SocketAddress>& addrs) {
      addrs_ = addrs;
      if (addrs_.empty() && host_ == "localhost")  // no hosts file: the usual loopbacks
        addrs_ = {*ev::parse_ip("127.0.0.1", port_), *ev::parse_ip("::1", port_)};
      if (addrs_.empty()) {
        ctx_.out.error("cannot resolve '%s': %s", host_.c_str(), ev::dns::dns_err_to_string(err));
        status_ = err == ev::dns::kErrTimeout ? kExitTimeout : kExitFailure;
        base_.loopbreak();
        return;
      }
      try_next();
    });
  }

  // Starts connecting to the next address; false (status set) when none is left.
  bool try_next() {
    tls_bev_ = nullptr;
    bev_.reset();
    while (next_ < addrs_.size()) {
      const ev::SocketAddress& addr = addrs_[next_++];
      ctx_.out.debug("connecting to %s", addr.to_string().c_str());
      bev_ = ev::BufferEvent::socket(base_, -1, ev::BufferEvent::kCloseOnFree);
      attach_callbacks();
      if (bev_->connect(addr) == 0) {
        timer_.add(timeout_);
        return true;
      }
      last_error_ = errno;
      ctx_.out.debug("%s: %s", addr.to_string().c_str(), std::strerror(errno));
    }
    bev_.reset();
    fail_connect();
    return false;
  }

  void fail_connect() {
    timer_.del();
    const std::string target = addrs_.size() == 1 ? addrs_.front().to_string() : host_ + " port " + std::to_string(port_);
    if (last_error_ == ETIMEDOUT) {
      ctx_.out.error("connect to %s: timed out", target.c_str());
      status_ = kExitTimeout;
    } else {
      ctx_.out.error("connect to %s: %s", target.c_str(), std::strerror(last_error_));
      status_ = kExitFailure;
    }
    base_.loopbreak();
  }

  // The socket connected: with --tls, start the handshake over it (the
  // connect timeout keeps running until it is done).
  void tcp_connected() {
    ctx_.out.debug("connected to %s; TLS handshake", addrs_[next_ - 1].to_string().c_str());
    std::string why;
    auto tls = ev::tls::TlsBufferEvent::wrap(std::move(bev_), tls_, ev::tls::TlsBufferEvent::Mode::kConnecting,
                                             servername_, ev::BufferEvent::kCloseOnFree, &why);
    if (!tls) return fail_tls(why);
    tls_bev_ = tls.get();
    bev_ = std::move(tls);
    attach_callbacks();
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
    const ev::SocketAddress& addr = addrs_[next_ - 1];
    return servername_ == addr.host() ? addr.to_string() : servername_ + " (" + addr.to_string() + ")";
  }

  void connected() {
    timer_.del();
    if (tls_bev_)
      ctx_.out.debug("%s with %s, cipher %s", tls_bev_->version().c_str(), target().c_str(),
                     tls_bev_->cipher().c_str());
    else ctx_.out.debug("connected to %s", addrs_[next_ - 1].to_string().c_str());
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
    if (what & ev::BufferEvent::kConnected) return tls_ && !tls_bev_ ? tcp_connected() : connected();
    if (tls_bev_ && !tls_bev_->handshake_done()) return fail_tls(tls_bev_->error());
    if (!stdin_) {  // still connecting: this address failed
      last_error_ = errno ? errno : ECONNREFUSED;
      ctx_.out.debug("%s: %s", addrs_[next_ - 1].to_string().c_str(), std::strerror(last_error_));
      timer_.del();
      if (try_next()) return;
      return;
    }
    if (what & ev::BufferEvent::kEof) {
      received(b);
      if (tls_bev_ && tls_bev_->dirty_shutdown()) ctx_.out.debug("the server closed without a TLS close_notify");
      status_ = kExitOk;
    } else if (tls_bev_ && !tls_bev_->error().empty()) {
      ctx_.out.error("connection to %s: %s", addrs_[next_ - 1].to_string().c_str(), tls_bev_->error().c_str());
      status_ = kExitFailure;
    } else {
      ctx_.out.error("connection to %s: %s", addrs_[next_ - 1].to_string().c_str(), std::strerror(errno));
      status_ = kExitFailure;
    }
    base_.loopbreak();
  }

  const Context& ctx_;
  ev::EventBase& base_;
  std::string host_;
  int port_;
  std::unique_ptr<ev::dns::Resolver> resolver_;
  std::vector<ev::SocketAddress> addrs_;
  std::size_t next_ = 0;
  ev::Duration timeout_;
  int last_error_ = ECONNREFUSED;
  int status_ = kExitOk;
  ev::Event timer_;
  std::shared_ptr<ev::tls::Context> tls_;
  std::string servername_;
  std::unique_ptr<ev::BufferEvent> bev_;
  ev::tls::TlsBufferEvent* tls_bev_ = nullptr;  // bev_ once TLS wraps the socket
  std::unique_ptr<StdinReader> stdin_;
};

int run_chat(const Context& ctx, const ChatOptions& o) {
  int rc = kExitOk;
  auto tls = make_client_tls(ctx, o.tls, &rc);
  if (rc != kExitOk) return rc;
  auto base = ctx.make_base(&rc);
  if (!base) return rc;
  ChatClient client(ctx, *base, o.host, *ev::parse_port(o.port), *ev::parse_duration(o.connect_timeout),
                    std::move(tls), o.tls.servername);
  return client.run();
}

}  // namespace

void add_tcp_chat_command(CLI::App& tcp, Context& ctx) {
  auto opts = std::make_shared<ChatOptions>();
  CLI::App* cmd = tcp.add_subcommand("chat", "Connect to HOST PORT: stdin to the server, the server to stdout");
  cmd->add_option("HOST", opts->host, "Server name or IP address")->required();
  cmd->add_option("PORT", opts->port, "Server port")->required()->check(kPort);
  cmd->add_option("--connect-timeout", opts->connect_timeout, "Give up connecting after DUR (default 10s)")
      ->check(kDuration);
  add_client_tls_flags(cmd, opts->tls);
  ctx.add_command(cmd, [&ctx, opts] { return run_chat(ctx, *opts); });
}

}  // namespace evtool
