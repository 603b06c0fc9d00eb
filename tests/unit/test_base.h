// Shared helpers for the engine's unit tests. The whole suite runs once per
// backend (see tests/CMakeLists.txt): make_test_base() honours
// EVENT_NOEPOLL / EVENT_NOPOLL like any default base, and
// EVTOOL_TEST_CHANGELIST=1 turns on the epoll changelist.
#pragma once

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/event_base.h"
#include "engine/core/log.h"
#include "engine/util/socket.h"

using namespace std::chrono_literals;

// The Config every test base starts from.
inline ev::Config test_config(ev::Config cfg = {}) {
  if (std::getenv("EVTOOL_TEST_CHANGELIST")) cfg.set_flag(ev::Config::kEpollUseChangelist);
  return cfg;
}

inline std::unique_ptr<ev::EventBase> make_test_base(const ev::Config& cfg = {}) {
  std::string why;
  auto base = ev::EventBase::create(test_config(cfg), &why);
  INFO("EventBase::create failed: ", why);
  REQUIRE(base);
  return base;
}

inline bool uses_changelist(const ev::EventBase& base) {
  return std::getenv("EVTOOL_TEST_CHANGELIST") && std::string_view(base.method()) == "epoll";
}

// A connected, non-blocking AF_UNIX stream pair.
struct SocketPair {
  ev::UniqueFd a, b;
  SocketPair() {
    int fds[2];
    REQUIRE(ev::make_socketpair(fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

inline void write_text(int fd, std::string_view text) {
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

// Everything readable right now (the fd is non-blocking).
inline std::string read_available(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Sets (or unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Busy-waits (the loop's cached time must not move while we do).
inline void spin_for(std::chrono::microseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// Silences the library's log for one scope (for tests that provoke errors).
struct QuietLog {
  QuietLog() { ev::set_log_callback([](ev::Severity, const char*) {}); }
  ~QuietLog() { ev::set_log_callback(nullptr); }
};

// What record_cb saw: how often it ran, and the fd and events of its last run.
struct Record {
  int calls = 0;
  int fd = -2;
  short what = 0;
};
inline void record_cb(int fd, short what, void* arg) {
  auto* r = static_cast<Record*>(arg);
  ++r->calls;
  r->fd = fd;
  r->what = what;
}
