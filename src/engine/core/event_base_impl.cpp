// EventBaseImpl: creation, the fd and signal tables and what backends
// report into them, watchers, cross-thread work, dump / iteration and
// reinit after fork. The loop itself, timers and the active queues are in
// loop.cpp.
#include "engine/core/detail/event_base_impl.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "engine/core/log.h"

namespace ev::detail {

int EventBaseImpl::init(const Config& cfg, const std::string& method, std::string* why) {
  config_ = cfg;
  method_ = method;
  active_.resize(1);
  backend_ = make_backend(why);
  if (!backend_) return -1;
  if (setup_internal_events() != 0) {
    if (why) *why = std::string("cannot create the wake-up eventfd: ") + std::strerror(errno);
    return -1;
  }
  if (!(cfg.flags() & Config::kIgnoreEnv) && std::getenv("EVENT_SHOW_METHOD"))
    log(Severity::Msg, "using backend %s", method_.c_str());
  return 0;
}

// A fresh backend for method_, reporting into this base.
std::unique_ptr<Backend> EventBaseImpl::make_backend(std::string* why) {
  BackendOptions opts;
  opts.precise_timer = (config_.flags() & Config::kPreciseTimer) != 0;
  std::size_t n = 0;
  const BackendEntry* entries = backend_entries(&n);
  for (std::size_t i = 0; i < n; ++i)
    if (method_ == entries[i].name) return entries[i].create(*this, opts, why);
  if (why) *why = "backend " + method_ + " is not compiled in";
  return nullptr;
}

int EventBaseImpl::setup_internal_events() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return -1;
  wake_event_.assign(*this, wake_fd_, kRead | kPersist, &EventBaseImpl::wakeup_cb, this);
  wake_event_.state_ |= Event::kStateInternal;
  wake_event_.priority_ = 0;
  return wake_event_.add();
}

