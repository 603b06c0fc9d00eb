// Event: one condition the loop watches (readable, writable, a signal, a
// timeout, or the peer closing) and the callback it runs when it happens.
//
// libevent's struct event (event_assign, event_add, event_del, ...). An
// Event is a plain object that can be embedded in a caller's struct (no
// heap allocation); it must not move while assigned, which is why it is
// neither copyable nor movable. Destroying an Event removes it from its
// base; destroying the base first detaches its events (they become
// non-pending and may then only be assigned again or destroyed). Callbacks
// run inside EventBase::loop(), never in a signal handler.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace ev {

class EventBase;
class Event;
namespace detail {
class EventBaseImpl;
}

// What an event waits for, and what it reports to its callback.
enum : short {
  kTimeout = 0x01,
  kRead = 0x02,
  kWrite = 0x04,
  kSignal = 0x08,
  kPersist = 0x10,  // stays pending after it fires
  kET = 0x20,       // edge-triggered, where the backend supports it
  kClosed = 0x80,   // peer closed (EPOLLRDHUP), where supported
};

using Duration = std::chrono::microseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// libevent's callback shape: no allocation and no virtual call per event.
using EventCallback = void (*)(int fd, short what, void* arg);

// A duration registered with EventBase::init_common_timeout(): events added
// with it go to a FIFO queue instead of the heap (O(1) add and expiry).
struct CommonTimeout {
  Duration duration{};
  int index = -1;
};

class Event {
 public:
  Event() = default;
  Event(EventBase& base, int fd, short what, EventCallback cb, void* arg) { assign(base, fd, what, cb, arg); }
  Event(EventBase& base, int fd, short what, std::function<void(int fd, short what)> fn) {
    assign(base, fd, what, std::move(fn));
  }
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Pass as `arg` to get this Event itself as the callback argument.
  static void* self_cbarg();

  // (Re)initialises a non-pending event. A signal event passes the signal
  // number as `fd` and kSignal in `what`; a pure timer passes fd -1.
  void assign(EventBase& base, int fd, short what, EventCallback cb, void* arg);
  void assign(EventBase& base, int fd, short what, std::function<void(int fd, short what)> fn);
  void assign_timer(EventBase& base, EventCallback cb, void* arg) { assign(base, -1, 0, cb, arg); }
  void assign_signal(EventBase& base, int signum, EventCallback cb, void* arg) {
    assign(base, signum, kSignal | kPersist, cb, arg);
  }

  // Makes the event pending. With a timeout the event also fires (with
  // kTimeout) once it passes; adding a pending event again resets it.
  // Returns 0, or -1 on failure (logged).
  int add();
  int add(Duration timeout);
  int add(const CommonTimeout& timeout);
  // Makes the event non-pending and non-active. Safe on any event.
  int del();
  // Removes only the timeout; the I/O or signal part stays pending.
  int remove_timer();

  // Runs the callback on the next loop iteration with `res` as its `what`.
  // `ncalls` only matters for signal events (how many times it is called).
  void activate(short res, short ncalls = 1);

  // Which of `what` (kRead, kWrite, kSignal, kTimeout, kClosed) is pending
  // or active; when kTimeout is pending, `expires` receives the deadline.
  short pending(short what, TimePoint* expires = nullptr) const;

  // Priority 0 (most urgent) .. base.priorities()-1; only when not active.
  int set_priority(int priority);
  int priority() const { return priority_; }

  bool initialized() const { return (state_ & kStateInit) != 0; }
  EventBase* base() const { return base_; }
  int fd() const { return fd_; }
  int signal() const { return fd_; }
  short events() const { return events_; }
  EventCallback callback() const { return cb_; }
  void* callback_arg() const { return arg_; }

 private:
  friend class detail::EventBaseImpl;  // the base's tables link events directly
  enum : std::uint16_t {
    kStateInit = 0x01,
    kStateInserted = 0x02,  // registered for I/O or a signal
    kStateTimeout = 0x04,   // in the timer heap or a common-timeout queue
    kStateActive = 0x08,
    kStateInternal = 0x10,  // engine plumbing: does not keep the loop alive
    kStateOnce = 0x20,      // owned by the base, freed after it runs
  };
  static void call_function(int fd, short what, void* arg);
  void check_live(const char* op) const;

  EventBase* base_ = nullptr;
  EventCallback cb_ = nullptr;
  void* arg_ = nullptr;
  int fd_ = -1;
  short events_ = 0;
  short res_ = 0;
  short ncalls_ = 0;
  std::uint16_t state_ = 0;
  int priority_ = 0;
  int heap_index_ = -1;         // position in the timer heap
  int common_index_ = -1;       // common-timeout queue, when in one
  std::int64_t deadline_us_ = 0;  // absolute, on the base's monotonic clock
  std::int64_t interval_us_ = -1; // the timeout given to add(); -1: none
  Event* fd_next_ = nullptr;      // other events on the same fd / signal
  Event* fd_prev_ = nullptr;
  Event* active_next_ = nullptr;  // active queue of its priority
  Event* active_prev_ = nullptr;
  Event* queue_next_ = nullptr;   // common-timeout queue
  Event* queue_prev_ = nullptr;
  Event* base_next_ = nullptr;    // every event assigned to the base, so that
  Event* base_prev_ = nullptr;    // a dying base can detach them all
  // Only events assigned a std::function carry one (most use a plain
  // function pointer): kept out of line to keep every Event small.
  std::unique_ptr<std::function<void(int, short)>> fn_;
};

}  // namespace ev
