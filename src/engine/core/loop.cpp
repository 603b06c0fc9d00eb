// EventBaseImpl's loop: waiting on the backend, expiring timers (a binary
// heap plus FIFO queues for common timeouts), and running active callbacks
// in priority order, in the order libevent's event_base_loop() does.
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <chrono>

#include "engine/core/detail/event_base_impl.h"
#include "engine/core/log.h"

namespace ev::detail {

namespace {
constexpr std::uint16_t kCounted = 0x02 | 0x04 | 0x08;  // inserted, timeout, active
}

std::int64_t EventBaseImpl::clock_us() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::int64_t EventBaseImpl::now_us() {
  if (cached_us_ && !(config_.flags() & Config::kNoCacheTime)) return cached_us_;
  return clock_us();
}

TimePoint EventBaseImpl::now() { return TimePoint(Duration(now_us())); }

int EventBaseImpl::update_cache_time() {
  if (running_) cached_us_ = clock_us();
  return 0;
}

int EventBaseImpl::gettimeofday_cached(timeval* tv) {
  if (!cached_us_ || (config_.flags() & Config::kNoCacheTime)) return gettimeofday(tv, nullptr);
  // Wall time of the cached monotonic instant, through the offset between
  // the two clocks, measured on the first call for this cached time.
  if (offset_for_us_ != cached_us_) {
    timeval real;
    gettimeofday(&real, nullptr);
    wall_offset_us_ = static_cast<std::int64_t>(real.tv_sec) * 1000000 + real.tv_usec - clock_us();
    offset_for_us_ = cached_us_;
  }
  std::int64_t wall = cached_us_ + wall_offset_us_;
  tv->tv_sec = static_cast<time_t>(wall / 1000000);
  tv->tv_usec = static_cast<suseconds_t>(wall % 1000000);
  return 0;
}

void EventBaseImpl::recount(Event* ev, std::uint16_t old_state) {
  if (ev->state_ & Event::kStateInternal) return;
  bool was = (old_state & kCounted) != 0;
  bool is = (ev->state_ & kCounted) != 0;
  if (was != is) event_count_ += is ? 1 : -1;
}

// ---- timer heap -----------------------------------------------------------

void EventBaseImpl::heap_sift_up(int i) {
  Event* ev = heap_[static_cast<std::size_t>(i)];
  while (i > 0) {
    int parent = (i - 1) / 2;
    Event* p = heap_[static_cast<std::size_t>(parent)];
    if (p->deadline_us_ <= ev->deadline_us_) break;
    heap_[static_cast<std::size_t>(i)] = p;
    p->heap_index_ = i;
    i = parent;
  }
  heap_[static_cast<std::size_t>(i)] = ev;
  ev->heap_index_ = i;
}

void EventBaseImpl::heap_sift_down(int i) {
  int n = static_cast<int>(heap_.size());
  Event* ev = heap_[static_cast<std::size_t>(i)];
  for (;;) {
    int child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[static_cast<std::size_t>(child + 1)]->deadline_us_ < heap_[static_cast<std::size_t>(child)]->deadline_us_)
      ++child;
    Event* c = heap_[static_cast<std::size_t>(child)];
    if (ev->deadline_us_ <= c->deadline_us_) break;
    heap_[static_cast<std::size_t>(i)] = c;
    c->heap_index_ = i;
    i = child;
  }
  heap_[static_cast<std::size_t>(i)] = ev;
  ev->heap_index_ = i;
}

void EventBaseImpl::heap_push(Event* ev) {
  heap_.push_back(ev);
  heap_sift_up(static_cast<int>(heap_.size()) - 1);
}

void EventBaseImpl::heap_erase(Event* ev) {
  int i = ev->heap_index_;
  ev->heap_index_ = -1;
  Event* last = heap_.back();
  heap_.pop_back();
  if (last == ev) return;
  heap_[static_cast<std::size_t>(i)] = last;
  last->heap_index_ = i;
  heap_sift_up(i);
  heap_sift_down(last->heap_index_);
}

// ---- common timeouts ------------------------------------------------------

