// The frame every tcp server shares: one ServerLoop (EventBase, listener,
// connection handler) per --threads, SO_REUSEPORT between them, the
// --max-conns / --idle-timeout / --rate / --group-rate limits, TLS with
// --tls, and a clean stop on SIGINT / SIGTERM.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cmds/tcp_common.h"
#include "engine/io/buffer_event.h"
#include "engine/io/rate_limit.h"
#include "engine/tls/context.h"

namespace evtool {

class ConnectionHandler;
struct ServerShared;

// One event loop of a server, run by one thread.
struct ServerLoop {
  const Context& ctx;
  const ServerOptions& opts;
  ServerShared& shared;
  int index = 0;
  std::shared_ptr<ev::tls::Context> tls;  // --tls: shared by every loop; else nullptr
  std::unique_ptr<ev::EventBase> base;
  std::optional<ev::TokenBucketConfig> rate;
  std::unique_ptr<ev::RateLimitGroup> group;
  std::unique_ptr<ev::ConnListener> listener;
  std::unique_ptr<ConnectionHandler> handler;
};

// What all loops of one server share.
struct ServerShared {
  std::vector<std::unique_ptr<ServerLoop>> loops;
  std::atomic<long> connections{0};
};

class ConnectionHandler {
 public:
  explicit ConnectionHandler(ServerLoop& loop) : loop_(loop) {}
  virtual ~ConnectionHandler() = default;
  // A new connection's fd (non-blocking); the handler owns it.
  virtual void on_connection(int fd, const ev::SocketAddress& peer) = 0;
  virtual std::size_t connections() const = 0;
  // Called once the listeners are bound (e.g. to start reading stdin).
  virtual void on_start() {}

 protected:
  ev::EventBase& base() { return *loop_.base; }
  const Output& out() const { return loop_.ctx.out; }
  ServerLoop& loop() { return loop_; }
  // The BufferEvent of an accepted connection: TLS in accepting mode with
  // --tls (the handshake runs on the first bytes), else the plain socket.
  // Owns fd; nullptr (fd closed, reason logged) if TLS cannot start.
  std::unique_ptr<ev::BufferEvent> open_connection(int fd, const std::string& peer);
  // On an error event: logs why the TLS layer failed (a handshake with a
  // peer that sent garbage, ...), if it did. A plain socket logs nothing.
  void report_tls_error(ev::BufferEvent& bev, const std::string& peer);
  // True once everything written to bev has left for the socket, a TLS
  // layer's ciphertext (and close_notify) included.
  static bool all_sent(ev::BufferEvent& bev);
  // --idle-timeout, --rate and --group-rate on a new connection.
  void apply_limits(ev::BufferEvent& bev);
  // Connection bookkeeping; announced (stderr, or JSON on stdout) when
  // `announce_` is set, else only with -v.
  void joined(const std::string& peer);
  void left(const std::string& peer);
  bool announce_ = false;

 private:
  ServerLoop& loop_;
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(ServerLoop&)>;

// Binds, announces, runs every loop until SIGINT / SIGTERM; returns the
// exit code.
int run_tcp_server(const Context& ctx, const ServerOptions& opts, const HandlerFactory& make_handler);

void add_tcp_echo_command(CLI::App& tcp, Context& ctx);
void add_tcp_serve_command(CLI::App& tcp, Context& ctx);
void add_tcp_chat_command(CLI::App& tcp, Context& ctx);

}  // namespace evtool
