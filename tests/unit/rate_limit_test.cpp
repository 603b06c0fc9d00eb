// Section 七 (4): rate limits — TokenBucket arithmetic with explicit ticks,
// TokenBucketConfig::per_second, RateLimitGroup shares and totals with an
// injected clock, and BufferEvents held to their own and their group's
// limits in a real loop.
#include "engine/io/rate_limit.h"

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/buffer_event.h"
#include "engine/io/socket_buffer_event.h"
#include "io_test_util.h"

namespace {

using ev::BufferEvent;
using ev::SocketBufferEvent;
using ev::Duration;
using ev::RateLimitGroup;
using ev::TokenBucket;
using ev::TokenBucketConfig;

TokenBucketConfig config(std::size_t read_rate, std::size_t read_burst, std::size_t write_rate,
                         std::size_t write_burst, Duration tick) {
  TokenBucketConfig c;
  c.read_rate = read_rate;
  c.read_burst = read_burst;
  c.write_rate = write_rate;
  c.write_burst = write_burst;
  c.tick = tick;
  return c;
}

// A tick so long that no refill happens during a test (ticks are aligned
// to the monotonic clock, so a shorter one could end at any moment).
constexpr Duration kNoRefill = std::chrono::hours(24);

// Reads everything that arrives on fd into `got` whenever the loop runs.
struct Sink {
  std::string got;
  ev::Event ev;
  Sink(ev::EventBase& base, int fd)
      : ev(base, fd, ev::kRead | ev::kPersist, [this, fd](int, short) { got += read_available(fd); }) {
    ev.add();
  }
};

// A BufferEvent (options 0) on one end of a socketpair, a Sink on the other.
struct SinkBev {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  SocketPair sp;
  Sink sink{*base, sp.b.get()};
  std::unique_ptr<BufferEvent> bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
};

// The same, stalled: limited to 1000 tokens that never refill (`cfg`), with
// 5000 bytes queued, of which the first 1000 have arrived.
struct StalledSinkBev {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  SocketPair sp;
  Sink sink{*base, sp.b.get()};
  std::unique_ptr<BufferEvent> bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  TokenBucketConfig cfg = config(1000, 1000, 1000, 1000, kNoRefill);
  StalledSinkBev() {
    bev->set_rate_limit(&cfg);
    bev->write(pattern(5000).data(), 5000);
    REQUIRE(run_until(*base, [&] { return sink.got.size() == 1000; }));
  }
};

}  // namespace

// ---- TokenBucket --------------------------------------------------------------

TEST_CASE("TokenBucket starts with one tick of tokens and refills by rate per tick up to burst") {
  TokenBucket b(config(100, 250, 10, 10, Duration(1000)), 5);
  CHECK(b.read_limit() == 100);
  CHECK(b.write_limit() == 10);
  CHECK(b.last_tick() == 5);

  b.update(5);  // same tick: nothing new
  CHECK(b.read_limit() == 100);
  b.update(6);
  CHECK(b.read_limit() == 200);
  CHECK(b.write_limit() == 10);  // already at its burst
  b.update(7);
  CHECK(b.read_limit() == 250);  // capped
  CHECK(b.last_tick() == 7);
  b.update(3);  // a clock going backwards changes nothing
  CHECK(b.read_limit() == 250);
  CHECK(b.last_tick() == 7);
}

TEST_CASE("TokenBucket decrements may go negative and refill from there") {
  TokenBucket b(config(100, 250, 10, 30, Duration(1000)), 0);
  b.decrement_read(400);
  CHECK(b.read_limit() == -300);
  b.decrement_write(15);
  CHECK(b.write_limit() == -5);
  b.update(1);
  CHECK(b.read_limit() == -200);
  CHECK(b.write_limit() == 5);
  b.update(4);
  CHECK(b.read_limit() == 100);
  CHECK(b.write_limit() == 30);
  b.decrement_read(-1000);  // a negative decrement adds tokens
  CHECK(b.read_limit() == 1100);
  b.update(5);  // above the burst already: left alone
  CHECK(b.read_limit() == 1100);
}

