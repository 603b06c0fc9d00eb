// `evtool tcp serve PORT`: a multi-client chat server. Every
// line a client sends goes to every other client and to stdout as
// `PEER: line`; lines typed on stdin go to all clients. With --threads the
// loops hand lines to each other through EventBase::run_in_loop().
#include <memory>
#include <string_view>
#include <unordered_map>

#include "cli/validators.h"
#include "cmds/server_frame.h"
#include "cmds/std_streams.h"
#include "cmds/tcp_commands.h"
#include "engine/util/units.h"

namespace evtool {
namespace {

struct ServeOptions {
  ServerOptions server;
  std::string max_line = "64k";
  // A receiver that does not read is dropped once this much waits for it,
  // so slow clients cannot grow the server's memory (worst case:
  // --max-conns times this).
  std::string max_queue = "256k";
};

class ChatConnections final : public ConnectionHandler {
 public:
  ChatConnections(ServerLoop& loop, std::size_t max_line, std::size_t max_queue)
      : ConnectionHandler(loop), max_line_(max_line), max_queue_(max_queue) {
    announce_ = true;
  }

  void on_start() override {
    if (loop().index != 0) return;  // one stdin reader for the whole server
    stdin_ = std::make_unique<StdinReader>(
        base(), [this](const char* data, std::size_t len) { typed(data, len); }, [this](int) { typed_eof(); });
  }

  void on_connection(int fd, const ev::SocketAddress& peer) override {
    std::string name = peer_name(peer);
    auto bev = open_connection(fd, name);
    if (!bev) return;
    ev::BufferEvent* raw = bev.get();
    raw->setcb([this](ev::BufferEvent& b) { received(b); }, nullptr, [this](ev::BufferEvent& b, short what) {
      if (what & ev::BufferEvent::kError) report_error(b, conns_.at(&b).peer);
      else if (what & ev::BufferEvent::kEof) received_last(b);
      close(b);
    });
    raw->enable(ev::kRead | ev::kWrite);
    conns_.emplace(raw, Conn{std::move(bev), name});
    joined(name);
  }


  // Sends one line (with its newline) to every client of this loop except `from`.
  void deliver(const std::string& line, const ev::BufferEvent* from) {
    std::vector<ev::BufferEvent*> slow;
    for (auto& [bev, c] : conns_) {
      if (bev == from) continue;
      bev->write(line.data(), line.size());
      if (queued(*bev) > max_queue_) slow.push_back(bev);
    }
    for (ev::BufferEvent* b : slow) dropped(*b, "slow reader");
  }

 private:
  struct Conn {
    std::unique_ptr<ev::BufferEvent> bev;
    std::string peer;
  };

  // Lines end at LF; a CR before it stays part of what is relayed, so
  // clients get the bytes that were sent, and is left out of what is shown.
  void received(ev::BufferEvent& b) {
    const std::string peer = conns_.at(&b).peer;
    while (auto line = b.input().readln(ev::EolStyle::Lf)) {
      if (line->size() > max_line_) return too_long(b);
      relay(peer, *line, &b);
      if (!conns_.count(&b)) return;
    }
    if (b.input().length() > max_line_) too_long(b);
  }

  // At the client's EOF, what follows its last newline is a line too.
  void received_last(ev::BufferEvent& b) {
    received(b);
    if (!conns_.count(&b) || b.input().empty()) return;
    std::string rest = b.input().to_string();
    b.input().drain(rest.size());
    relay(conns_.at(&b).peer, rest, &b);
  }

  void relay(const std::string& peer, const std::string& line, const ev::BufferEvent* from) {
    std::string_view shown(line);
    if (shown.ends_with('\r')) shown.remove_suffix(1);
    if (out().json()) {
      Json doc = {{"event", "message"}, {"peer", peer}};
      put_text(doc, "data", shown);
      out().json_line(doc);
    } else {
      out().line(peer + ": " + std::string(shown));
    }
    broadcast(line + "\n", from);
  }

  void dropped(ev::BufferEvent& b, const char* reason) {
    const std::string& peer = conns_.at(&b).peer;
    if (out().json()) out().json_line({{"event", "dropped"}, {"peer", peer}, {"reason", reason}});
    else out().info("%s: dropped: %s (more than --max-queue %zu bytes waiting)", peer.c_str(), reason, max_queue_);
    close(b);
  }

  void too_long(ev::BufferEvent& b) {
    out().info("%s: line longer than --max-line (%zu bytes); disconnected", conns_.at(&b).peer.c_str(), max_line_);
    close(b);
  }

  void typed(const char* data, std::size_t len) {
    typed_.add(data, len);
    while (auto line = typed_.readln(ev::EolStyle::Lf)) broadcast(*line + "\n", nullptr);
  }

  void typed_eof() {
    if (typed_.empty()) return;
    broadcast(typed_.to_string() + "\n", nullptr);
    typed_.drain(typed_.length());
  }

  // To this loop's clients directly, to the other loops through their queues.
  void broadcast(const std::string& line, const ev::BufferEvent* from) {
    for (auto& lp : loop().shared.loops) {
      auto* handler = static_cast<ChatConnections*>(lp->handler.get());
      if (lp.get() == &loop()) handler->deliver(line, from);
      else lp->base->run_in_loop([handler, line] { handler->deliver(line, nullptr); });
    }
  }

  void close(ev::BufferEvent& b) {
    auto it = conns_.find(&b);
    if (it == conns_.end()) return;
    left(it->second.peer);
    conns_.erase(it);
  }

  std::size_t max_line_, max_queue_;
  std::unordered_map<ev::BufferEvent*, Conn> conns_;
  std::unique_ptr<StdinReader> stdin_;
  ev::Buffer typed_;
};

}  // namespace

void add_tcp_serve_command(CLI::App& tcp, Context& ctx) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = tcp.add_subcommand("serve", "Chat server: relay each client's lines to all other clients");
  add_server_options(cmd, opts->server, kTcpServerFlags);
  cmd->add_option("--max-line", opts->max_line, "Disconnect a client whose line exceeds SIZE (default 64k)")
      ->check(kPositiveSize);
  cmd->add_option("--max-queue", opts->max_queue, "Drop a client with more than SIZE waiting to be sent to it (default 256k)")
      ->check(kPositiveSize);
  ctx.add_command(cmd, [&ctx, opts] {
    auto max_line = static_cast<std::size_t>(*ev::parse_size(opts->max_line));
    auto max_queue = static_cast<std::size_t>(*ev::parse_size(opts->max_queue));
    return run_server(ctx, opts->server, {}, [max_line, max_queue](ServerLoop& loop) {
      return std::make_unique<ChatConnections>(loop, max_line, max_queue);
    });
  });
}

}  // namespace evtool
