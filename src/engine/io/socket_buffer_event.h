// SocketBufferEvent: a BufferEvent over a stream socket (libevent's
// bufferevent_socket_new). A persistent read event fills input() with
// readv(2); a write event, added only while output() holds data, drains it
// with writev(2) or sendfile(2). It connects to an address (names are
// resolved above this layer: dns::Connector), reports connect results
// through the event callback, times each direction, and applies rate
// limits to the bytes that cross the socket.
#pragma once

#include <memory>
#include <optional>

#include "engine/io/buffer_event.h"

namespace ev {

class SocketBufferEvent final : public BufferEvent {
 public:
  // Wraps fd (-1: a socket created later by connect()).
  static std::unique_ptr<SocketBufferEvent> create(EventBase& base, int fd, int options);
  ~SocketBufferEvent() override;

  // Starts a non-blocking connect(2); kConnected or kError arrives through
  // the event callback, even when the connect succeeds at once. 0, or -1
  // (errno set) if it failed at once.
  int connect(const SocketAddress& addr);

  int set_timeouts(std::optional<Duration> read, std::optional<Duration> write) override;
  int flush(short iotype, Flush mode) override;
  int fd() const override { return fd_; }
  std::optional<SocketAddress> peer_address() const override;

 protected:
  void schedule_read_event() override;
  void schedule_write_event() override;
  void output_changed() override;
  void input_changed() override;
  RateLimitState* rate_limit_state(bool create) override;

 private:
  SocketBufferEvent(EventBase& base, int fd, int options);
  static void on_readable(int fd, short what, void* arg);
  static void on_writable(int fd, short what, void* arg);
  static void on_refilled(void* self);
  void handle_read(short what);
  void handle_write(short what);
  bool connect_finished();
  void finish_shutdown();
  void write_now();
  bool read_blocked() const { return limits_ && limits_->read_blocked(); }
  bool write_blocked() const { return limits_ && limits_->write_blocked(); }
  static int add_with_timeout(Event& ev, std::optional<Duration> timeout);

  int fd_;
  Event read_ev_, write_ev_;
  std::unique_ptr<RateLimitState> limits_;  // made on the first limit
  std::optional<Duration> read_timeout_, write_timeout_;
  bool connecting_ = false;
  bool read_paused_ = false;  // input reached the high watermark
  bool shutdown_pending_ = false;
  bool in_read_callback_ = false;
};

}  // namespace ev
