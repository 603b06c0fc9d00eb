// Section 四: pure timers, persistent timers that do not drift, and common
// timeouts (FIFO queues for many equal durations).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "test_base.h"

namespace {

ev::TimePoint expiry(const ev::Event& ev) {
  ev::TimePoint t{};
  REQUIRE(ev.pending(ev::kTimeout, &t) == ev::kTimeout);
  return t;
}

}  // namespace

TEST_CASE("pure timers fire in deadline order") {
  auto base = make_test_base();
  std::vector<int> order;
  ev::Event t30(*base, -1, 0, [&](int, short what) {
    CHECK(what == ev::kTimeout);
    order.push_back(30);
  });
  ev::Event t10(*base, -1, 0, [&](int, short) { order.push_back(10); });
  ev::Event t20(*base, -1, 0, [&](int, short) { order.push_back(20); });
  t30.add(30ms);
  t10.add(10ms);
  t20.add(20ms);
  CHECK(base->event_count() == 3);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<int>{10, 20, 30});
}

TEST_CASE("a timer does not fire early") {
  auto base = make_test_base();
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point fired{};
  ev::Event timer(*base, -1, 0, [&](int, short) { fired = std::chrono::steady_clock::now(); });
  timer.add(50ms);
  CHECK(base->loop() == 1);
  CHECK(fired - start >= 40ms);
}

TEST_CASE("a zero timeout fires on the next iteration") {
  auto base = make_test_base();
  int fired = 0;
  ev::Event timer(*base, -1, 0, [&](int, short) { ++fired; });
  timer.add(0ms);
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);
  CHECK(fired == 1);
}

TEST_CASE("adding a pending timer again reschedules it; deleting cancels it") {
  auto base = make_test_base();
  std::vector<char> order;
  ev::Event slow(*base, -1, 0, [&](int, short) { order.push_back('s'); });
  ev::Event cancelled(*base, -1, 0, [&](int, short) { order.push_back('c'); });
  ev::Event canceller(*base, -1, 0, [&](int, short) {
    order.push_back('k');
    cancelled.del();
  });
  slow.add(1h);
  slow.add(5ms);  // would make the test hang if the first deadline stayed
  canceller.add(2ms);
  cancelled.add(30ms);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'k', 's'});
}

TEST_CASE("remove_timer on a pure timer makes it non-pending") {
  auto base = make_test_base();
  int fired = 0;
  ev::Event timer(*base, -1, 0, [&](int, short) { ++fired; });
  timer.add(1ms);
  CHECK(timer.remove_timer() == 0);
  CHECK(timer.pending(ev::kTimeout) == 0);
  CHECK(base->event_count() == 0);
  CHECK(base->loop() == 1);
  CHECK(fired == 0);
}

TEST_CASE("Duration::max() means never, without overflow") {
  auto base = make_test_base();
  int fired = 0;
  ev::Event never(*base, -1, ev::kPersist, [&](int, short) { ++fired; });
  REQUIRE(never.add(ev::Duration::max()) == 0);
  CHECK(expiry(never) > std::chrono::steady_clock::now() + 24h * 365 * 100);
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);
  CHECK(fired == 0);
  never.activate(ev::kTimeout);  // the persistent reschedule must not overflow either
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);
  CHECK(fired == 1);
  CHECK(expiry(never) > std::chrono::steady_clock::now() + 24h * 365 * 100);
  ev::CommonTimeout common = base->init_common_timeout(ev::Duration::max());
  ev::Event other(*base, -1, 0, [&](int, short) { ++fired; });
  REQUIRE(other.add(common) == 0);
  CHECK(base->loop(ev::EventBase::kLoopNonblock) == 0);
  CHECK(fired == 1);
}

