// EventBaseImpl: the state behind EventBase (fd and signal tables, timer
// heap, common-timeout queues, active queues, changelist, watchers) and the
// operations Event and the backends use on it. Only src/engine/core
// includes this header.
//
// create() allocates an EventBaseImpl and hands it out as an EventBase.
// EventBase's methods and Event reach the state with a static_cast (impl()),
// so add, del and dispatch chase no extra pointer; backends see only the
// ActivationSink part. Definitions: event_base.cpp (creation, tables,
// watchers, inspection, fork) and loop.cpp (clock, timers, active queues,
// the loop).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/detail/backend.h"
#include "engine/core/event.h"
#include "engine/core/event_base.h"

namespace ev::detail {

class EventBaseImpl final : public EventBase, public ActivationSink {
 public:
  EventBaseImpl() = default;
  ~EventBaseImpl() override;
  int init(const Config& cfg, const std::string& method, std::string* why);

  // ---- EventBase's API: each public method forwards here ----
  const char* method() const { return method_.c_str(); }
  int features() const;
  int priority_init(int n);
  int priorities() const { return static_cast<int>(active_.size()); }
  int loop(int flags);
  int loopexit(std::optional<Duration> delay);
  int loopbreak();
  int loopcontinue();
  bool got_exit() const { return got_exit_; }
  bool got_break() const { return got_break_; }
  bool running() const { return running_; }
  TimePoint now();
  std::int64_t now_us();
  int gettimeofday_cached(struct timeval* tv);
  int update_cache_time();
  CommonTimeout init_common_timeout(Duration d);
  int once(int fd, short what, std::function<void(int, short)> cb, std::optional<Duration> timeout);
  Event* running_event() const { return running_event_; }
  std::string dump_events();
  int foreach_event(const std::function<int(const Event&)>& fn) const;
  int event_count() const { return event_count_; }
  int active_count() const { return active_count_; }
  int add_prepare_watcher(PrepareCallback cb);
  int add_check_watcher(CheckCallback cb);
  void remove_watcher(int id);
  void run_in_loop(std::function<void()> fn);
  void wake();
  int reinit();

  // ---- for Event ----
  // Every assigned event, internal ones included (see ~EventBaseImpl).
  void link_event(Event* ev);
  void unlink_event(Event* ev);
  // ev is being deleted or destroyed: if its callback is running (a signal
  // callback repeated ncalls times), the repetition stops.
  void note_gone(const Event* ev) {
    if (running_event_ == ev) running_gone_ = true;
  }
  // Whether t came from init_common_timeout() on this base.
  bool owns_common_timeout(const CommonTimeout& t) const {
    return t.index >= 0 && t.index < static_cast<int>(common_.size()) &&
           common_[static_cast<std::size_t>(t.index)]->duration_us == t.duration.count();
  }
  int insert_io(Event* ev);
  void remove_io(Event* ev);
  int insert_signal(Event* ev);
  void remove_signal(Event* ev);
  void insert_timeout(Event* ev, std::int64_t deadline_us, int common);
  void remove_timeout(Event* ev);
  // from + interval, saturated: Duration::max() means "never", not overflow.
  static std::int64_t deadline_after(std::int64_t from, std::int64_t interval);
  void insert_active(Event* ev, short res, short ncalls);
  void remove_active(Event* ev);
  // Keeps event_count_ right after ev's state changed from old_state.
  void recount(Event* ev, std::uint16_t old_state);

 private:
  friend class ActivationSink;
  struct FdSlot {
    Event* head = nullptr;
    std::uint16_t nread = 0, nwrite = 0, nclose = 0, net = 0;
    short applied = 0;  // mask the backend currently has
    bool dirty = false;
    // Dropped to no events while a change was pending: the fd may have been
    // closed and its number reused, so `applied` cannot be trusted.
    bool emptied = false;
  };
  struct CommonQueue {
    std::int64_t duration_us = 0;
    Event* head = nullptr;
    Event* tail = nullptr;
    Event timer;  // internal: fires at head's deadline
  };
  struct Watcher {
    int id;
    bool prepare;
    PrepareCallback on_prepare;
    CheckCallback on_check;
  };
  struct ActiveQueue {
    Event* head = nullptr;
    Event* tail = nullptr;
  };

  // What ActivationSink reports.
  void activate_fd(int fd, short what);
  void activate_signum(int signum, int ncalls);

  // fd table and changelist.
  short fd_mask(const FdSlot& s) const;
  void mark_fd(int fd);
  int apply_fd(int fd);
  void flush_changelist();
  bool defers_changes() const;
  std::unique_ptr<Backend> make_backend(std::string* why);
  int setup_signal_event();

  // Timer heap and common-timeout queues.
  void heap_push(Event* ev);
  void heap_erase(Event* ev);
  void heap_sift_up(int i);
  void heap_sift_down(int i);
  static void common_timeout_cb(int fd, short what, void* arg);
  void schedule_common(CommonQueue& q);

  // Loop internals.
  std::int64_t clock_us() const;
  std::int64_t next_timeout_us();
  void expire_timeouts();
  int process_active();
  void run_callback(Event* ev);
  void run_watchers(bool prepare, Duration timeout);
  static void wakeup_cb(int fd, short what, void* arg);
  int setup_internal_events();

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SignalPipe> signals_;
  std::string method_;
  Config config_;
  std::vector<FdSlot> fds_;
  std::vector<int> changelist_;
  std::vector<Event*> sig_heads_;
  std::vector<Event*> heap_;
  std::vector<std::unique_ptr<CommonQueue>> common_;
  std::vector<ActiveQueue> active_;
  std::vector<Watcher> watchers_;
  int next_watcher_id_ = 1;
  std::vector<Event*> once_events_;
  Event* assigned_ = nullptr;  // list through Event::base_next_

  int event_count_ = 0;
  int active_count_ = 0;
  std::int64_t cached_us_ = 0;  // 0: no cached time
  // Wall clock minus monotonic clock, measured once per cached time so that
  // gettimeofday_cached() is as stable as now() (offset_for_us_ is the
  // cached_us_ it belongs to).
  std::int64_t wall_offset_us_ = 0;
  std::int64_t offset_for_us_ = 0;
  bool running_ = false;
  bool got_exit_ = false;
  bool got_break_ = false;
  bool continue_ = false;
  Event* running_event_ = nullptr;
  bool running_gone_ = false;  // the running event was deleted or destroyed

  Event signal_event_;  // internal: reads the signal pipe
  int wake_fd_ = -1;
  Event wake_event_;
  std::mutex pending_mutex_;
  std::vector<std::function<void()>> pending_fns_;
  bool wake_pending_ = false;
};

// The state behind a base. Every EventBase is an EventBaseImpl (create()
// makes no other kind), so the cast is free and never wrong.
inline EventBaseImpl& impl(EventBase& base) { return static_cast<EventBaseImpl&>(base); }
inline const EventBaseImpl& impl(const EventBase& base) { return static_cast<const EventBaseImpl&>(base); }

}  // namespace ev::detail