CommonTimeout EventBaseImpl::init_common_timeout(Duration d) {
  for (std::size_t i = 0; i < common_.size(); ++i)
    if (common_[i]->duration_us == d.count()) return {d, static_cast<int>(i)};
  if (common_.size() >= 256) return {d, -1};  // falls back to the heap
  auto q = std::make_unique<CommonQueue>();
  q->duration_us = d.count();
  q->timer.assign(*this, -1, 0, &EventBaseImpl::common_timeout_cb, q.get());
  q->timer.state_ |= Event::kStateInternal;
  q->timer.priority_ = 0;
  common_.push_back(std::move(q));
  return {d, static_cast<int>(common_.size()) - 1};
}

void EventBaseImpl::schedule_common(CommonQueue& q) {
  if (q.timer.state_ & Event::kStateTimeout) heap_erase(&q.timer);
  q.timer.state_ &= static_cast<std::uint16_t>(~Event::kStateTimeout);
  if (!q.head) return;
  q.timer.deadline_us_ = q.head->deadline_us_;
  q.timer.state_ |= Event::kStateTimeout;
  heap_push(&q.timer);
}

void EventBaseImpl::common_timeout_cb(int, short, void* arg) {
  auto* q = static_cast<CommonQueue*>(arg);
  EventBaseImpl& base = impl(*q->timer.base_);
  std::int64_t now = base.now_us();
  while (q->head && q->head->deadline_us_ <= now) {
    Event* ev = q->head;
    std::uint16_t old = ev->state_;
    base.remove_timeout(ev);
    base.insert_active(ev, kTimeout, 1);
    base.recount(ev, old);
  }
  base.schedule_common(*q);
}

std::int64_t EventBaseImpl::deadline_after(std::int64_t from, std::int64_t interval) {
  // The latest deadline pending() can still express as a TimePoint.
  constexpr std::int64_t kNever = std::chrono::duration_cast<Duration>(TimePoint::max().time_since_epoch()).count();
  return interval > kNever - from ? kNever : from + interval;
}

void EventBaseImpl::insert_timeout(Event* ev, std::int64_t deadline_us, int common) {
  ev->deadline_us_ = deadline_us;
  ev->state_ |= Event::kStateTimeout;
  ev->common_index_ = common;
  if (common < 0) {
    heap_push(ev);
    return;
  }
  // Equal durations arrive in deadline order, so this is a tail append;
  // a persistent timer rescheduled from its nominal time may step back.
  CommonQueue& q = *common_[static_cast<std::size_t>(common)];
  Event* after = q.tail;
  while (after && after->deadline_us_ > deadline_us) after = after->queue_prev_;
  ev->queue_prev_ = after;
  ev->queue_next_ = after ? after->queue_next_ : q.head;
  if (ev->queue_next_) ev->queue_next_->queue_prev_ = ev;
  else q.tail = ev;
  if (after) after->queue_next_ = ev;
  else q.head = ev;
  if (q.head == ev) schedule_common(q);
}

void EventBaseImpl::remove_timeout(Event* ev) {
  ev->state_ &= static_cast<std::uint16_t>(~Event::kStateTimeout);
  if (ev->common_index_ < 0) {
    heap_erase(ev);
    return;
  }
  CommonQueue& q = *common_[static_cast<std::size_t>(ev->common_index_)];
  bool was_head = q.head == ev;
  if (ev->queue_prev_) ev->queue_prev_->queue_next_ = ev->queue_next_;
  else q.head = ev->queue_next_;
  if (ev->queue_next_) ev->queue_next_->queue_prev_ = ev->queue_prev_;
  else q.tail = ev->queue_prev_;
  ev->queue_next_ = ev->queue_prev_ = nullptr;
  if (was_head) schedule_common(q);
}

std::int64_t EventBaseImpl::next_timeout_us() {
  if (heap_.empty()) return -1;
  std::int64_t wait = heap_.front()->deadline_us_ - clock_us();
  return wait < 0 ? 0 : wait;
}