TEST_CASE("TokenBucket does not overflow with huge tick gaps or huge rates and bursts") {
  SUBCASE("huge gap") {
    TokenBucket b(config(1000, 5000, 1000, 5000, Duration(1000)), 0);
    b.decrement_read(1000000);
    b.update(INT64_MAX);
    CHECK(b.read_limit() == 5000);
    CHECK(b.write_limit() == 5000);
    CHECK(b.last_tick() == INT64_MAX);
  }
  SUBCASE("SIZE_MAX rate and burst") {
    TokenBucket b(config(SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, Duration(1000)), 0);
    CHECK(b.read_limit() == SSIZE_MAX);  // clamped, not wrapped to -1
    CHECK(b.write_limit() == SSIZE_MAX);
    b.decrement_read(SSIZE_MAX);
    b.decrement_read(1000);
    CHECK(b.read_limit() == -1000);
    b.update(1);
    CHECK(b.read_limit() == SSIZE_MAX);
    b.update(INT64_MAX);
    CHECK(b.read_limit() == SSIZE_MAX);
  }
  SUBCASE("rate above SSIZE_MAX with a limit far below zero") {
    std::size_t rate = (std::size_t{1} << 63) + 1;
    TokenBucket b(config(rate, SIZE_MAX, 1, SIZE_MAX, Duration(1000)), 0);
    CHECK(b.read_limit() == SSIZE_MAX);
    b.decrement_read(SSIZE_MAX);
    b.decrement_read(SSIZE_MAX);
    CHECK(b.read_limit() == -SSIZE_MAX);
    b.update(1);
    CHECK(b.read_limit() == static_cast<ssize_t>(rate - static_cast<std::size_t>(SSIZE_MAX)));
    b.update(3);
    CHECK(b.read_limit() == SSIZE_MAX);
    CHECK(b.write_limit() == 4);
  }
  SUBCASE("zero rate never refills") {
    TokenBucket b(config(0, 100, 0, 100, Duration(1000)), 0);
    CHECK(b.read_limit() == 0);
    b.update(1000);
    CHECK(b.read_limit() == 0);
  }
}

TEST_CASE("TokenBucket tick_of divides the clock by the tick") {
  TokenBucket b(config(1, 1, 1, 1, Duration(100000)), 0);
  CHECK(b.tick_of(0) == 0);
  CHECK(b.tick_of(99999) == 0);
  CHECK(b.tick_of(250000) == 2);
  TokenBucket zero(config(1, 1, 1, 1, Duration(0)), 0);  // no zero-length ticks
  CHECK(zero.config().tick.count() > 0);
  CHECK(zero.tick_of(5000000) == 5000000 / zero.config().tick.count());
}

TEST_CASE("TokenBucketConfig::per_second") {
  TokenBucketConfig c = TokenBucketConfig::per_second(100 * 1024);
  CHECK(c.tick == Duration(100000));
  CHECK(c.read_rate == 10240);
  CHECK(c.read_burst == 10240);
  CHECK(c.write_rate == 10240);
  CHECK(c.write_burst == 10240);

  c = TokenBucketConfig::per_second(5000, Duration(1000));
  CHECK(c.tick == Duration(1000));
  CHECK(c.read_rate == 5);
  CHECK(TokenBucketConfig::per_second(1).read_rate == 1);  // never zero
  CHECK(TokenBucketConfig::per_second(0).read_rate == 1);

  c = TokenBucketConfig::per_second(UINT64_MAX);  // no wrap-around
  CHECK(c.read_rate > UINT64_MAX / 11);
  c = TokenBucketConfig::per_second(UINT64_MAX, Duration(10000000));
  CHECK(c.read_rate == SIZE_MAX);
}

// ---- RateLimitGroup -----------------------------------------------------------

TEST_CASE("RateLimitGroup with an injected clock: limits, refills and manual decrements") {
  auto base = make_test_base();
  std::int64_t now = 10 * 100000 + 5;
  RateLimitGroup g(*base, config(1000, 3000, 500, 500, Duration(100000)), [&] { return now; });
  CHECK(g.read_limit() == 1000);
  CHECK(g.write_limit() == 500);

  CHECK(g.decrement_read(1200) == 0);
  CHECK(g.read_limit() == -200);
  now += 100000;
  CHECK(g.read_limit() == 800);
  now += 10 * 100000;
  CHECK(g.read_limit() == 3000);

  g.decrement_write(-100);
  CHECK(g.write_limit() == 600);
  // Manual decrements are not traffic: the totals count bytes moved.
  CHECK(g.total_read() == 0);
  CHECK(g.total_written() == 0);

  g.set_config(config(10, 10, 20, 20, Duration(100000)));
  CHECK(g.read_limit() == 10);
  CHECK(g.write_limit() == 20);
}

