// Socket BufferEvent: a persistent read event fills input(), a persistent
// write event (added only while output() holds data) drains output().
#include "engine/io/socket_buffer_event.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ev {

std::unique_ptr<SocketBufferEvent> SocketBufferEvent::create(EventBase& base, int fd, int options) {
  return std::unique_ptr<SocketBufferEvent>(new SocketBufferEvent(base, fd, options));
}

SocketBufferEvent::SocketBufferEvent(EventBase& base, int fd, int options) : BufferEvent(base, options), fd_(fd) {
  read_ev_.assign(base, fd, kRead | kPersist, &SocketBufferEvent::on_readable, this);
  write_ev_.assign(base, fd, kWrite | kPersist, &SocketBufferEvent::on_writable, this);
}

SocketBufferEvent::~SocketBufferEvent() {
  limits_.reset();
  read_ev_.del();
  write_ev_.del();
  if ((options_ & kCloseOnFree) && fd_ >= 0) ::close(fd_);
}

int SocketBufferEvent::connect(const SocketAddress& addr) {
  if (fd_ < 0) {
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    fd_ = fd;
    options_ |= kCloseOnFree;  // we made it, we close it
    read_ev_.assign(base_, fd, kRead | kPersist, &SocketBufferEvent::on_readable, this);
    write_ev_.assign(base_, fd, kWrite | kPersist, &SocketBufferEvent::on_writable, this);
  }
  if (::connect(fd_, addr.sa(), addr.length) != 0 && errno != EINPROGRESS) return -1;
  // Even an immediate success is reported through the write event, so the
  // caller always hears kConnected from the loop.
  connecting_ = true;
  read_ev_.del();
  return add_with_timeout(write_ev_, write_timeout_);
}

int SocketBufferEvent::set_timeouts(std::optional<Duration> read, std::optional<Duration> write) {
  read_timeout_ = read;
  write_timeout_ = write;
  if (read_ev_.pending(kRead)) schedule_read_event();
  if (write_ev_.pending(kWrite)) schedule_write_event();
  return 0;
}

int SocketBufferEvent::flush(short iotype, Flush mode) {
  if (!(iotype & kWrite) || mode != Flush::Finished) return output_.empty() ? 0 : 1;
  shutdown_pending_ = true;
  if (output_.empty() && !connecting_) finish_shutdown();
  return output_.empty() ? 0 : 1;
}

