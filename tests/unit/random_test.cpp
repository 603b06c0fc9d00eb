// The secure random source (getrandom(2)).
#include "engine/util/random.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <vector>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

TEST_CASE("secure_random fills the buffer with unpredictable bytes") {
  std::array<unsigned char, 64> a{}, b{};
  ev::secure_random(a.data(), a.size());
  ev::secure_random(b.data(), b.size());
  CHECK(a != b);
  CHECK(std::any_of(a.begin(), a.end(), [](unsigned char c) { return c != 0; }));
  std::set<unsigned char> distinct(a.begin(), a.end());
  CHECK(distinct.size() > 20);  // 64 random bytes repeat a little, not much

  ev::secure_random(nullptr, 0);  // nothing to do

  std::vector<unsigned char> big(1 << 20);  // getrandom may return short counts
  ev::secure_random(big.data(), big.size());
  CHECK(std::count(big.begin(), big.end(), 0) < static_cast<long>(big.size() / 100));
}

TEST_CASE("secure_random_u32 gives distinct values") {
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(ev::secure_random_u32());
  CHECK(seen.size() >= 998);
}

TEST_CASE("secure_random_uniform stays in bound and covers it evenly") {
  for (std::uint32_t bound : {1u, 2u, 3u, 7u, 1000u, 0x80000001u, 0xffffffffu}) {
    CAPTURE(bound);
    for (int i = 0; i < 2000; ++i) CHECK_LT(ev::secure_random_uniform(bound), bound);
  }
  CHECK(ev::secure_random_uniform(1) == 0);

  std::array<int, 10> buckets{};
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ++buckets[ev::secure_random_uniform(10)];
  for (int count : buckets) {
    // Expected 2000, standard deviation about 42: 10 of them is never reached.
    CHECK(count > 1580);
    CHECK(count < 2420);
  }

  // Above 2^31 a plain modulo would favour the low half; the rejection does not.
  constexpr std::uint32_t kBound = 0xC0000000u;
  int low = 0;
  for (int i = 0; i < kDraws; ++i) low += ev::secure_random_uniform(kBound) < kBound / 2;
  CHECK(low > kDraws / 2 - 700);
  CHECK(low < kDraws / 2 + 700);
}

TEST_SUITE_END();