TEST_CASE("RateLimitGroup shares: limit / members, at least min_share, never above the limit") {
  auto base = make_test_base();
  std::int64_t now = 0;
  RateLimitGroup g(*base, config(1000, 1000, 500, 500, Duration(100000)), [&] { return now; });
  CHECK(g.read_share() == 1000);  // no members yet: all of it
  std::vector<std::unique_ptr<BufferEvent>> bevs;
  for (int i = 0; i < 4; ++i) {
    bevs.push_back(SocketBufferEvent::create(*base, -1, 0));
    CHECK(bevs.back()->add_to_rate_limit_group(g) == 0);
  }
  CHECK(bevs[0]->add_to_rate_limit_group(g) == 0);  // already in: no double count
  CHECK(g.members() == 4);
  CHECK(g.read_share() == 250);
  CHECK(g.write_share() == 125);  // above the default min_share (64)

  g.set_min_share(300);
  CHECK(g.read_share() == 300);
  CHECK(g.write_share() == 300);
  g.set_min_share(1000);
  CHECK(g.read_share() == 1000);
  CHECK(g.write_share() == 500);  // never more than the group has

  g.set_min_share(0);
  g.decrement_read(996);
  CHECK(g.read_share() == 1);
  g.decrement_read(10);
  CHECK(g.read_share() == 0);  // out of tokens: nobody reads

  // A member's own limits are capped by its share.
  CHECK(bevs[0]->get_max_to_read() == 0);
  CHECK(bevs[0]->get_max_to_write() == 125);

  bevs[3].reset();  // a destroyed member leaves
  CHECK(g.members() == 3);
  CHECK(bevs[0]->remove_from_rate_limit_group() == 0);
  CHECK(g.members() == 2);
  CHECK(bevs[0]->get_max_to_read() == static_cast<ssize_t>(bevs[0]->max_single_read()));
}

TEST_CASE("RateLimitGroup totals count the traffic of its members; reset_totals clears them") {
  auto base = make_test_base();
  std::int64_t now = 0;
  RateLimitGroup g(*base, config(100000, 100000, 100000, 100000, Duration(100000)), [&] { return now; });
  SocketPair sp;
  auto bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  bev->add_to_rate_limit_group(g);
  std::string got;
  bev->setcb(
      [&](BufferEvent& b) {
        got += b.input().to_string();
        b.input().drain(b.input().length());
      },
      nullptr, nullptr);
  bev->enable(ev::kRead);
  write_text(sp.b.get(), std::string(300, 'r'));
  bev->write(std::string(120, 'w').data(), 120);
  REQUIRE(run_until(*base, [&] { return got.size() == 300 && bev->output().empty(); }));
  CHECK(g.total_read() == 300);
  CHECK(g.total_written() == 120);
  CHECK(g.read_limit() == 100000 - 300);
  CHECK(g.write_limit() == 100000 - 120);
  g.reset_totals();
  CHECK(g.total_read() == 0);
  CHECK(g.total_written() == 0);
}

TEST_CASE("RateLimitGroup wakes a waiting member once its clock reaches the next tick") {
  auto base = make_test_base();
  std::int64_t now = 0;
  RateLimitGroup g(*base, config(1000, 1000, 100, 100, Duration(20000)), [&] { return now; });
  g.set_min_share(0);
  SocketPair sp;
  Sink sink(*base, sp.b.get());
  auto bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  bev->add_to_rate_limit_group(g);
  bev->write(pattern(250).data(), 250);
  REQUIRE(run_until(*base, [&] { return sink.got.size() == 100; }));
  run_for(*base, std::chrono::milliseconds(60));  // the group's clock stands still
  CHECK(sink.got.size() == 100);
  now += 20000;
  REQUIRE(run_until(*base, [&] { return sink.got.size() == 200; }));
  now += 5 * 20000;  // refilled to the burst only
  REQUIRE(run_until(*base, [&] { return sink.got.size() == 250; }));
  CHECK(sink.got == pattern(250));
  CHECK(g.total_written() == 250);
}

TEST_CASE("RateLimitGroup destroyed before its members") {
  auto base = make_test_base();
  SocketPair sp;
  auto bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  std::int64_t now = 0;  // the group's clock stands still: no refill
  {
    RateLimitGroup g(*base, config(10, 10, 10, 10, Duration(1000000)), [&] { return now; });
    bev->add_to_rate_limit_group(g);
    bev->write("0123456789abcdef", 16);  // more than the group allows: waits
    run_for(*base, std::chrono::milliseconds(20));
    CHECK(bytes_queued(sp.b.get()) == 10);
  }
  // Free of the group, the rest goes out.
  REQUIRE(run_until(*base, [&] { return bytes_queued(sp.b.get()) == 16; }, std::chrono::milliseconds(500)));
  CHECK(read_available(sp.b.get()) == "0123456789abcdef");
}

