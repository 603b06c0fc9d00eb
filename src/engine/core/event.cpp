// Event: assignment, add / del, pending(), manual activation. The data
// structures they touch (fd table, timer heap, active queues) belong to the
// base's detail::EventBaseImpl; see event_base_impl.cpp and loop.cpp.
#include "engine/core/event.h"

#include <cerrno>
#include <csignal>

#include "engine/core/detail/debug.h"
#include "engine/core/detail/event_base_impl.h"
#include "engine/core/log.h"

namespace ev {

using detail::EventBaseImpl;
using detail::impl;

namespace {
// A unique address that stands for "the event itself" (event_self_cbarg).
char g_self_cbarg_tag;
}  // namespace

void* Event::self_cbarg() { return &g_self_cbarg_tag; }

Event::~Event() {
  if (state_ & kStateInit) {
    del();
    if (base_) {  // null once the base is gone
      EventBaseImpl& b = impl(*base_);
      b.note_gone(this);
      b.unlink_event(this);
    }
    detail::debug_note_destroy(this);
  }
  state_ = 0;
}

void Event::check_live(const char* op) const {
  detail::debug_check_live(this, op);
  if (!(state_ & kStateInit)) fatal(EINVAL, "%s on an event that was never assigned", op);
  if (!base_) fatal(EINVAL, "%s on an event whose base was destroyed", op);
}

void Event::assign(EventBase& base, int fd, short what, EventCallback cb, void* arg) {
  bool pending = (state_ & (kStateInserted | kStateTimeout | kStateActive)) != 0;
  detail::debug_note_assign(this, pending);
  if (pending) del();
  bool linked = (state_ & kStateInit) && base_;
  if (linked && base_ != &base) impl(*base_).unlink_event(this);
  if (!linked || base_ != &base) impl(base).link_event(this);
  base_ = &base;
  fd_ = fd;
  events_ = what;
  cb_ = cb;
  arg_ = (arg == self_cbarg()) ? this : arg;
  res_ = 0;
  ncalls_ = 0;
  state_ = kStateInit;
  priority_ = impl(base).priorities() / 2;
  interval_us_ = -1;
  common_index_ = -1;
  heap_index_ = -1;
}

void Event::call_function(int fd, short what, void* arg) {
  (*static_cast<Event*>(arg)->fn_)(fd, what);
}

void Event::assign(EventBase& base, int fd, short what, std::function<void(int, short)> fn) {
  assign(base, fd, what, &Event::call_function, this);
  fn_ = std::make_unique<std::function<void(int, short)>>(std::move(fn));
}

int Event::add() {
  check_live("Event::add");
  EventBaseImpl& b = impl(*base_);
  if ((events_ & (kRead | kWrite | kClosed | kSignal)) && !(state_ & kStateInserted)) {
    std::uint16_t old = state_;
    int rc = (events_ & kSignal) ? b.insert_signal(this) : b.insert_io(this);
    if (rc != 0) return -1;
    b.recount(this, old);
  }
  return 0;
}

int Event::add(Duration timeout) {
  if (add() != 0) return -1;
  if (timeout.count() < 0) {
    log(Severity::Warn, "Event::add: negative timeout");
    return -1;
  }
  EventBaseImpl& b = impl(*base_);
  std::uint16_t old = state_;
  // A pending timeout is replaced; an activation caused only by the old
  // timeout is cancelled, as libevent does.
  if (state_ & kStateTimeout) b.remove_timeout(this);
  if ((state_ & kStateActive) && res_ == kTimeout) b.remove_active(this);
  interval_us_ = timeout.count();
  b.insert_timeout(this, EventBaseImpl::deadline_after(b.now_us(), interval_us_), -1);
  b.recount(this, old);
  return 0;
}

int Event::add(const CommonTimeout& timeout) {
  if (!base_ || !impl(*base_).owns_common_timeout(timeout)) {
    return add(timeout.duration);  // not from this base: an ordinary timeout
  }
  if (add() != 0) return -1;
  EventBaseImpl& b = impl(*base_);
  std::uint16_t old = state_;
  if (state_ & kStateTimeout) b.remove_timeout(this);
  if ((state_ & kStateActive) && res_ == kTimeout) b.remove_active(this);
  interval_us_ = timeout.duration.count();
  b.insert_timeout(this, EventBaseImpl::deadline_after(b.now_us(), interval_us_), timeout.index);
  b.recount(this, old);
  return 0;
}

int Event::del() {
  if (!(state_ & kStateInit)) {
    detail::debug_check_live(this, "Event::del");
    return 0;
  }
  detail::debug_check_live(this, "Event::del");
  if (!base_) return 0;
  EventBaseImpl& b = impl(*base_);
  std::uint16_t old = state_;
  // A signal callback being repeated ncalls times stops (as libevent's
  // event_del clears ev_pncalls).
  b.note_gone(this);
  if (state_ & kStateTimeout) b.remove_timeout(this);
  if (state_ & kStateActive) b.remove_active(this);
  if (state_ & kStateInserted) {
    if (events_ & kSignal) b.remove_signal(this);
    else b.remove_io(this);
  }
  b.recount(this, old);
  return 0;
}

int Event::remove_timer() {
  check_live("Event::remove_timer");
  EventBaseImpl& b = impl(*base_);
  std::uint16_t old = state_;
  if (state_ & kStateTimeout) b.remove_timeout(this);
  interval_us_ = -1;
  b.recount(this, old);
  return 0;
}

void Event::activate(short res, short ncalls) {
  check_live("Event::activate");
  EventBaseImpl& b = impl(*base_);
  std::uint16_t old = state_;
  b.insert_active(this, res, ncalls);
  b.recount(this, old);
}

short Event::pending(short what, TimePoint* expires) const {
  if (!(state_ & kStateInit)) return 0;
  short flags = 0;
  if (state_ & kStateInserted) flags |= events_ & (kRead | kWrite | kClosed | kSignal);
  if (state_ & kStateActive) flags |= res_;
  if (state_ & kStateTimeout) {
    flags |= kTimeout;
    if (expires && (what & kTimeout)) *expires = TimePoint(Duration(deadline_us_));
  }
  return flags & (what & (kRead | kWrite | kClosed | kSignal | kTimeout));
}

int Event::set_priority(int priority) {
  check_live("Event::set_priority");
  if (state_ & kStateActive) return -1;
  if (priority < 0 || priority >= impl(*base_).priorities()) return -1;
  priority_ = priority;
  return 0;
}

}  // namespace ev
