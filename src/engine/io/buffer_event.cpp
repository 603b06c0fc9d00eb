// Socket BufferEvent: a persistent read event fills input(), a persistent
// write event (added only while output() holds data) drains output().
#include "engine/io/buffer_event.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine/dns/resolver.h"
#include "engine/util/socket.h"

namespace ev {

std::unique_ptr<BufferEvent> BufferEvent::socket(EventBase& base, int fd, int options) {
  return std::unique_ptr<BufferEvent>(new BufferEvent(base, fd, options));
}

BufferEvent::BufferEvent(EventBase& base, int fd, int options) : base_(base), options_(options), fd_(fd) {
  read_ev_.assign(base, fd, kRead | kPersist, &BufferEvent::on_readable, this);
  write_ev_.assign(base, fd, kWrite | kPersist, &BufferEvent::on_writable, this);
  // Most connections are idle most of the time: an emptied buffer gives its
  // memory back rather than keeping a segment per connection.
  input_.set_keep_drained_tail(false);
  output_.set_keep_drained_tail(false);
  // Plain hooks, not change callbacks: no allocation per connection.
  output_.set_owner_hook(
      [](void* self, Buffer&, const BufferChange& c) {
        if (c.n_added) static_cast<BufferEvent*>(self)->output_changed();
      },
      this);
  input_.set_owner_hook(
      [](void* self, Buffer&, const BufferChange& c) {
        if (c.n_deleted) static_cast<BufferEvent*>(self)->input_changed();
      },
      this);
}

// The events only some connections need are made on first use: an idle
// connection should cost as little memory as possible.
Event& BufferEvent::deferred_event() {
  if (!deferred_ev_) deferred_ev_ = std::make_unique<Event>(base_, -1, 0, &BufferEvent::on_deferred, this);
  return *deferred_ev_;
}

Event& BufferEvent::refill_event() {
  if (!refill_ev_) {
    refill_ev_ = std::make_unique<Event>();
    refill_ev_->assign_timer(base_, &BufferEvent::on_refill, this);
  }
  return *refill_ev_;
}

BufferEvent::~BufferEvent() {
  *alive_ = false;
  remove_from_rate_limit_group();
  read_ev_.del();
  write_ev_.del();
  deferred_ev_.reset();
  refill_ev_.reset();
  if ((options_ & kCloseOnFree) && fd_ >= 0) ::close(fd_);
}

int BufferEvent::connect(const SocketAddress& addr) {
  if (fd_ < 0) {
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    fd_ = fd;
    options_ |= kCloseOnFree;  // we made it, we close it
    read_ev_.assign(base_, fd, kRead | kPersist, &BufferEvent::on_readable, this);
    write_ev_.assign(base_, fd, kWrite | kPersist, &BufferEvent::on_writable, this);
  }
  if (::connect(fd_, addr.sa(), addr.length) != 0 && errno != EINPROGRESS) return -1;
  // Even an immediate success is reported through the write event, so the
  // caller always hears kConnected from the loop.
  connecting_ = true;
  read_ev_.del();
  return add_with_timeout(write_ev_, write_timeout_);
}

int BufferEvent::connect_hostname(dns::Resolver& resolver, int family, std::string_view host, int port) {
  auto alive = alive_;
  resolver.getaddrinfo(host, port, family, [this, alive](int err, const std::vector<SocketAddress>& addrs) {
    if (!*alive) return;
    hostname_ = std::make_unique<HostnameConnect>(HostnameConnect{addrs, 0, err});
    if (!try_next_address()) {
      errno = EHOSTUNREACH;
      run_eventcb(kError);
    }
  });
  return 0;
}

// Starts connecting to the next resolved address; false when none is left.
bool BufferEvent::try_next_address() {
  while (hostname_ && hostname_->next < hostname_->addrs.size()) {
    const SocketAddress addr = hostname_->addrs[hostname_->next++];
    if ((options_ & kCloseOnFree) && fd_ >= 0) {
      read_ev_.del();
      write_ev_.del();
      ::close(fd_);
      fd_ = -1;
    }
    if (connect(addr) == 0) return true;
  }
  return false;
}

void BufferEvent::setcb(DataCallback readcb, DataCallback writecb, EventCallback eventcb) {
  cbs_ = std::make_shared<const Callbacks>(Callbacks{std::move(readcb), std::move(writecb), std::move(eventcb)});
}

int BufferEvent::enable(short what) {
  enabled_ |= what & (kRead | kWrite);
  if (what & kRead) schedule_read_event();
  if (what & kWrite) schedule_write_event();
  return 0;
}

int BufferEvent::disable(short what) {
  enabled_ &= static_cast<short>(~(what & (kRead | kWrite)));
  if (what & kRead) schedule_read_event();
  if (what & kWrite) schedule_write_event();
  return 0;
}

std::size_t BufferEvent::read(void* data, std::size_t len) {
  ssize_t n = input_.remove(data, len);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

void BufferEvent::setwatermark(short events, std::size_t low, std::size_t high) {
  if (events & kWrite) write_low_ = low;
  if (events & kRead) {
    read_low_ = low;
    read_high_ = high;
    if (read_paused_ && (high == 0 || input_.length() < high)) {
      read_paused_ = false;
      schedule_read_event();
    }
  }
}

void BufferEvent::set_timeouts(std::optional<Duration> read, std::optional<Duration> write) {
  // A layer without a socket of its own (TLS) times the one beneath it.
  if (fd_ < 0 && underlying()) return underlying()->set_timeouts(read, write);
  read_timeout_ = read;
  write_timeout_ = write;
  if (read_ev_.pending(kRead)) schedule_read_event();
  if (write_ev_.pending(kWrite)) schedule_write_event();
}

int BufferEvent::flush(short iotype, Flush mode) {
  if (!(iotype & kWrite) || mode != Flush::Finished) return output_.empty() ? 0 : 1;
  shutdown_pending_ = true;
  if (output_.empty() && !connecting_) finish_shutdown();
  return output_.empty() ? 0 : 1;
}

void BufferEvent::finish_shutdown() {
  shutdown_pending_ = false;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

std::optional<SocketAddress> BufferEvent::peer_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd_ < 0 && const_cast<BufferEvent*>(this)->underlying())
    return const_cast<BufferEvent*>(this)->underlying()->peer_address();
  if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

// ---- scheduling -----------------------------------------------------------

// Adding a pending event without a timeout keeps its old one (libevent's
// rule), so a timeout that was cleared must be removed explicitly.
int BufferEvent::add_with_timeout(Event& ev, std::optional<Duration> timeout) {
  if (timeout) return ev.add(*timeout);
  int rc = ev.add();
  if (rc == 0) ev.remove_timer();
  return rc;
}

void BufferEvent::schedule_read_event() {
  if (fd_ < 0 || connecting_ || !(enabled_ & kRead) || read_paused_ || read_limited_) {
    read_ev_.del();
    return;
  }
  add_with_timeout(read_ev_, read_timeout_);
}

void BufferEvent::schedule_write_event() {
  if (fd_ < 0 || !(enabled_ & kWrite) || write_limited_ || (output_.empty() && !connecting_)) {
    if (!connecting_) write_ev_.del();
    return;
  }
  add_with_timeout(write_ev_, write_timeout_);
}

void BufferEvent::output_changed() {
  if (in_read_callback_) return;  // handle_read writes (or schedules) after the callback
  if (!connecting_ && !write_limited_ && (enabled_ & kWrite) && !write_ev_.pending(kWrite)) schedule_write_event();
}

void BufferEvent::input_changed() {
  if (read_paused_ && input_.length() < read_high_) {
    read_paused_ = false;
    schedule_read_event();
  }
}

// ---- I/O handlers ---------------------------------------------------------

void BufferEvent::on_readable(int, short what, void* arg) { static_cast<BufferEvent*>(arg)->handle_read(what); }
void BufferEvent::on_writable(int, short what, void* arg) { static_cast<BufferEvent*>(arg)->handle_write(what); }

void BufferEvent::handle_read(short what) {
  if (what & kTimeout) {
    disable(kRead);
    run_eventcb(kReading | kTimedOut);
    return;
  }
  ssize_t allowed = get_max_to_read();
  if (allowed <= 0) {
    read_limited_ = true;
    read_ev_.del();
    wait_for_tokens();
    return;
  }
  std::size_t howmuch = static_cast<std::size_t>(allowed);
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
    errno = err;  // for the event callback, as the guide promises
    run_eventcb(kReading | kError);
    return;
  }
  if (n == 0) {
    disable(kRead);
    run_eventcb(kReading | kEof);
    return;
  }
  spend(true, n);
  if (read_high_ && input_.length() >= read_high_) {
    read_paused_ = true;
    read_ev_.del();
  }
  if (input_.length() < read_low_) return;
  // A reply the read callback writes goes out right away: no EPOLLOUT
  // registration and no extra loop round for the common request/response
  // case. Only what the socket does not take waits for the write event.
  auto alive = alive_;
  in_read_callback_ = true;
  run_readcb();
  if (!*alive) return;
  in_read_callback_ = false;
  if (!output_.empty() && !write_ev_.pending(kWrite)) write_now();
}

void BufferEvent::write_now() {
  bool direct = !connecting_ && !write_limited_ && (enabled_ & kWrite) && !bucket_ && !group_ &&
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

void BufferEvent::handle_write(short what) {
  if (what & kTimeout) {
    connecting_ = false;
    disable(kWrite);
    run_eventcb(kWriting | kTimedOut);
    return;
  }
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    connecting_ = false;
    if (err) {
      write_ev_.del();
      if (try_next_address()) return;
      errno = err;
      run_eventcb(kError);
      return;
    }
    auto alive = alive_;
    run_eventcb(kConnected);
    if (!*alive) return;
    schedule_read_event();
    schedule_write_event();
    if (output_.empty() && shutdown_pending_) finish_shutdown();
    if (output_.empty() || !(enabled_ & kWrite)) return;
  }
  ssize_t n = 0;
  if (!output_.empty()) {
    ssize_t allowed = get_max_to_write();
    if (allowed <= 0) {
      write_limited_ = true;
      write_ev_.del();
      wait_for_tokens();
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
    spend(false, n);
  }
  if (output_.empty()) {
    write_ev_.del();
    if (shutdown_pending_) finish_shutdown();
  }
  if (n > 0 && output_.length() <= write_low_) run_writecb();
}

// ---- rate limits ----------------------------------------------------------

int BufferEvent::set_rate_limit(const TokenBucketConfig* cfg) {
  if (fd_ < 0 && underlying()) return underlying()->set_rate_limit(cfg);  // bytes on the wire
  if (!cfg) {
    bucket_.reset();
    if (refill_ev_) refill_ev_->del();
    rate_limit_refilled();
    return 0;
  }
  bucket_ = std::make_unique<TokenBucket>(*cfg, 0);
  *bucket_ = TokenBucket(*cfg, bucket_->tick_of(base_.now_us()));
  // A direction waiting for the old bucket's next tick tries the new one.
  if (refill_ev_) refill_ev_->del();
  rate_limit_refilled();
  return 0;
}

int BufferEvent::add_to_rate_limit_group(RateLimitGroup& group) {
  if (fd_ < 0 && underlying()) return underlying()->add_to_rate_limit_group(group);
  if (group_ == &group) return 0;
  remove_from_rate_limit_group();
  group_ = &group;
  group.add_member(this);
  return 0;
}

int BufferEvent::remove_from_rate_limit_group() {
  if (!group_) return 0;
  group_->remove_member(this);
  group_ = nullptr;
  rate_limit_refilled();
  return 0;
}

ssize_t BufferEvent::get_read_limit() {
  if (!bucket_) return static_cast<ssize_t>(max_read_);
  bucket_->update(bucket_->tick_of(base_.now_us()));
  return bucket_->read_limit();
}

ssize_t BufferEvent::get_write_limit() {
  if (!bucket_) return static_cast<ssize_t>(max_write_);
  bucket_->update(bucket_->tick_of(base_.now_us()));
  return bucket_->write_limit();
}

ssize_t BufferEvent::get_max_to_read() {
  ssize_t n = std::min(static_cast<ssize_t>(max_read_), get_read_limit());
  if (group_) n = std::min(n, group_->read_share());
  return n;
}

ssize_t BufferEvent::get_max_to_write() {
  ssize_t n = std::min(static_cast<ssize_t>(max_write_), get_write_limit());
  if (group_) n = std::min(n, group_->write_share());
  return n;
}

int BufferEvent::decrement_read_limit(ssize_t n) {
  if (bucket_) bucket_->decrement_read(n);
  return 0;
}

int BufferEvent::decrement_write_limit(ssize_t n) {
  if (bucket_) bucket_->decrement_write(n);
  return 0;
}

void BufferEvent::spend(bool reading, ssize_t n) {
  if (reading) {
    decrement_read_limit(n);
    if (group_) group_->spend_read(n);
  } else {
    decrement_write_limit(n);
    if (group_) group_->spend_write(n);
  }
}

// Out of tokens: sleep until the next tick of our own bucket (a group
// wakes its members itself).
void BufferEvent::wait_for_tokens() {
  if (group_) {
    if (group_->read_limit() <= 0) group_->decrement_read(0);
    if (group_->write_limit() <= 0) group_->decrement_write(0);
  }
  if (!bucket_ || (refill_ev_ && refill_ev_->pending(kTimeout))) return;
  std::int64_t tick_us = bucket_->config().tick.count();
  std::int64_t now = base_.now_us();
  refill_event().add(Duration(tick_us - now % tick_us));
}

void BufferEvent::on_refill(int, short, void* arg) { static_cast<BufferEvent*>(arg)->rate_limit_refilled(); }

void BufferEvent::rate_limit_refilled() {
  if (!read_limited_ && !write_limited_) return;
  read_limited_ = write_limited_ = false;
  schedule_read_event();
  schedule_write_event();
}

// ---- callbacks ------------------------------------------------------------

// Each call holds its own reference to the callbacks (see cbs_).
void BufferEvent::run_readcb() {
  if (!cbs_->read) return;
  if (options_ & kDeferCallbacks) {
    deferred_read_ = true;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->read(*this);
}

void BufferEvent::run_writecb() {
  if (!cbs_->write) return;
  if (options_ & kDeferCallbacks) {
    deferred_write_ = true;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->write(*this);
}

void BufferEvent::run_eventcb(short what) {
  if (!cbs_->event) return;
  if (options_ & kDeferCallbacks) {
    deferred_what_ |= what;
    deferred_errno_ = errno;
    deferred_event().activate(kTimeout);
    return;
  }
  auto cbs = cbs_;
  cbs->event(*this, what);
}

void BufferEvent::on_deferred(int, short, void* arg) {
  auto* bev = static_cast<BufferEvent*>(arg);
  auto alive = bev->alive_;
  if (bev->deferred_read_) {
    bev->deferred_read_ = false;
    if (auto cbs = bev->cbs_; cbs->read) cbs->read(*bev);
    if (!*alive) return;
  }
  if (bev->deferred_write_) {
    bev->deferred_write_ = false;
    if (auto cbs = bev->cbs_; cbs->write) cbs->write(*bev);
    if (!*alive) return;
  }
  if (short what = bev->deferred_what_) {
    bev->deferred_what_ = 0;
    errno = bev->deferred_errno_;
    if (auto cbs = bev->cbs_; cbs->event) cbs->event(*bev, what);
  }
}

}  // namespace ev
