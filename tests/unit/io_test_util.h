// Helpers for the BufferEvent, ConnListener and rate-limit tests: run the
// loop until something happened (bounded, so a bug fails instead of
// hanging), recognisable payloads, descriptor checks.
#pragma once

#include <fcntl.h>
#include <sys/ioctl.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/io/buffer_event.h"
#include "test_base.h"

// Runs the loop until pred() holds or `limit` passes; returns pred(). A
// 5 ms ticker keeps a loop with nothing else to do from blocking.
inline bool run_until(ev::EventBase& base, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto end = std::chrono::steady_clock::now() + limit;
  ev::Event ticker(base, -1, ev::kPersist, [](int, short) {});
  ticker.add(ev::Duration(5000));
  while (!pred() && std::chrono::steady_clock::now() < end) base.loop(ev::EventBase::kLoopOnce);
  return pred();
}

// Runs the loop for `d`, whatever happens.
inline void run_for(ev::EventBase& base, std::chrono::milliseconds d) {
  run_until(base, [] { return false; }, d);
}

// n bytes that show where a byte went missing or was duplicated.
inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

inline bool fd_is_closed(int fd) { return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

// Bytes waiting in a socket's receive queue.
inline int bytes_queued(int fd) {
  int n = -1;
  ::ioctl(fd, FIONREAD, &n);
  return n;
}

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Takes in everything a BufferEvent reads, noting how much input each read
// callback saw.
struct ChunkReader {
  std::vector<std::size_t> sizes;
  std::string got;

  void attach(ev::BufferEvent& bev) {
    bev.setcb(
        [this](ev::BufferEvent& b) {
          sizes.push_back(b.input().length());
          got += b.input().to_string();
          b.input().drain(b.input().length());
        },
        nullptr, nullptr);
  }
};