// ---- BufferEvent limits -------------------------------------------------------

TEST_CASE("BufferEvent rate limit: limits, max-to-read / write and manual decrements") {
  auto base = make_test_base();
  auto bev = SocketBufferEvent::create(*base, -1, 0);
  CHECK(bev->get_max_to_read() == static_cast<ssize_t>(bev->max_single_read()));
  CHECK(bev->get_max_to_write() == static_cast<ssize_t>(bev->max_single_write()));

  TokenBucketConfig cfg = config(1000, 1000, 2000, 4000, kNoRefill);
  REQUIRE(bev->set_rate_limit(&cfg) == 0);
  CHECK(bev->get_read_limit() == 1000);
  CHECK(bev->get_write_limit() == 2000);
  CHECK(bev->decrement_read_limit(300) == 0);
  CHECK(bev->get_read_limit() == 700);
  CHECK(bev->get_max_to_read() == 700);
  bev->set_max_single_read(100);
  CHECK(bev->get_max_to_read() == 100);
  bev->decrement_read_limit(800);
  CHECK(bev->get_read_limit() == -100);
  CHECK(bev->get_max_to_read() <= 0);
  bev->decrement_write_limit(-500);
  CHECK(bev->get_write_limit() == 2500);
  CHECK(bev->get_max_to_write() == 2500);

  REQUIRE(bev->set_rate_limit(nullptr) == 0);
  CHECK(bev->get_max_to_read() == 100);
}

TEST_CASE("BufferEvent rate limit holds a 300 KiB transfer to its rate") {
  SinkBev t;
  auto& [base, sp, sink, bev] = t;
  TokenBucketConfig cfg = TokenBucketConfig::per_second(100 * 1024);  // 10 KiB per 100 ms tick
  REQUIRE(bev->set_rate_limit(&cfg) == 0);
  const std::string sent = pattern(300 * 1024);
  auto start = std::chrono::steady_clock::now();
  bev->write(sent.data(), sent.size());
  REQUIRE(run_until(*base, [&] { return sink.got.size() == sent.size(); }, std::chrono::milliseconds(10000)));
  // 29 refills are needed after the first tick's tokens: ~2.8 s at best.
  CHECK(elapsed_ms(start) >= 2000);
  CHECK(sink.got == sent);
}

TEST_CASE("BufferEvent read rate limit: at most one tick's tokens per tick") {
  auto base = make_test_base();
  SocketPair sp;
  auto bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  TokenBucketConfig cfg = config(1000, 1000, 1000, 1000, Duration(50000));
  bev->set_rate_limit(&cfg);
  ChunkReader reader;
  auto& [sizes, got] = reader;
  reader.attach(*bev);
  bev->enable(ev::kRead);
  const std::string sent = pattern(3500);
  auto start = std::chrono::steady_clock::now();
  write_text(sp.b.get(), sent);
  REQUIRE(run_until(*base, [&] { return got.size() == sent.size(); }));
  CHECK(got == sent);
  CHECK(elapsed_ms(start) >= 80);  // three refills, the first within a tick
  for (std::size_t n : sizes) CHECK(n <= 1000);
}

TEST_CASE("BufferEvent waiting for tokens resumes when the limit is removed") {
  StalledSinkBev t;
  auto& [base, sp, sink, bev, cfg] = t;
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(sink.got.size() == 1000);
  bev->set_rate_limit(nullptr);
  REQUIRE(run_until(*base, [&] { return sink.got.size() == 5000; }, std::chrono::milliseconds(500)));
  CHECK(sink.got == pattern(5000));
}

TEST_CASE("BufferEvent waiting for tokens resumes when a new limit has room") {
  StalledSinkBev t;
  auto& [base, sp, sink, bev, slow] = t;
  TokenBucketConfig roomy = config(100000, 100000, 100000, 100000, kNoRefill);
  bev->set_rate_limit(&roomy);
  CHECK(bev->get_write_limit() == 100000);
  REQUIRE(run_until(*base, [&] { return sink.got.size() == 5000; }, std::chrono::milliseconds(500)));
  CHECK(bev->get_write_limit() == 100000 - 4000);
}
