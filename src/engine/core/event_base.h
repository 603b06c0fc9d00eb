// EventBase: the loop that waits on a backend (epoll, poll, select) and runs
// the callbacks of the events that became active.
//
// The guide's sections 二 and 三. One EventBase belongs to one thread; the
// only calls another thread may make are run_in_loop() and wake(). Signal
// events can be handled by one base per process at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"

namespace ev {

namespace detail {
class Backend;
class SignalPipe;
}  // namespace detail

// Backend features, as libevent's EV_FEATURE_*.
enum Feature : int {
  kFeatureET = 0x01,          // edge-triggered events
  kFeatureO1 = 0x02,          // O(1) add, delete and dispatch of one event
  kFeatureFDS = 0x04,         // any fd, not just sockets (files, ttys)
  kFeatureEarlyClose = 0x08,  // kClosed without reading all pending data
};
// "ET,O1" for kFeatureET|kFeatureO1 (EarlyClose is not listed: the three
// above are the ones users select by).
std::string features_string(int features);
// "ET" -> kFeatureET (case-insensitive); 0 for an unknown name.
int feature_from_name(std::string_view name);

// A backend compiled into the engine, in order of preference.
struct MethodInfo {
  const char* name;
  int features;
};
const std::vector<MethodInfo>& compiled_methods();
// Names usable here: compiled in and not disabled by EVENT_NO<METHOD>.
std::vector<std::string> supported_methods();

class Config {
 public:
  enum Flag : int {
    kNoLock = 0x01,             // accepted for compatibility; bases are single-threaded
    kIgnoreEnv = 0x02,          // ignore EVENT_NO<METHOD> and EVENT_SHOW_METHOD
    kStartupIocp = 0x04,        // accepted, no effect here
    kNoCacheTime = 0x08,        // read the clock after every callback
    kEpollUseChangelist = 0x10, // batch epoll_ctl calls until the next dispatch
    kPreciseTimer = 0x20,       // sub-millisecond wait timeouts
  };

  Config& avoid_method(std::string_view name);
  // Only this method may be chosen (the CLI's --backend).
  Config& require_method(std::string_view name);
  Config& require_features(int features);
  Config& set_flag(int flag);
  // After each callback of priority >= min_priority, stop processing that
  // queue once max_interval has passed or max_callbacks have run (so timers
  // and higher priorities get a turn). Negative values mean "no limit".
  Config& set_max_dispatch_interval(Duration max_interval, int max_callbacks, int min_priority);

  const std::vector<std::string>& avoided() const { return avoid_; }
  const std::string& required_method() const { return method_; }
  int required_features() const { return features_; }
  int flags() const { return flags_; }
  Duration max_dispatch_interval() const { return max_interval_; }
  int max_dispatch_callbacks() const { return max_callbacks_; }
  int limit_callbacks_after_priority() const { return min_priority_; }

 private:
  std::vector<std::string> avoid_;
  std::string method_;
  int features_ = 0;
  int flags_ = 0;
  Duration max_interval_{-1};
  int max_callbacks_ = -1;
  int min_priority_ = 0;
};

// Why each compiled method can or cannot serve a base with this config.
struct MethodChoice {
  std::string name;
  int features = 0;
  bool available = false;   // usable here at all (environment)
  bool eligible = false;    // available, not avoided, has every required feature
  std::string why_not;      // empty when eligible
};
std::vector<MethodChoice> rank_methods(const Config& cfg);
// The method a base created with `cfg` would use, or "" with `why` set.
std::string choose_method(const Config& cfg, std::string* why);

class EventBase {
 public:
  enum LoopFlag : int { kLoopOnce = 0x01, kLoopNonblock = 0x02, kLoopNoExitOnEmpty = 0x04 };

  // nullptr (and `why` set) when no backend satisfies the config.
  static std::unique_ptr<EventBase> create(const Config& cfg, std::string* why = nullptr);
  static std::unique_ptr<EventBase> create() { return create(Config{}); }
  ~EventBase();
  EventBase(const EventBase&) = delete;
  EventBase& operator=(const EventBase&) = delete;

  const char* method() const;
  int features() const;

  // Number of priorities (1..256); only before any event is active.
  // New events get priorities()/2.
  int priority_init(int n);
  int priorities() const { return static_cast<int>(active_.size()); }

