#include "engine/util/random.h"

#include <sys/random.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "engine/core/log.h"

namespace ev {

namespace {

void fill_from_kernel(void* buf, std::size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal(errno, "getrandom failed: no secure random source");
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

// Kernel randomness fetched 256 bytes at a time: a bulk lookup takes a
// few random words per query, and one getrandom(2) per word was a system
// call per word. Each thread has its own pool; a forked child refills
// before its first use, so parent and child never hand out the same bytes.
struct Pool {
  unsigned char bytes[256];
  std::size_t left = 0;
  unsigned forks = 0;  // g_forks when filled
};

std::atomic<unsigned> g_forks{0};
std::once_flag g_atfork_once;
void on_fork_child() { g_forks.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

void secure_random(void* buf, std::size_t len) {
  static thread_local Pool pool;
  auto* out = static_cast<unsigned char*>(buf);
  if (len > sizeof pool.bytes / 2) return fill_from_kernel(buf, len);
  std::call_once(g_atfork_once, [] { ::pthread_atfork(nullptr, nullptr, on_fork_child); });
  unsigned forks = g_forks.load(std::memory_order_relaxed);
  if (pool.forks != forks) {
    pool.left = 0;
    pool.forks = forks;
  }
  while (len > 0) {
    if (pool.left == 0) {
      fill_from_kernel(pool.bytes, sizeof pool.bytes);
      pool.left = sizeof pool.bytes;
    }
    std::size_t n = std::min(len, pool.left);
    unsigned char* src = pool.bytes + (sizeof pool.bytes - pool.left);
    std::memcpy(out, src, n);
    std::memset(src, 0, n);  // handed out once
    pool.left -= n;
    out += n;
    len -= n;
  }
}

std::uint32_t secure_random_u32() {
  std::uint32_t v;
  secure_random(&v, sizeof v);
  return v;
}

std::uint32_t secure_random_uniform(std::uint32_t bound) {
  // Reject the low values that would make the modulo biased.
  std::uint32_t threshold = static_cast<std::uint32_t>(-bound) % bound;
  for (;;) {
    std::uint32_t r = secure_random_u32();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace ev