TEST_CASE("many timers with random deadlines fire in deadline order; deleted ones never") {
  constexpr int kCount = 300;
  auto base = make_test_base();
  std::vector<ev::Event> timers(kCount);
  std::vector<ev::TimePoint> deadline(kCount);
  std::vector<ev::TimePoint> fired;
  std::vector<int> fired_ids;
  std::uint32_t seed = 12345;
  auto random_us = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return ev::Duration((seed >> 8) % 30000);
  };
  for (int i = 0; i < kCount; ++i) {
    timers[static_cast<std::size_t>(i)].assign(*base, -1, 0, [&, i](int, short) {
      fired.push_back(deadline[static_cast<std::size_t>(i)]);
      fired_ids.push_back(i);
    });
    REQUIRE(timers[static_cast<std::size_t>(i)].add(random_us()) == 0);
  }
  for (int i = 0; i < kCount; i += 3) timers[static_cast<std::size_t>(i)].del();
  for (int i = 1; i < kCount; i += 7)  // moved
    if (i % 3 != 0) timers[static_cast<std::size_t>(i)].add(random_us());
  for (int i = 0; i < kCount; ++i)
    if (i % 3 != 0) deadline[static_cast<std::size_t>(i)] = expiry(timers[static_cast<std::size_t>(i)]);
  CHECK(base->event_count() == kCount - kCount / 3);
  CHECK(base->loop() == 1);
  CHECK(fired_ids.size() == static_cast<std::size_t>(kCount - kCount / 3));
  for (int id : fired_ids) CHECK(id % 3 != 0);
  CHECK(std::is_sorted(fired.begin(), fired.end()));
}

// Each tick's next deadline is computed from the previous deadline, not from
// when the callback ran, so slow callbacks do not push the timer back.
TEST_CASE("a persistent timer does not drift") {
  constexpr auto kInterval = 20ms;
  constexpr int kTicks = 10;
  auto base = make_test_base();
  std::vector<ev::TimePoint> deadlines;
  std::vector<ev::TimePoint> ran_at;
  ev::Event tick;
  tick.assign(*base, -1, ev::kPersist, [&](int, short what) {
    CHECK(what == ev::kTimeout);
    ran_at.push_back(base->now());
    deadlines.push_back(expiry(tick));  // already rescheduled
    spin_for(3ms);                      // a slow callback must not shift the schedule
    if (deadlines.size() == kTicks) tick.del();
  });
  REQUIRE(tick.add(kInterval) == 0);
  const ev::TimePoint start = expiry(tick) - kInterval;
  CHECK(base->loop() == 1);
  REQUIRE(deadlines.size() == kTicks);

  int exact = 0;
  ev::TimePoint previous = start + kInterval;  // the first tick's deadline
  for (int n = 0; n < kTicks; ++n) {
    CAPTURE(n);
    auto step = deadlines[static_cast<std::size_t>(n)] - previous;
    CHECK(step >= kInterval);
    CHECK(step % kInterval == ev::Duration(0));  // on the grid start + k * interval
    CHECK(ran_at[static_cast<std::size_t>(n)] >= previous);  // never early
    if (step == kInterval) ++exact;
    previous = deadlines[static_cast<std::size_t>(n)];
  }
  // Only a loop stalled for more than a whole period skips one.
  WARN(exact == kTicks);
  if (exact == kTicks) CHECK(deadlines.back() == start + (kTicks + 1) * kInterval);
}

TEST_CASE("a persistent timer that falls behind skips missed periods and keeps its phase") {
  constexpr auto kInterval = 10ms;
  auto base = make_test_base();
  int ticks = 0;
  ev::TimePoint after_stall{}, now_after_stall{};
  ev::Event tick;
  tick.assign(*base, -1, ev::kPersist, [&](int, short) {
    ++ticks;
    if (ticks == 1) spin_for(35ms);
    if (ticks == 2) {
      after_stall = expiry(tick);
      now_after_stall = base->now();
      tick.del();
    }
  });
  tick.add(kInterval);
  const ev::TimePoint start = expiry(tick) - kInterval;
  CHECK(base->loop() == 1);
  CHECK(ticks == 2);
  CHECK(after_stall > now_after_stall);                            // in the future,
  CHECK((after_stall - start) % kInterval == ev::Duration(0));     // on the grid,
  CHECK(after_stall - start >= 4 * kInterval);                     // with missed periods skipped
}

TEST_CASE("common timeouts: one index per duration") {
  auto base = make_test_base();
  ev::CommonTimeout a = base->init_common_timeout(20ms);
  ev::CommonTimeout b = base->init_common_timeout(20ms);
  ev::CommonTimeout c = base->init_common_timeout(30ms);
  CHECK(a.index >= 0);
  CHECK(a.duration == 20ms);
  CHECK(a.index == b.index);
  CHECK(c.index != a.index);
  CHECK(c.duration == 30ms);
}

