// Relay: two connected BufferEvents joined both ways, the heart of
// `tcp forward` (libevent's le-proxy sample). What one side reads is
// written to the other; a side stops being read while the other's unsent
// output is above a high watermark and resumes once it drains (a fast
// sender and a slow receiver keep memory bounded). A side's EOF finishes
// the other's write side (shutdown(SHUT_WR), or TLS close_notify) after
// what it still owes; once both directions are done and sent, or on an
// error, both are closed and `finished` is called exactly once.
//
// With read/write timeouts on the sides (--idle-timeout), a direction
// that times out ends the relay only if no byte moved either way since
// the previous timeout: a transfer that keeps moving one way is never cut
// because the other way is quiet.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/io/buffer_event.h"

namespace evtool {

class Relay {
 public:
  // Called once when the relay is over; it may destroy the Relay.
  using Finished = std::function<void(Relay&)>;

  // `client` is held, unread, until start() brings the target.
  Relay(std::unique_ptr<ev::BufferEvent> client, std::string peer, Finished finished);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Joins the connected target and starts relaying. `write_through`: a
  // side that is a plain socket with nothing queued is written directly
  // (not with rate limits, which count the BufferEvent's own writes).
  void start(std::unique_ptr<ev::BufferEvent> target, bool write_through);
  // Ends the relay now (both sides closed), e.g. when the target could not
  // be reached. Calls `finished`.
  void close();

  const std::string& peer() const { return peer_; }
  std::uint64_t bytes_up() const { return sides_[kClient].bytes_read; }    // client -> target
  std::uint64_t bytes_down() const { return sides_[kTarget].bytes_read; }  // target -> client

 private:
  enum : int { kClient = 0, kTarget = 1 };
  struct Side {
    std::unique_ptr<ev::BufferEvent> bev;
    std::uint64_t bytes_read = 0;
    bool eof = false;  // this side sent its last byte (FIN, close_notify)
    bool direct = false;  // a plain socket: write_through() may write to it
  };

  void readable(int from);
  static void write_through(ev::Buffer& data, ev::BufferEvent& dst);
  void drained(int to);
  void event(int side, short what);
  void timed_out(int side, short what);
  void finish_if_done();

  Side sides_[2];
  std::string peer_;
  Finished finished_;
  std::uint64_t moved_at_last_timeout_ = 0;
  bool closed_ = false;
};

}  // namespace evtool