EventBaseImpl::~EventBaseImpl() {
  for (Event* ev : once_events_) delete ev;
  once_events_.clear();
  if (signals_)
    for (std::size_t sig = 0; sig < sig_heads_.size(); ++sig)
      if (sig_heads_[sig]) signals_->unwatch(static_cast<int>(sig));
  // Detach every event still assigned here, pending or not, so that its
  // destructor (or a later del()) does not reach back into a dead base.
  for (Event* ev = assigned_; ev;) {
    Event* next = ev->base_next_;
    ev->state_ &= static_cast<std::uint16_t>(~(Event::kStateInserted | Event::kStateTimeout | Event::kStateActive));
    ev->base_ = nullptr;
    ev->base_next_ = ev->base_prev_ = nullptr;
    ev = next;
  }
  assigned_ = nullptr;
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void EventBaseImpl::link_event(Event* ev) {
  ev->base_prev_ = nullptr;
  ev->base_next_ = assigned_;
  if (assigned_) assigned_->base_prev_ = ev;
  assigned_ = ev;
}

void EventBaseImpl::unlink_event(Event* ev) {
  if (ev->base_prev_) ev->base_prev_->base_next_ = ev->base_next_;
  else assigned_ = ev->base_next_;
  if (ev->base_next_) ev->base_next_->base_prev_ = ev->base_prev_;
  ev->base_next_ = ev->base_prev_ = nullptr;
}

int EventBaseImpl::features() const {
  for (const MethodInfo& m : compiled_methods())
    if (method_ == m.name) return m.features;
  return 0;
}

int EventBaseImpl::priority_init(int n) {
  if (n < 1 || n > 256 || active_count_ > 0) return -1;
  active_.assign(static_cast<std::size_t>(n), ActiveQueue{});
  return 0;
}

// ---- fd table -------------------------------------------------------------

short EventBaseImpl::fd_mask(const FdSlot& s) const {
  short mask = 0;
  if (s.nread) mask |= kRead;
  if (s.nwrite) mask |= kWrite;
  if (s.nclose) mask |= kClosed;
  if (mask && s.net) mask |= kET;
  return mask;
}

int EventBaseImpl::apply_fd(int fd) {
  FdSlot& s = fds_[static_cast<std::size_t>(fd)];
  s.dirty = false;
  bool emptied = std::exchange(s.emptied, false);
  short want = fd_mask(s);
  // After an emptied batch, register again even with the same mask: the
  // backend turns a MOD of an fd it no longer knows into an ADD.
  if (want == s.applied && !(emptied && want)) return 0;
  if (backend_->change(fd, s.applied, want) != 0) return -1;
  s.applied = want;
  return 0;
}

void EventBaseImpl::flush_changelist() {
  for (int fd : changelist_) {
    if (!fds_[static_cast<std::size_t>(fd)].dirty) continue;
    if (apply_fd(fd) != 0) log(Severity::Warn, "backend %s: cannot watch fd %d: %s", method_.c_str(), fd, std::strerror(errno));
  }
  changelist_.clear();
}

void EventBaseImpl::mark_fd(int fd) {
  FdSlot& s = fds_[static_cast<std::size_t>(fd)];
  if (!s.dirty) {
    s.dirty = true;
    changelist_.push_back(fd);
  }
}

// With kEpollUseChangelist, epoll_ctl(2) calls wait for the next dispatch
// (libevent's EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST); other backends apply
// each change at once.
bool EventBaseImpl::defers_changes() const {
  return (config_.flags() & Config::kEpollUseChangelist) && method_ == "epoll";
}

int EventBaseImpl::insert_io(Event* ev) {
  int fd = ev->fd_;
  if (fd < 0) {
    log(Severity::Warn, "Event::add: I/O event with a negative fd");
    return -1;
  }
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(std::max<std::size_t>(fd + 1, fds_.size() * 2));
  FdSlot& s = fds_[static_cast<std::size_t>(fd)];
  short e = ev->events_;
  // One fd is either edge- or level-triggered (the backend watches the fd,
  // not the event): a mix would silently make the level-triggered ones ET.
  if (s.head && (s.net != 0) != ((e & kET) != 0)) {
    log(Severity::Warn, "Event::add: cannot mix edge-triggered and level-triggered events on fd %d", fd);
    return -1;
  }
  if (e & kRead) ++s.nread;
  if (e & kWrite) ++s.nwrite;
  if (e & kClosed) ++s.nclose;
  if (e & kET) ++s.net;
  if (defers_changes()) {
    mark_fd(fd);
  } else if (apply_fd(fd) != 0) {
    int saved = errno;
    if (e & kRead) --s.nread;
    if (e & kWrite) --s.nwrite;
    if (e & kClosed) --s.nclose;
    if (e & kET) --s.net;
    log(Severity::Debug, "backend %s: cannot watch fd %d: %s", method_.c_str(), fd, std::strerror(saved));
    errno = saved;
    return -1;
  }
  ev->fd_prev_ = nullptr;
  ev->fd_next_ = s.head;
  if (s.head) s.head->fd_prev_ = ev;
  s.head = ev;
  ev->state_ |= Event::kStateInserted;
  return 0;
}

void EventBaseImpl::remove_io(Event* ev) {
  FdSlot& s = fds_[static_cast<std::size_t>(ev->fd_)];
  if (ev->fd_prev_) ev->fd_prev_->fd_next_ = ev->fd_next_;
  else s.head = ev->fd_next_;
  if (ev->fd_next_) ev->fd_next_->fd_prev_ = ev->fd_prev_;
  ev->fd_next_ = ev->fd_prev_ = nullptr;
  short e = ev->events_;
  if (e & kRead) --s.nread;
  if (e & kWrite) --s.nwrite;
  if (e & kClosed) --s.nclose;
  if (e & kET) --s.net;
  ev->state_ &= static_cast<std::uint16_t>(~Event::kStateInserted);
  // An fd left with no events leaves the backend at the next dispatch, not
  // now: the usual del() followed by add() of the same fd (a callback
  // re-arming, bench.c's rounds) then costs one in-place change instead of
  // a removal and a fresh registration, and a del() whose fd is never added
  // again costs the same one call as before. The fd may be closed and its
  // number reused meanwhile: `emptied` makes the next registration reach
  // the backend even with the same mask, and epoll drops ghosts of a file
  // kept open elsewhere (epoll_backend.cpp).
  if (defers_changes() || !fd_mask(s)) {
    if (!fd_mask(s)) s.emptied = true;
    mark_fd(ev->fd_);
  } else {
    apply_fd(ev->fd_);
  }
}

// ---- what backends report (ActivationSink) --------------------------------

void ActivationSink::activate_io(int fd, short what) { static_cast<EventBaseImpl*>(this)->activate_fd(fd, what); }

void ActivationSink::activate_signal(int signum, int ncalls) {
  static_cast<EventBaseImpl*>(this)->activate_signum(signum, ncalls);
}

void EventBaseImpl::activate_fd(int fd, short what) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  for (Event* ev = fds_[static_cast<std::size_t>(fd)].head; ev; ev = ev->fd_next_) {
    short res = ev->events_ & what & (kRead | kWrite | kClosed);
    if (res) insert_active(ev, res, 1);
  }
}