TEST_CASE("common timeouts: 1000 events fire in order, del() removes them, heap timers interleave") {
  constexpr int kCount = 1000;
  auto base = make_test_base();
  ev::CommonTimeout common = base->init_common_timeout(20ms);
  std::vector<int> fired;
  std::vector<ev::Event> events(kCount);
  ev::Event before(*base, -1, 0, [&](int, short) { fired.push_back(-10); });
  before.add(5ms);
  auto start = std::chrono::time_point_cast<ev::Duration>(std::chrono::steady_clock::now());
  for (int i = 0; i < kCount; ++i) {
    events[static_cast<std::size_t>(i)].assign(*base, -1, 0, [&fired, i](int, short what) {
      CHECK(what == ev::kTimeout);
      fired.push_back(i);
    });
    REQUIRE(events[static_cast<std::size_t>(i)].add(common) == 0);
  }
  ev::Event after(*base, -1, 0, [&](int, short) { fired.push_back(-40); });
  after.add(60ms);
  CHECK(base->event_count() == kCount + 2);

  auto end = std::chrono::steady_clock::now();
  ev::TimePoint first = expiry(events[0]);
  CHECK(first >= start + 20ms);
  CHECK(first <= end + 20ms);
  CHECK(expiry(events[kCount - 1]) >= first);

  for (int i = 0; i < kCount; i += 10) events[static_cast<std::size_t>(i)].del();
  CHECK(base->event_count() == kCount + 2 - kCount / 10);

  CHECK(base->loop() == 1);
  REQUIRE(fired.size() == kCount - kCount / 10 + 2);
  CHECK(fired.front() == -10);
  CHECK(fired.back() == -40);
  std::vector<int> expected;
  for (int i = 0; i < kCount; ++i)
    if (i % 10 != 0) expected.push_back(i);
  CHECK(std::vector<int>(fired.begin() + 1, fired.end() - 1) == expected);
}

TEST_CASE("common timeouts: re-adding moves an event to the back, deleting the head keeps the rest") {
  auto base = make_test_base();
  ev::CommonTimeout common = base->init_common_timeout(10ms);
  std::vector<char> order;
  ev::Event a(*base, -1, 0, [&](int, short) { order.push_back('a'); });
  ev::Event b(*base, -1, 0, [&](int, short) { order.push_back('b'); });
  ev::Event c(*base, -1, 0, [&](int, short) { order.push_back('c'); });
  a.add(common);
  b.add(common);
  c.add(common);
  spin_for(1ms);
  a.add(common);  // now after c
  b.del();        // the head goes; c becomes the head
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'c', 'a'});

  // An event can leave a common queue for the heap and back.
  order.clear();
  a.add(common);
  a.add(5ms);
  b.add(common);
  b.remove_timer();
  CHECK(b.pending(ev::kTimeout) == 0);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'a'});
}

TEST_CASE("common timeouts: a persistent event keeps an exact period") {
  constexpr auto kInterval = 10ms;
  auto base = make_test_base();
  ev::CommonTimeout common = base->init_common_timeout(kInterval);
  std::vector<ev::TimePoint> deadlines;
  ev::Event tick;
  tick.assign(*base, -1, ev::kPersist, [&](int, short) {
    deadlines.push_back(expiry(tick));
    if (deadlines.size() == 5) tick.del();
  });
  tick.add(common);
  ev::TimePoint previous = expiry(tick);
  CHECK(base->loop() == 1);
  REQUIRE(deadlines.size() == 5);
  for (ev::TimePoint d : deadlines) {
    CHECK(d - previous >= kInterval);
    CHECK((d - previous) % kInterval == ev::Duration(0));
    previous = d;
  }
}

TEST_CASE("a CommonTimeout that is not from this base works as an ordinary timeout") {
  auto base = make_test_base();
  auto other = make_test_base();
  other->init_common_timeout(1s);
  ev::CommonTimeout foreign = other->init_common_timeout(3ms);
  ev::CommonTimeout unregistered{4ms, -1};
  int fired = 0;
  ev::Event a(*base, -1, 0, [&](int, short) { ++fired; });
  ev::Event b(*base, -1, 0, [&](int, short) { ++fired; });
  CHECK(a.add(foreign) == 0);
  CHECK(b.add(unregistered) == 0);
  CHECK(base->loop() == 1);
  CHECK(fired == 2);
}

TEST_CASE("many distinct common timeouts fall back to the heap beyond the limit") {
  auto base = make_test_base();
  ev::CommonTimeout last{};
  for (int i = 1; i <= 300; ++i) last = base->init_common_timeout(ev::Duration(i));
  CHECK(last.index == -1);
  int fired = 0;
  ev::Event ev(*base, -1, 0, [&](int, short) { ++fired; });
  CHECK(ev.add(last) == 0);
  CHECK(base->loop() == 1);
  CHECK(fired == 1);
}
