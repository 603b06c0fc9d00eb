// The frame every server command stands on (tcp echo/serve/forward, http
// serve, dns serve, udp echo, and the ones to come): the shared flags
// (--bind, --port, --unix, --threads, --max-conns, --idle-timeout, --rate, --group-rate, --tls,
// --cert, --key), one ServerLoop (EventBase, listener, handler) per
// --threads with SO_REUSEPORT between them and port 0 shared, the
// "listening on" lines, connections wrapped in TLS by the frame (so
// protocols see only BufferEvents), and a clean stop on SIGINT / SIGTERM.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cmds/stop_signals.h"
#include "cmds/tls_options.h"
#include "engine/core/event.h"
#include "engine/io/buffer_event.h"
#include "engine/io/listener.h"
#include "engine/io/rate_limit.h"
#include "engine/tls/context.h"
#include "engine/util/sockaddr.h"

namespace evtool {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  std::string port;
  std::string unix_path;  // --unix PATH: a Unix domain socket instead of the port
  long max_conns = 0;  // 0: the default, connection_limit()
  std::string idle_timeout;
  std::string rate;        // per connection, bytes/s
  std::string group_rate;  // all connections together
  long threads = 1;
  std::string drain_timeout = "10s";
  ServerTlsFlags tls;  // --tls, --cert, --key
  int fds_per_connection = 1;  // a relay (tcp forward) holds two

  std::optional<ev::Duration> idle() const;
  std::optional<std::uint64_t> rate_bytes() const;
  std::optional<std::uint64_t> group_rate_bytes() const;
  // --max-conns, or what RLIMIT_NOFILE allows: the soft limit less a
  // reserve of 32 descriptors (files, logs, resolvers), divided by
  // fds_per_connection, at least 1.
  long connection_limit() const;
  // --unix, else --bind and the port; throws UsageError for a bad
  // address, or for neither a port nor --unix.
  ev::SocketAddress address() const;
};

// Which of the shared flags a command takes.
enum ServerFlag : unsigned {
  kPortArgument = 0x01,  // PORT, positional and required (tcp)
  kPortOption = 0x02,    // --port/-p N with the default already in ServerOptions::port
  kMaxConns = 0x04,
  kIdleTimeout = 0x08,
  kRates = 0x10,  // --rate, --group-rate
  kThreads = 0x20,
  kTlsFlags = 0x40,  // --tls, --cert, --key
  kUnix = 0x80,      // --unix PATH; PORT (kPortArgument) becomes optional
  kTcpServerFlags = kPortArgument | kMaxConns | kIdleTimeout | kRates | kThreads | kTlsFlags | kUnix,
};

// Adds --bind, --drain-timeout and the flags named in `flags` (with `port_help` for the
// port) to cmd.
void add_server_options(CLI::App* cmd, ServerOptions& o, unsigned flags,
                        const std::string& port_help = "TCP port to listen on (0: any free port)");

// `listening on 127.0.0.1:8080` or its JSON form; printed even with -q.
// `show_proto` adds the protocol to the text ("listening on udp ...").
// A Unix socket is `listening on unix:PATH`, in JSON
// {"event":"listening","proto":"unix","address":PATH}.
void print_listening(const Context& ctx, const ev::SocketAddress& addr, const char* proto = "tcp",
                     bool show_proto = false);

class ConnectionHandler;
struct ServerShared;

// One event loop of a server, run by one thread.
struct ServerLoop {
  ServerLoop(const Context& c, const ServerOptions& o, ServerShared& s, int i, std::shared_ptr<ev::tls::Context> t)
      : ctx(c), opts(o), shared(s), index(i), tls(std::move(t)) {}

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
  std::int64_t accept_error_logged_us = 0;  // when EMFILE was last logged
  ev::Event drain_timer;  // --drain-timeout, once stopping
};

// What all loops of one server share.
struct ServerShared {
  std::vector<std::unique_ptr<ServerLoop>> loops;
  std::atomic<long> connections{0};
};

// A socket a handler listens on, for the "listening on" lines.
struct Listening {
  ev::SocketAddress address;
  const char* proto = "tcp";
  bool show_proto = false;
};

// What a server command does with its loop: the protocol.
class ConnectionHandler {
 public:
  explicit ConnectionHandler(ServerLoop& loop) : loop_(loop) {}
  virtual ~ConnectionHandler() = default;
  // Binds this loop's sockets at `addr` and says what it listens on. The
  // default is a ConnListener (TCP with SO_REUSEPORT when `reuse_port`;
  // on a Unix socket, loops after the first share the first one's socket)
  // whose connections go to on_connection, refused beyond --max-conns.
  // False after printing why.
  virtual bool listen(const ev::SocketAddress& addr, bool reuse_port, std::vector<Listening>& out);
  // A new connection's fd (non-blocking); the handler owns it.
  virtual void on_connection(int fd, const ev::SocketAddress& peer);
  // Called once the listeners are bound (e.g. to start reading stdin).
  virtual void on_start() {}
  // SIGINT / SIGTERM: the listeners are closed; call `done` once what is
  // in flight is finished (default: at once).
  virtual void on_stop(std::function<void()> done) { done(); }

  // True once everything written to bev has left for the socket, a TLS
  // layer's ciphertext (and close_notify) included.
  static bool all_sent(ev::BufferEvent& bev) { return queued(bev) == 0; }
  // Bytes written to bev that have not left for the socket yet, in every
  // layer (a TLS layer's plaintext and ciphertext both count).
  static std::size_t queued(ev::BufferEvent& bev);

 protected:
  ev::EventBase& base() { return *loop_.base; }
  const Output& out() const { return loop_.ctx.out; }
  ServerLoop& loop() { return loop_; }
  // The BufferEvent of an accepted connection with the frame's limits
  // (--idle-timeout, --rate, --group-rate): TLS in accepting mode with
  // --tls (the handshake runs on the first bytes), else the plain socket.
  // Owns fd; nullptr (fd closed, `why` set) if TLS cannot start.
  std::unique_ptr<ev::BufferEvent> open_connection(int fd, std::string* why);
  // Same, logging why it failed with the peer's name.
  std::unique_ptr<ev::BufferEvent> open_connection(int fd, const std::string& peer);
  // On an error event: logs why a layer failed (a TLS handshake with a
  // peer that sent garbage, ...), if it says. A plain socket logs nothing.
  void report_error(ev::BufferEvent& bev, const std::string& peer);
  // Connection bookkeeping (for --max-conns); announced (stderr, or JSON
  // on stdout) when `announce_` is set, else only with -v.
  void joined(const std::string& peer);
  void left(const std::string& peer);
  bool announce_ = false;

 private:
  void apply_limits(ev::BufferEvent& bev);
  ServerLoop& loop_;
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(ServerLoop&)>;

// What a protocol tells the frame.
struct ServerSpec {
  std::vector<std::string> alpn;  // offered with --tls
};

// Binds, announces, runs every loop until SIGINT / SIGTERM; returns the
// exit code. The first signal stops accepting and lets the handlers finish
// what is in flight within --drain-timeout; a second one (or the end of
// the drain time) stops every loop at once.
int run_server(const Context& ctx, const ServerOptions& opts, const ServerSpec& spec, const HandlerFactory& make_handler);

// "127.0.0.1:40122" for a peer.
std::string peer_name(const ev::SocketAddress& addr);

}  // namespace evtool
