// The backend interface: libevent's `struct eventop` as a class. One .cpp
// per backend; backend_registry.cpp lists them in order of preference, so a
// new backend is one file plus one registry line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace ev {
class EventBase;
}

namespace ev::detail {

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
  // with base.activate_io(). Returns 0, or -1 on an unrecoverable error.
  virtual int dispatch(EventBase& base, std::int64_t timeout_us) = 0;
};

struct BackendEntry {
  const char* name;
  int features;
  std::unique_ptr<Backend> (*create)(const BackendOptions& opts, std::string* why);
};

// In order of preference.
const BackendEntry* backend_entries(std::size_t* count);

std::unique_ptr<Backend> make_epoll_backend(const BackendOptions& opts, std::string* why);
std::unique_ptr<Backend> make_poll_backend(const BackendOptions& opts, std::string* why);
std::unique_ptr<Backend> make_select_backend(const BackendOptions& opts, std::string* why);

// Routes delivered signals into the loop through a self-pipe: the handler
// only writes the signal number; the loop reads it and activates events.
class SignalPipe {
 public:
  ~SignalPipe();
  static std::unique_ptr<SignalPipe> create(EventBase& base, std::string* why);
  int read_fd() const { return fds_[0]; }
  // Installs our handler for signum (first event) or restores the old one.
  int watch(int signum);
  int unwatch(int signum);
  // Called from the read event: drains the pipe and activates signals.
  void drain(EventBase& base);

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace ev::detail
