// `evtool tcp echo PORT`: echoes every byte back, binary-safe. Each
// connection's output is capped (reading pauses while the peer is not
// reading), so a peer that sends and never reads holds a bounded amount
// of server memory. On FIN (or TLS close_notify) the owed bytes are sent,
// then the write side is finished (FIN, or close_notify first) and the
// connection closes.
#include <thread>
#include <unordered_map>

#include "cmds/server_frame.h"
#include "cmds/tcp_commands.h"
#include "engine/io/buffer_event.h"

namespace evtool {
namespace {

constexpr std::size_t kOutputHigh = 1024 * 1024;  // pause reading above this
constexpr std::size_t kOutputLow = 256 * 1024;    // resume at or below this

class EchoConnections final : public ConnectionHandler {
 public:
  using ConnectionHandler::ConnectionHandler;

  void on_connection(int fd, const ev::SocketAddress& peer) override {
    std::string name = peer_name(peer);
    auto bev = open_connection(fd, name);
    if (!bev) return;
    ev::BufferEvent* raw = bev.get();
    raw->setcb([this](ev::BufferEvent& b) { echo(b); }, [this](ev::BufferEvent& b) { drained(b); },
               [this](ev::BufferEvent& b, short what) { event(b, what); });
    raw->setwatermark(ev::kWrite, kOutputLow, 0);
    raw->enable(ev::kRead | ev::kWrite);
    conns_.emplace(raw, Conn{std::move(bev), name, false});
    joined(name);
  }


 private:
  struct Conn {
    std::unique_ptr<ev::BufferEvent> bev;
    std::string peer;
    bool closing;  // the peer sent FIN: close once output is sent
  };

  void echo(ev::BufferEvent& b) {
    b.output().add_buffer(b.input());
    if (b.output().length() >= kOutputHigh) b.disable(ev::kRead);
  }

  void drained(ev::BufferEvent& b) {
    Conn& c = conns_.at(&b);
    if (c.closing) {
      if (all_sent(b)) close(b);
      return;
    }
    if (!(b.enabled() & ev::kRead)) b.enable(ev::kRead);
  }

  void event(ev::BufferEvent& b, short what) {
    Conn& c = conns_.at(&b);
    if ((what & ev::BufferEvent::kEof) && !c.closing) {
      // Send what we still owe, then FIN (TLS: close_notify, then FIN);
      // drained() closes once it is all out.
      c.closing = true;
      if (b.flush(ev::kWrite, ev::BufferEvent::Flush::Finished) == 1) return;
    }
    if (what & ev::BufferEvent::kTimedOut) out().debug("%s: idle timeout", c.peer.c_str());
    if (what & ev::BufferEvent::kError) report_error(b, c.peer);
    close(b);
  }

  void close(ev::BufferEvent& b) {
    auto it = conns_.find(&b);
    left(it->second.peer);
    conns_.erase(it);  // destroys the BufferEvent, closing the socket
  }

  std::unordered_map<ev::BufferEvent*, Conn> conns_;
};

}  // namespace

void add_tcp_echo_command(CLI::App& tcp, Context& ctx) {
  auto opts = std::make_shared<ServerOptions>();
  CLI::App* cmd = tcp.add_subcommand("echo", "Echo every byte back to its sender");
  add_server_options(cmd, *opts, kTcpServerFlags);
  ctx.add_command(cmd, [&ctx, opts] {
    return run_server(ctx, *opts, {}, [](ServerLoop& loop) { return std::make_unique<EchoConnections>(loop); });
  });
}

}  // namespace evtool