// ---- signals --------------------------------------------------------------

int EventBaseImpl::insert_signal(Event* ev) {
  int sig = ev->fd_;
  if (sig <= 0 || sig >= NSIG) {
    log(Severity::Warn, "Event::add: bad signal number %d", sig);
    return -1;
  }
  if (!signals_) {
    std::string why;
    signals_ = SignalPipe::create(*this, &why);
    if (!signals_) {
      log(Severity::Warn, "signals: %s", why.c_str());
      return -1;
    }
    if (setup_signal_event() != 0) return -1;
  }
  if (sig_heads_.size() <= static_cast<std::size_t>(sig)) sig_heads_.resize(NSIG, nullptr);
  Event*& head = sig_heads_[static_cast<std::size_t>(sig)];
  if (!head && signals_->watch(sig) != 0) {
    log(Severity::Warn, "signals: cannot handle signal %d: %s", sig, std::strerror(errno));
    return -1;
  }
  ev->fd_prev_ = nullptr;
  ev->fd_next_ = head;
  if (head) head->fd_prev_ = ev;
  head = ev;
  ev->state_ |= Event::kStateInserted;
  return 0;
}

// The internal event that reads the signal pipe.
int EventBaseImpl::setup_signal_event() {
  signal_event_.assign(*this, signals_->read_fd(), kRead | kPersist, [this](int, short) { signals_->drain(); });
  signal_event_.state_ |= Event::kStateInternal;
  signal_event_.priority_ = 0;
  return signal_event_.add();
}

void EventBaseImpl::remove_signal(Event* ev) {
  Event*& head = sig_heads_[static_cast<std::size_t>(ev->fd_)];
  if (ev->fd_prev_) ev->fd_prev_->fd_next_ = ev->fd_next_;
  else head = ev->fd_next_;
  if (ev->fd_next_) ev->fd_next_->fd_prev_ = ev->fd_prev_;
  ev->fd_next_ = ev->fd_prev_ = nullptr;
  ev->state_ &= static_cast<std::uint16_t>(~Event::kStateInserted);
  if (!head) signals_->unwatch(ev->fd_);
}

void EventBaseImpl::activate_signum(int signum, int ncalls) {
  if (signum <= 0 || static_cast<std::size_t>(signum) >= sig_heads_.size()) return;
  short n = static_cast<short>(std::min(ncalls, 0x7fff));
  for (Event* ev = sig_heads_[static_cast<std::size_t>(signum)]; ev; ev = ev->fd_next_) insert_active(ev, kSignal, n);
}

// ---- watchers and cross-thread work ---------------------------------------

int EventBaseImpl::add_prepare_watcher(PrepareCallback cb) {
  watchers_.push_back({next_watcher_id_, true, std::move(cb), nullptr});
  return next_watcher_id_++;
}

int EventBaseImpl::add_check_watcher(CheckCallback cb) {
  watchers_.push_back({next_watcher_id_, false, nullptr, std::move(cb)});
  return next_watcher_id_++;
}

void EventBaseImpl::remove_watcher(int id) {
  std::erase_if(watchers_, [id](const Watcher& w) { return w.id == id; });
}

void EventBaseImpl::run_watchers(bool prepare, Duration timeout) {
  for (std::size_t i = 0; i < watchers_.size(); ++i) {
    Watcher& w = watchers_[i];
    if (w.prepare != prepare) continue;
    if (prepare) w.on_prepare(timeout);
    else w.on_check();
  }
}

void EventBaseImpl::run_in_loop(std::function<void()> fn) {
  bool need_wake;
  {
    std::lock_guard lock(pending_mutex_);
    pending_fns_.push_back(std::move(fn));
    need_wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (need_wake) wake();
}

void EventBaseImpl::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventBaseImpl::wakeup_cb(int fd, short, void* arg) {
  auto* base = static_cast<EventBaseImpl*>(arg);
  std::uint64_t value;
  [[maybe_unused]] ssize_t n = ::read(fd, &value, sizeof value);
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lock(base->pending_mutex_);
    fns.swap(base->pending_fns_);
    base->wake_pending_ = false;
  }
  for (auto& f : fns) f();
}