void SocketBufferEvent::finish_shutdown() {
  shutdown_pending_ = false;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

std::optional<SocketAddress> SocketBufferEvent::peer_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

RateLimitState* SocketBufferEvent::rate_limit_state(bool create) {
  if (!limits_ && create) limits_ = std::make_unique<RateLimitState>(base_, &SocketBufferEvent::on_refilled, this);
  return limits_.get();
}

void SocketBufferEvent::on_refilled(void* self) {
  auto* s = static_cast<SocketBufferEvent*>(self);
  s->schedule_read_event();
  s->schedule_write_event();
}

// ---- scheduling -----------------------------------------------------------

// Adding a pending event without a timeout keeps its old one (libevent's
// rule), so a timeout that was cleared must be removed explicitly.
int SocketBufferEvent::add_with_timeout(Event& ev, std::optional<Duration> timeout) {
  if (timeout) return ev.add(*timeout);
  int rc = ev.add();
  if (rc == 0) ev.remove_timer();
  return rc;
}

void SocketBufferEvent::schedule_read_event() {
  if (fd_ < 0 || connecting_ || !(enabled_ & kRead) || read_paused_ || read_blocked()) {
    read_ev_.del();
    return;
  }
  add_with_timeout(read_ev_, read_timeout_);
}

void SocketBufferEvent::schedule_write_event() {
  if (fd_ < 0 || !(enabled_ & kWrite) || write_blocked() || (output_.empty() && !connecting_)) {
    if (!connecting_) write_ev_.del();
    return;
  }
  add_with_timeout(write_ev_, write_timeout_);
}

void SocketBufferEvent::output_changed() {
  if (in_read_callback_) return;  // handle_read writes (or schedules) after the callback
  if (!connecting_ && !write_blocked() && (enabled_ & kWrite) && !write_ev_.pending(kWrite)) schedule_write_event();
}

void SocketBufferEvent::input_changed() {
  if (read_paused_ && (read_high_ == 0 || input_.length() < read_high_)) {
    read_paused_ = false;
    schedule_read_event();
  }
}

// ---- I/O handlers ---------------------------------------------------------

void SocketBufferEvent::on_readable(int, short what, void* arg) {
  static_cast<SocketBufferEvent*>(arg)->handle_read(what);
}
void SocketBufferEvent::on_writable(int, short what, void* arg) {
  static_cast<SocketBufferEvent*>(arg)->handle_write(what);
}

void SocketBufferEvent::handle_read(short what) {
  if (what & kTimeout) {
    disable(kRead);
    run_eventcb(kReading | kTimedOut);
    return;
  }
  std::size_t howmuch = max_read_;
  if (limits_) {
    ssize_t allowed = limits_->max_to_read(static_cast<ssize_t>(max_read_));
    if (allowed <= 0) {
      read_ev_.del();
      limits_->exhausted(true);
      return;
    }
    howmuch = static_cast<std::size_t>(allowed);
  }
  if (read_high_) {
    if (input_.length() >= read_high_) {
      read_paused_ = true;
      read_ev_.del();
      return;
    }
    howmuch = std::min(howmuch, read_high_ - input_.length());
  }
  ssize_t n = input_.read(fd_, static_cast<ssize_t>(howmuch));
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EINTR) return;
    disable(kRead);
    errno = err;  // for the event callback, as libevent promises
    run_eventcb(kReading | kError);
    return;
  }
  if (n == 0) {
    disable(kRead);
    run_eventcb(kReading | kEof);
    return;
  }
  if (limits_) limits_->spend(true, n);
  if (read_high_ && input_.length() >= read_high_) {
    read_paused_ = true;
    read_ev_.del();
  }
  if (input_.length() < read_low_) return;
  // A reply the read callback writes goes out right away: no EPOLLOUT
  // registration and no extra loop round for the common request/response
  // case. Only what the socket does not take waits for the write event.
  Guard alive(*this);
  in_read_callback_ = true;
  run_readcb();
  if (!alive.alive()) return;
  in_read_callback_ = false;
  if (!output_.empty() && !write_ev_.pending(kWrite)) write_now();
}

void SocketBufferEvent::write_now() {
  bool direct = !connecting_ && (enabled_ & kWrite) && !(limits_ && limits_->active()) && !write_blocked() &&
                !(options_ & kDeferCallbacks);
  if (direct) {
    ssize_t n = output_.write(fd_, static_cast<ssize_t>(max_write_));
    if (n < 0 && errno != EAGAIN && errno != EINTR) return schedule_write_event();  // the handler reports it
    if (output_.empty()) {
      if (shutdown_pending_) finish_shutdown();
      if (n > 0) run_writecb();  // empty is at or below any low watermark
      return;
    }
  }
  schedule_write_event();
}

// The connect finished (or failed): tells the user. False when there is
// nothing more to do in this round.
bool SocketBufferEvent::connect_finished() {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  connecting_ = false;
  if (err) {
    write_ev_.del();
    errno = err;
    run_eventcb(kError);
    return false;
  }
  Guard alive(*this);
  run_eventcb(kConnected);
  if (!alive.alive()) return false;
  schedule_read_event();
  schedule_write_event();
  if (output_.empty() && shutdown_pending_) finish_shutdown();
  return !output_.empty() && (enabled_ & kWrite);
}

void SocketBufferEvent::handle_write(short what) {
  if (what & kTimeout) {
    connecting_ = false;
    disable(kWrite);
    run_eventcb(kWriting | kTimedOut);
    return;
  }
  if (connecting_ && !connect_finished()) return;
  ssize_t n = 0;
  if (!output_.empty()) {
    ssize_t allowed = limits_ ? limits_->max_to_write(static_cast<ssize_t>(max_write_)) : static_cast<ssize_t>(max_write_);
    if (allowed <= 0) {
      write_ev_.del();
      limits_->exhausted(false);
      return;
    }
    n = output_.write(fd_, allowed);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EINTR) return;
      disable(kWrite);
      errno = err;
      run_eventcb(kWriting | kError);
      return;
    }
    if (limits_) limits_->spend(false, n);
  }
  if (output_.empty()) {
    write_ev_.del();
    if (shutdown_pending_) finish_shutdown();
  }
  if (n > 0 && output_.length() <= write_low_) run_writecb();
}

}  // namespace ev