  // Runs until no events remain (returns 1), loopexit/loopbreak (0) or a
  // backend error (-1). dispatch() is loop(0).
  int loop(int flags = 0);
  int dispatch() { return loop(0); }
  // Stop after the active callbacks of this round have run; with a delay,
  // after that much time. Called when the loop is not running, the next
  // loop() runs one round and returns.
  int loopexit(std::optional<Duration> delay = std::nullopt);
  // Stop right after the current callback. No effect if not running.
  int loopbreak();
  // Makes the loop re-check for new events after the current callback
  // instead of running the rest of the active queue first.
  int loopcontinue();
  bool got_exit() const { return got_exit_; }
  bool got_break() const { return got_break_; }
  bool running() const { return running_; }

  // Time at the start of this round of callbacks (or the clock, when not
  // in a callback or with kNoCacheTime). Monotonic and wall-clock forms.
  TimePoint now();
  std::int64_t now_us();  // monotonic microseconds
  int gettimeofday_cached(struct timeval* tv);
  int update_cache_time();

  // A duration that many events will use; see CommonTimeout.
  CommonTimeout init_common_timeout(Duration d);

  // Runs cb once after `timeout` or when fd gets `what` (kRead/kWrite).
  int once(int fd, short what, std::function<void(int fd, short what)> cb,
           std::optional<Duration> timeout = std::nullopt);

  // The event whose callback is running now, or nullptr.
  Event* running_event() const { return running_event_; }

  // Human-readable list of every event and its state (the format may change).
  void dump_events(std::FILE* out);
  std::string dump_events();
  // Calls fn for every added or active event (not internal ones) until it
  // returns non-zero, which is returned.
  int foreach_event(const std::function<int(const Event&)>& fn) const;
  // Events added or active that keep the loop alive.
  int event_count() const { return event_count_; }
  int active_count() const { return active_count_; }

  // Watchers run just before the backend waits (with the timeout it will
  // use) and right after it returns; they may not add or delete watchers.
  using PrepareCallback = std::function<void(Duration timeout)>;
  using CheckCallback = std::function<void()>;
  int add_prepare_watcher(PrepareCallback cb);
  int add_check_watcher(CheckCallback cb);
  void remove_watcher(int id);

  // Thread-safe: queue fn to run on the loop's thread and wake the loop.
  void run_in_loop(std::function<void()> fn);
  // Thread-safe: make a waiting backend return.
  void wake();

  // After fork(), in the child: rebuild the backend, signal and wake-up
  // plumbing and register every event again. 0 on success.
  int reinit();

  // For backends: report readiness of fd, or a delivered signal.
  void activate_io(int fd, short what);
  void activate_signal(int signum, int ncalls);

 private:
  friend class Event;
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

  EventBase() = default;
  int init(const Config& cfg, const std::string& method, std::string* why);

  // Every assigned event, internal ones included (see ~EventBase).
  void link_event(Event* ev);
  void unlink_event(Event* ev);

  // Registration (event.cpp calls these).
  int insert_io(Event* ev);
  void remove_io(Event* ev);
  int insert_signal(Event* ev);
  void remove_signal(Event* ev);
  short fd_mask(const FdSlot& s) const;
  void mark_fd(int fd);
  int apply_fd(int fd);
  void flush_changelist();
  void insert_timeout(Event* ev, std::int64_t deadline_us, int common);
  // from + interval, saturated: Duration::max() means "never", not overflow.
  static std::int64_t deadline_after(std::int64_t from, std::int64_t interval);
  void remove_timeout(Event* ev);
  void insert_active(Event* ev, short res, short ncalls);
  void remove_active(Event* ev);
  // Keeps event_count_ right after ev's state changed from old_state.
  void recount(Event* ev, std::uint16_t old_state);

  // Timer heap.
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

  std::unique_ptr<detail::Backend> backend_;
  std::unique_ptr<detail::SignalPipe> signals_;
  std::string method_;
  Config config_;
  std::vector<FdSlot> fds_;
  std::vector<int> changelist_;
  std::vector<Event*> sig_heads_;
  std::vector<Event*> heap_;
  std::vector<std::unique_ptr<CommonQueue>> common_;
  struct ActiveQueue {
    Event* head = nullptr;
    Event* tail = nullptr;
  };
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

}  // namespace ev