void EventBaseImpl::expire_timeouts() {
  std::int64_t now = cached_us_ ? cached_us_ : clock_us();
  while (!heap_.empty() && heap_.front()->deadline_us_ <= now) {
    Event* ev = heap_.front();
    std::uint16_t old = ev->state_;
    heap_erase(ev);
    ev->state_ &= static_cast<std::uint16_t>(~Event::kStateTimeout);
    insert_active(ev, kTimeout, 1);
    recount(ev, old);
  }
}

// ---- active queues --------------------------------------------------------

void EventBaseImpl::insert_active(Event* ev, short res, short ncalls) {
  if (ev->state_ & Event::kStateActive) {
    ev->res_ |= res;
    if (res & kSignal) ev->ncalls_ = static_cast<short>(std::min(0x7fff, ev->ncalls_ + ncalls));
    return;
  }
  ev->state_ |= Event::kStateActive;
  ev->res_ = res;
  ev->ncalls_ = (res & kSignal) ? ncalls : 1;
  int prio = std::clamp(ev->priority_, 0, priorities() - 1);
  ActiveQueue& q = active_[static_cast<std::size_t>(prio)];
  ev->active_next_ = nullptr;
  ev->active_prev_ = q.tail;
  if (q.tail) q.tail->active_next_ = ev;
  else q.head = ev;
  q.tail = ev;
  ++active_count_;
}

void EventBaseImpl::remove_active(Event* ev) {
  int prio = std::clamp(ev->priority_, 0, priorities() - 1);
  ActiveQueue& q = active_[static_cast<std::size_t>(prio)];
  if (ev->active_prev_) ev->active_prev_->active_next_ = ev->active_next_;
  else q.head = ev->active_next_;
  if (ev->active_next_) ev->active_next_->active_prev_ = ev->active_prev_;
  else q.tail = ev->active_prev_;
  ev->active_next_ = ev->active_prev_ = nullptr;
  ev->state_ &= static_cast<std::uint16_t>(~Event::kStateActive);
  --active_count_;
}

// Runs one event's callback. A persistent event stays added (its timeout is
// rescheduled from the nominal deadline, so periodic timers do not drift);
// any other event is deleted first, so the callback may add it again.
void EventBaseImpl::run_callback(Event* ev) {
  std::uint16_t old = ev->state_;
  remove_active(ev);
  short res = ev->res_;
  short ncalls = ev->ncalls_;
  if (ev->events_ & kPersist) {
    // Every run restarts the timeout, as libevent's event_persist_closure
    // does: from the nominal deadline after a timeout, from now after I/O
    // or a manual activation.
    if (ev->interval_us_ >= 0) {
      if (ev->state_ & Event::kStateTimeout) remove_timeout(ev);
      std::int64_t now = now_us();
      std::int64_t run_at = deadline_after((res & kTimeout) ? ev->deadline_us_ : now, ev->interval_us_);
      if (run_at <= now && ev->interval_us_ > 0)  // fell behind: skip missed periods, keep the phase
        run_at += ((now - run_at) / ev->interval_us_ + 1) * ev->interval_us_;
      insert_timeout(ev, run_at, ev->common_index_);
    }
  } else {
    if (ev->state_ & Event::kStateTimeout) remove_timeout(ev);
    if (ev->state_ & Event::kStateInserted) {
      if (ev->events_ & kSignal) remove_signal(ev);
      else remove_io(ev);
    }
  }
  recount(ev, old);

  running_event_ = ev;
  running_gone_ = false;
  EventCallback cb = ev->cb_;
  void* arg = ev->arg_;
  int fd = ev->fd_;
  bool once = (ev->state_ & Event::kStateOnce) != 0;
  if (res & kSignal) {
    while (ncalls-- > 0 && !running_gone_ && !got_break_) cb(fd, res, arg);
  } else {
    cb(fd, res, arg);
  }
  running_event_ = nullptr;
  if (once) {
    auto it = std::find(once_events_.begin(), once_events_.end(), ev);
    if (it != once_events_.end()) {
      *it = once_events_.back();
      once_events_.pop_back();
    }
    delete ev;
  }
}

