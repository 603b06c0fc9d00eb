// The backend interface: libevent's `struct eventop` as a class. One .cpp
// per backend; backend_registry.cpp lists them in order of preference, so a
// new backend is one file plus one registry line.
//
// A backend reports what it saw into an ActivationSink it receives when it
// is created (libevent's evmap_io_active_ / evmap_signal_active_), never
// through EventBase's public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ev::detail {

// Where backends and the signal pipe report readiness and signals. The only
// implementation is EventBaseImpl, so the calls are plain (non-virtual)
// calls: one per ready fd, as before the interface existed.
class ActivationSink {
 public:
  // fd became ready for `what` (kRead, kWrite, kClosed bits): every event
  // on fd that waits for one of them becomes active.
  void activate_io(int fd, short what);
  // signum was delivered ncalls times since the last report.
  void activate_signal(int signum, int ncalls);

 protected:
  ActivationSink() = default;
  ~ActivationSink() = default;
  ActivationSink(const ActivationSink&) = delete;
  ActivationSink& operator=(const ActivationSink&) = delete;
};

struct BackendOptions {
  bool precise_timer = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Changes fd's registration from `old_mask` to `new_mask` (kRead, kWrite,
  // kClosed, kET bits; 0 means not registered). Returns 0 or -1 (errno set).
  virtual int change(int fd, short old_mask, short new_mask) = 0;
  // Waits up to timeout_us (-1: forever, 0: poll) and reports each ready fd
  // to the sink given at creation. Returns 0, or -1 on an unrecoverable error.
  virtual int dispatch(std::int64_t timeout_us) = 0;
};

struct BackendEntry {
  const char* name;
  int features;
  // The sink outlives the backend (the base owns both).
  std::unique_ptr<Backend> (*create)(ActivationSink& sink, const BackendOptions& opts, std::string* why);
};

// In order of preference.
const BackendEntry* backend_entries(std::size_t* count);

std::unique_ptr<Backend> make_epoll_backend(ActivationSink& sink, const BackendOptions& opts, std::string* why);
std::unique_ptr<Backend> make_poll_backend(ActivationSink& sink, const BackendOptions& opts, std::string* why);
std::unique_ptr<Backend> make_select_backend(ActivationSink& sink, const BackendOptions& opts, std::string* why);

// Routes delivered signals into the loop through a self-pipe: the handler
// only writes the signal number; the loop reads it and reports the signals
// to the sink given at creation.
class SignalPipe {
 public:
  ~SignalPipe();
  static std::unique_ptr<SignalPipe> create(ActivationSink& sink, std::string* why);
  int read_fd() const { return fds_[0]; }
  // Installs our handler for signum (first event) or restores the old one
  // (sigaction(2)).
  int watch(int signum);
  int unwatch(int signum);
  // Called from the read event: drains the pipe and reports the signals.
  void drain();

 private:
  explicit SignalPipe(ActivationSink& sink) : sink_(sink) {}
  ActivationSink& sink_;
  int fds_[2] = {-1, -1};
};

}  // namespace ev::detail