// ---- inspection -----------------------------------------------------------

int EventBaseImpl::foreach_event(const std::function<int(const Event&)>& fn) const {
  std::vector<const Event*> all;
  std::unordered_set<const Event*> seen;
  auto note = [&](const Event* ev) {
    if (!(ev->state_ & Event::kStateInternal) && seen.insert(ev).second) all.push_back(ev);
  };
  for (const FdSlot& s : fds_)
    for (const Event* ev = s.head; ev; ev = ev->fd_next_) note(ev);
  for (const Event* head : sig_heads_)
    for (const Event* ev = head; ev; ev = ev->fd_next_) note(ev);
  for (const Event* ev : heap_) note(ev);
  for (const auto& q : common_)
    for (const Event* ev = q->head; ev; ev = ev->queue_next_) note(ev);
  for (const ActiveQueue& q : active_)
    for (const Event* ev = q.head; ev; ev = ev->active_next_) note(ev);
  for (const Event* ev : all)
    if (int rc = fn(*ev)) return rc;
  return 0;
}

std::string EventBaseImpl::dump_events() {
  std::string out = "Inserted events (" + method_ + "):\n";
  std::int64_t now = now_us();
  foreach_event([&](const Event& ev) {
    char line[256];
    short p = ev.pending(kRead | kWrite | kClosed | kSignal | kTimeout);
    std::snprintf(line, sizeof line, "  %p [%s %d]%s%s%s%s%s%s", static_cast<const void*>(&ev),
                  (ev.events_ & kSignal) ? "sig" : "fd", ev.fd_, (ev.events_ & kRead) ? " Read" : "",
                  (ev.events_ & kWrite) ? " Write" : "", (ev.events_ & kClosed) ? " EOF" : "",
                  (ev.events_ & kSignal) ? " Signal" : "", (ev.events_ & kPersist) ? " Persist" : "",
                  (ev.events_ & kET) ? " ET" : "");
    out += line;
    if (p & kTimeout) {
      std::snprintf(line, sizeof line, " Timeout=+%.6fs", (ev.deadline_us_ - now) / 1e6);
      out += line;
    }
    if (ev.state_ & Event::kStateActive) {
      std::snprintf(line, sizeof line, " Active(res=0x%x, prio=%d)", ev.res_, ev.priority_);
      out += line;
    }
    out += '\n';
    return 0;
  });
  return out;
}

// ---- fork -----------------------------------------------------------------

int EventBaseImpl::reinit() {
  std::string why;
  std::unique_ptr<Backend> fresh = make_backend(&why);
  if (!fresh) {
    log(Severity::Err, "reinit: %s", why.c_str());
    return -1;
  }
  backend_ = std::move(fresh);  // the old epoll fd is shared with the parent: drop it
  // The wake-up eventfd and the signal pipe are shared with the parent too.
  wake_event_.del();
  ::close(wake_fd_);
  // Nothing is registered with the new backend, and nothing is queued:
  // a slot left "dirty" would never be queued again.
  for (FdSlot& s : fds_) {
    s.applied = 0;
    s.dirty = s.emptied = false;
  }
  changelist_.clear();
  if (setup_internal_events() != 0) return -1;
  {
    // Work queued before the fork signalled the parent's eventfd, not ours.
    std::lock_guard lock(pending_mutex_);
    wake_pending_ = !pending_fns_.empty();
    if (wake_pending_) wake();
  }
  if (signals_) {
    signal_event_.del();
    std::vector<int> watched;
    for (std::size_t sig = 0; sig < sig_heads_.size(); ++sig)
      if (sig_heads_[sig]) watched.push_back(static_cast<int>(sig));
    for (int sig : watched) signals_->unwatch(sig);
    signals_ = SignalPipe::create(*this, &why);
    if (!signals_) return -1;
    setup_signal_event();
    for (int sig : watched) signals_->watch(sig);
  }
  int rc = 0;
  for (std::size_t fd = 0; fd < fds_.size(); ++fd)
    if (fd_mask(fds_[fd]) && apply_fd(static_cast<int>(fd)) != 0) rc = -1;
  return rc;
}

}  // namespace ev::detail
