// EventBase: the loop that waits on a backend (epoll(7), poll(2) or
// select(2)) and runs the callbacks of the events that became active;
// libevent's struct event_base and event_config.
//
// One EventBase belongs to one thread; the only calls another thread may
// make are run_in_loop() and wake(). Signal events can be handled by one
// base per process at a time. The state behind this class is in
// detail/event_base_impl.h, which only the engine's core includes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"

namespace ev {

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

// The loop (libevent's event_base). Only create() makes one.
class EventBase {
 public:
  enum LoopFlag : int { kLoopOnce = 0x01, kLoopNonblock = 0x02, kLoopNoExitOnEmpty = 0x04 };

  // event_base_new_with_config: nullptr (and `why` set) when no backend
  // satisfies the config.
  static std::unique_ptr<EventBase> create(const Config& cfg, std::string* why = nullptr);
  static std::unique_ptr<EventBase> create() { return create(Config{}); }
  // Detaches the events still assigned here: they become non-pending and
  // may then only be assigned again or destroyed.
  virtual ~EventBase();
  EventBase(const EventBase&) = delete;
  EventBase& operator=(const EventBase&) = delete;

  // The backend in use ("epoll", "poll", "select") and its kFeature* bits.
  const char* method() const;
  int features() const;

  // Number of priorities (1..256); only before any event is active.
  // New events get priorities()/2.
  int priority_init(int n);
  int priorities() const;

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
  bool got_exit() const;
  bool got_break() const;
  bool running() const;

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
  Event* running_event() const;

  // Human-readable list of every event and its state (the format may change).
  void dump_events(std::FILE* out);
  std::string dump_events();
  // Calls fn for every added or active event (not internal ones) until it
  // returns non-zero, which is returned.
  int foreach_event(const std::function<int(const Event&)>& fn) const;
  // Events added or active that keep the loop alive.
  int event_count() const;
  int active_count() const;

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

  // event_reinit: after fork(), in the child, rebuild the backend, signal
  // and wake-up plumbing and register every event again. 0 on success.
  int reinit();

 protected:
  EventBase() = default;  // the one subclass is detail::EventBaseImpl
};

}  // namespace ev
