// stdin as an event source that works for terminals, pipes and regular
// files alike, and writing to stdout whatever mode it is in: what the
// interactive commands (tcp chat, tcp serve, later ws and udp) share.
#pragma once

#include <functional>
#include <memory>

#include "engine/core/event.h"
#include "engine/io/buffer.h"

namespace evtool {

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

// Writes all of data to fd (waiting if fd is non-blocking and full).
// False on an error, with errno set.
bool write_all(int fd, const void* data, std::size_t len);

// Writes all of data to stdout (waiting if stdout is non-blocking and
// full). False on an error such as a closed pipe.
bool write_stdout(const void* data, std::size_t len);
bool write_stdout(ev::Buffer& buf);

}  // namespace evtool
