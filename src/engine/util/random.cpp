#include "engine/util/random.h"

#include <sys/random.h>

#include <cerrno>

#include "engine/core/log.h"

namespace ev {

void secure_random(void* buf, std::size_t len) {
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
