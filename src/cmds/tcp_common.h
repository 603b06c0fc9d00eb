// Pieces the tcp commands share: server options and their listening
// sockets, the "listening on" line, stdin as an event source that works
// for terminals, pipes and regular files alike, and writing to stdout.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cmds/tls_options.h"
#include "engine/core/event.h"
#include "engine/io/buffer.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"

namespace evtool {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  std::string port;
  long max_conns = 0;  // 0: unlimited
  std::string idle_timeout;
  std::string rate;        // per connection, bytes/s
  std::string group_rate;  // all connections together
  long threads = 1;
  ServerTlsFlags tls;  // --tls, --cert, --key

  std::optional<ev::Duration> idle() const;
  std::optional<std::uint64_t> rate_bytes() const;
  std::optional<std::uint64_t> group_rate_bytes() const;
};

// Adds PORT (positional) and the server flags of CLI.md (TLS ones too) to cmd.
void add_server_options(CLI::App* cmd, ServerOptions& o);

// Binds o.bind:o.port with ConnListener (SO_REUSEADDR, plus SO_REUSEPORT
// for --threads). Throws UsageError for a bad address; nullptr with the
// error printed when the bind fails.
std::unique_ptr<ev::ConnListener> listen_tcp(const Context& ctx, ev::EventBase& base, const ev::SocketAddress& addr,
                                             bool reuse_port, ev::ConnListener::AcceptCallback cb);
ev::SocketAddress server_address(const ServerOptions& o);

// `listening on 127.0.0.1:8080` or its JSON form; printed even with -q.
void print_listening(const Context& ctx, const ev::SocketAddress& addr, const char* proto = "tcp",
                     bool show_proto = false);

// Stops the loop on SIGINT / SIGTERM; `interrupted` tells which came.
class StopSignals {
 public:
  StopSignals(ev::EventBase& base, std::function<void(int signum)> on_stop = nullptr);
  int last_signal() const { return signum_; }

 private:
  static void on_signal(int signum, short what, void* arg);
  ev::EventBase& base_;
  std::function<void(int)> on_stop_;
  int signum_ = 0;
  ev::Event int_, term_;
};

// Reads stdin without blocking the loop: a read event where the backend can
// watch it (tty, pipe, socket), otherwise (a regular file under epoll) a
// zero-delay pump. pause()/resume() give back-pressure.
class StdinReader {
 public:
  using DataFn = std::function<void(const char* data, std::size_t len)>;
  using EofFn = std::function<void(int err)>;  // err 0: EOF
  StdinReader(ev::EventBase& base, DataFn on_data, EofFn on_eof);
  void pause();
  void resume();
  bool done() const { return done_; }

 private:
  static void on_ready(int fd, short what, void* arg);
  void read_some();
  ev::EventBase& base_;
  DataFn on_data_;
  EofFn on_eof_;
  ev::Event ev_;
  bool pump_ = false;  // no readiness events: re-arm a zero timeout
  bool paused_ = false;
  bool done_ = false;
};

// Writes all of data to stdout (waiting if stdout is non-blocking and
// full). False on an error such as a closed pipe.
bool write_stdout(const void* data, std::size_t len);
bool write_stdout(ev::Buffer& buf);

// "127.0.0.1:40122" for a peer.
std::string peer_name(const ev::SocketAddress& addr);

}  // namespace evtool