int EventBaseImpl::process_active() {
  int total = 0;
  for (std::size_t p = 0; p < active_.size(); ++p) {
    if (!active_[p].head) continue;
    bool limited = static_cast<int>(p) >= config_.limit_callbacks_after_priority() &&
                   (config_.max_dispatch_callbacks() >= 0 || config_.max_dispatch_interval().count() >= 0);
    std::int64_t start = limited ? clock_us() : 0;
    int count = 0, user = 0;
    while (Event* ev = active_[p].head) {
      if (!(ev->state_ & Event::kStateInternal)) ++user;
      run_callback(ev);
      ++count;
      if (got_break_ || continue_) break;
      if (limited) {
        if (config_.max_dispatch_callbacks() >= 0 && count >= config_.max_dispatch_callbacks()) break;
        if (config_.max_dispatch_interval().count() >= 0 &&
            clock_us() - start >= config_.max_dispatch_interval().count())
          break;
      }
      if (config_.flags() & Config::kNoCacheTime) cached_us_ = 0;
    }
    total += count;
    // Only engine plumbing ran (signal pipe, wake-up, common-timeout
    // queues): like libevent, let the next priority run in this pass, so
    // that e.g. a delivered signal's callback runs in the same iteration.
    if (user || got_break_ || continue_) break;
  }
  return total;
}

// ---- the loop -------------------------------------------------------------

int EventBaseImpl::loopexit(std::optional<Duration> delay) {
  return once(-1, 0, [this](int, short) { got_exit_ = true; }, delay.value_or(Duration(0)));
}

int EventBaseImpl::loopbreak() {
  if (running_) got_break_ = true;
  return 0;
}

int EventBaseImpl::loopcontinue() {
  if (running_) continue_ = true;
  return 0;
}

int EventBaseImpl::once(int fd, short what, std::function<void(int, short)> cb, std::optional<Duration> timeout) {
  if (what & (kSignal | kPersist)) {
    log(Severity::Warn, "EventBase::once: signal and persistent events are not supported");
    return -1;
  }
  what &= (kRead | kWrite | kClosed);
  auto* ev = new Event();
  ev->assign(*this, what ? fd : -1, what, std::move(cb));
  ev->state_ |= Event::kStateOnce;
  once_events_.push_back(ev);
  int rc = 0;
  // A pure timer that is already due goes straight to the active queue (as
  // libevent's event_base_once does): it runs in this round, after the
  // callbacks already queued, which is what loopexit() relies on.
  if (!what && timeout.value_or(Duration(0)).count() == 0) ev->activate(kTimeout);
  else rc = timeout ? ev->add(*timeout) : ev->add();
  if (rc != 0) {
    once_events_.pop_back();
    delete ev;
  }
  return rc;
}

int EventBaseImpl::loop(int flags) {
  if (running_) {
    log(Severity::Warn, "EventBase::loop: already running (no re-entry)");
    return -1;
  }
  running_ = true;
  got_exit_ = got_break_ = false;
  cached_us_ = 0;
  int ret = 0;
  bool done = false;
  while (!done) {
    continue_ = false;
    if (got_exit_ || got_break_) break;
    if (!(flags & kLoopNoExitOnEmpty) && event_count_ == 0 && active_count_ == 0) {
      ret = 1;
      break;
    }
    std::int64_t timeout = (active_count_ || (flags & kLoopNonblock)) ? 0 : next_timeout_us();
    if (!changelist_.empty()) flush_changelist();
    if (!watchers_.empty()) run_watchers(true, Duration(timeout));
    cached_us_ = 0;
    if (backend_->dispatch(timeout) != 0) {
      ret = -1;
      break;
    }
    cached_us_ = clock_us();
    if (!watchers_.empty()) run_watchers(false, Duration(0));
    if (!heap_.empty()) expire_timeouts();
    if (active_count_) {
      int n = process_active();
      if ((flags & kLoopOnce) && active_count_ == 0 && n != 0) done = true;
    }
    // With kLoopNonblock (EVLOOP_NONBLOCK) the loop checks once, runs what
    // is ready and returns (libevent itself keeps looping while events stay
    // active).
    if (flags & kLoopNonblock) done = true;
  }
  cached_us_ = 0;
  running_ = false;
  return ret;
}

}  // namespace ev::detail
