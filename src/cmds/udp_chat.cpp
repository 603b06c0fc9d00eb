// `evtool udp chat HOST PORT`: each stdin line goes out as one datagram
// (--binary: each chunk read from stdin), each datagram from the peer is
// written to stdout followed by a newline (--binary: raw). The socket is
// connected, so the kernel drops datagrams from any other address. At
// stdin EOF it waits for --wait of quiet (no datagram) before exiting 0.
#include <poll.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "cli/validators.h"
#include "cmds/std_streams.h"
#include "cmds/stop_signals.h"
#include "cmds/udp_commands.h"
#include "engine/dns/resolver.h"
#include "engine/io/datagram.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

struct ChatOptions {
  std::string host, port;
  std::string wait = "1s";
  bool binary = false;
};

class UdpChat {
 public:
  UdpChat(const Context& ctx, ev::EventBase& base, const ChatOptions& o)
      : ctx_(ctx), base_(base), opts_(o), wait_(*ev::parse_duration(o.wait)) {
    quiet_timer_.assign_timer(base, &UdpChat::on_quiet, this);
  }

  int run() {
    StopSignals stop(base_, [this](int signum) {
      status_ = signum == SIGINT ? kExitInterrupted : kExitOk;
      base_.loopbreak();
    });
    int port = *ev::parse_port(opts_.port);
    if (auto ip = ev::parse_ip(opts_.host, port)) {
      open(*ip);
    } else {
      resolve(port);
    }
    if (status_ == kExitOk && !done_) base_.loop(ev::EventBase::kLoopNoExitOnEmpty);
    return status_;
  }

 private:
  // A name: the engine's resolver, first address (A before AAAA).
  void resolve(int port) {
    std::string why;
    resolver_ = ev::dns::Resolver::system(base_, &why);
    if (!resolver_) return fail(kExitFailure, "resolver: " + why);
    resolver_->getaddrinfo(opts_.host, port, AF_UNSPEC, [this](int err, const std::vector<ev::SocketAddress>& addrs) {
      if (!addrs.empty()) return open(addrs.front());
      fail(err == ev::dns::kErrNotExist ? kExitNotFound : err == ev::dns::kErrTimeout ? kExitTimeout : kExitFailure,
           "cannot resolve '" + opts_.host + "': " + ev::dns::dns_err_to_string(err));
    });
  }

  void open(const ev::SocketAddress& addr) {
    std::string why;
    fd_ = ev::connect_datagram_socket(addr, &why);
    if (!fd_) return fail(kExitFailure, why);
    peer_ = addr;
    ctx_.out.debug("sending to udp %s", addr.to_string().c_str());
    read_ev_.assign(base_, fd_.get(), ev::kRead | ev::kPersist, &UdpChat::on_readable, this);
    read_ev_.add();
    stdin_ = std::make_unique<StdinReader>(
        base_, [this](const char* d, std::size_t n) { typed(d, n); }, [this](int err) { stdin_done(err); });
  }

  void typed(const char* data, std::size_t len) {
    if (opts_.binary) {
      for (std::size_t off = 0; off < len; off += ev::kMaxDatagram)
        send(data + off, std::min(len - off, ev::kMaxDatagram));
      return;
    }
    pending_.append(data, len);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
      send(pending_.data() + start, nl - start);
    pending_.erase(0, start);
  }

  void stdin_done(int err) {
    if (err) ctx_.out.error("reading stdin: %s", std::strerror(err));
    if (!opts_.binary && !pending_.empty()) send(pending_.data(), pending_.size());  // a last line without newline
    pending_.clear();
    stdin_eof_ = true;
    quiet_timer_.add(wait_);
  }

  // One datagram; a full socket buffer is waited out (poll(2)) rather than
  // dropping what the user typed.
  void send(const char* data, std::size_t len) {
    if (done_) return;
    while (::send(fd_.get(), data, len, MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_.get(), POLLOUT, 0};
        ::poll(&p, 1, 1000);
      } else if (errno == ECONNREFUSED) {
        ctx_.out.debug("udp %s: port unreachable", peer_.to_string().c_str());  // ICMP from an earlier datagram
      } else if (errno != EINTR) {
        return fail(kExitFailure, "sending to udp " + peer_.to_string() + ": " + std::strerror(errno));
      }
    }
  }

  static void on_readable(int, short, void* arg) { static_cast<UdpChat*>(arg)->receive(); }

  void receive() {
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == ECONNREFUSED) ctx_.out.info("udp %s: port unreachable", peer_.to_string().c_str());
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          fail(kExitFailure, "receiving: " + std::string(std::strerror(errno)));
        return;
      }
      if (stdin_eof_) quiet_timer_.add(wait_);  // quiet restarts with each datagram
      if (!print(buf_.data(), static_cast<std::size_t>(n)))
        return fail(kExitFailure, std::string("writing to stdout: ") + std::strerror(errno));
    }
  }

  bool print(const char* data, std::size_t len) {
    if (ctx_.out.json()) {
      Json doc = {{"event", "datagram"}, {"peer", peer_.to_string()}};
      put_text(doc, "data", std::string_view(data, len));
      ctx_.out.json_line(doc);
      return true;
    }
    if (!write_stdout(data, len)) return false;
    return opts_.binary || write_stdout("\n", 1);
  }

  static void on_quiet(int, short, void* arg) {
    auto* c = static_cast<UdpChat*>(arg);
    c->done_ = true;
    c->base_.loopbreak();
  }

  void fail(int status, const std::string& why) {
    ctx_.out.error("%s", why.c_str());
    status_ = status;
    done_ = true;
    base_.loopbreak();
  }

  const Context& ctx_;
  ev::EventBase& base_;
  const ChatOptions& opts_;
  ev::Duration wait_;
  std::unique_ptr<ev::dns::Resolver> resolver_;
  ev::UniqueFd fd_;
  ev::SocketAddress peer_;
  ev::Event read_ev_, quiet_timer_;
  std::unique_ptr<StdinReader> stdin_;
  std::string pending_;  // a line still missing its newline
  std::vector<char> buf_ = std::vector<char>(ev::kMaxDatagram + 1);
  bool stdin_eof_ = false;
  bool done_ = false;
  int status_ = kExitOk;
};

}  // namespace

void add_udp_chat_command(CLI::App& udp, Context& ctx) {
  auto opts = std::make_shared<ChatOptions>();
  CLI::App* cmd = udp.add_subcommand("chat", "Send stdin lines to HOST PORT as datagrams, print the datagrams back");
  cmd->add_option("HOST", opts->host, "Peer name or IP address")->required()->option_text("HOST");
  cmd->add_option("PORT", opts->port, "Peer UDP port")->required()->check(kPort);
  cmd->add_option("--wait", opts->wait, "At stdin EOF, exit after DUR without a datagram (default 1s)")
      ->check(kPositiveDuration);
  cmd->add_flag("--binary", opts->binary, "Send stdin chunks as datagrams, write datagrams raw (no newline)");
  ctx.add_command(cmd, [&ctx, opts] {
    int rc = kExitOk;
    auto base = ctx.make_base(&rc);
    if (!base) return rc;
    return UdpChat(ctx, *base, *opts).run();
  });
}

}  // namespace evtool
