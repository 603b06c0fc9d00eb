// Section 三: running the loop (flags, return values), stopping it,
// cached time, dump / iteration, watchers, cross-thread work and the
// max-dispatch limits.
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/event_base.h"
#include "engine/core/log.h"
#include "test_base.h"

namespace {

using Loop = ev::EventBase;

std::string pointer_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

TEST_CASE("loop returns 1 when no events are pending or active") {
  auto base = make_test_base();
  CHECK(base->loop() == 1);
  CHECK(base->dispatch() == 1);
  CHECK(base->loop(Loop::kLoopOnce) == 1);
  CHECK(base->loop(Loop::kLoopNonblock) == 1);
  CHECK_FALSE(base->got_exit());
  CHECK_FALSE(base->got_break());
  CHECK_FALSE(base->running());
}

TEST_CASE("NO_EXIT_ON_EMPTY keeps an empty loop running") {
  auto base = make_test_base();
  // With NONBLOCK it makes one pass and returns 0 instead of 1.
  CHECK(base->loop(Loop::kLoopNoExitOnEmpty | Loop::kLoopNonblock) == 0);
}

TEST_CASE("ONCE waits for the first event, runs it and returns 0") {
  auto base = make_test_base();
  std::vector<int> fired;
  ev::Event soon(*base, -1, 0, [&](int, short) { fired.push_back(1); });
  ev::Event later(*base, -1, 0, [&](int, short) { fired.push_back(2); });
  soon.add(5ms);
  later.add(10s);
  CHECK(base->loop(Loop::kLoopOnce) == 0);
  CHECK(fired == std::vector<int>{1});
  CHECK(later.pending(ev::kTimeout));
  CHECK_FALSE(base->got_exit());
}

TEST_CASE("NONBLOCK runs what is ready and does not wait") {
  auto base = make_test_base();
  SocketPair sp;
  int timer_calls = 0, read_calls = 0;
  ev::Event timer(*base, -1, 0, [&](int, short) { ++timer_calls; });
  ev::Event reader(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int fd, short) {
    ++read_calls;
    read_available(fd);
  });
  timer.add(10s);
  reader.add();
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(read_calls == 0);
  write_text(sp.b.get(), "ready");
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(read_calls == 1);
  CHECK(timer_calls == 0);
}

TEST_CASE("re-entering a running loop fails with -1") {
  auto base = make_test_base();
  ev::set_log_callback([](ev::Severity, const char*) {});
  int inner = 0;
  ev::Event ev(*base, -1, 0, [&](int, short) { inner = base->loop(); });
  ev.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  ev::set_log_callback(nullptr);
  CHECK(inner == -1);
}

TEST_CASE("loopexit lets the rest of the round run; loopbreak stops after the current callback") {
  auto base = make_test_base();
  SocketPair sp;
  std::vector<int> order;
  bool exit_mode = true;
  ev::Event late_reader(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int, short) { order.push_back(9); });
  ev::Event a(*base, -1, 0, [&](int, short) {
    order.push_back(1);
    if (exit_mode) CHECK(base->loopexit() == 0);
    else CHECK(base->loopbreak() == 0);
  });
  ev::Event b(*base, -1, 0, [&](int, short) {
    order.push_back(2);
    write_text(sp.b.get(), "x");  // becomes ready only in the next round
  });
  ev::Event c(*base, -1, 0, [&](int, short) { order.push_back(3); });
  late_reader.add();

  SUBCASE("loopexit") {
    a.activate(ev::kTimeout);
    b.activate(ev::kTimeout);
    c.activate(ev::kTimeout);
    CHECK(base->loop() == 0);
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(base->got_exit());
    CHECK_FALSE(base->got_break());
  }
  SUBCASE("loopbreak") {
    exit_mode = false;
    a.activate(ev::kTimeout);
    b.activate(ev::kTimeout);
    c.activate(ev::kTimeout);
    CHECK(base->loop() == 0);
    CHECK(order == std::vector<int>{1});
    CHECK(base->got_break());
    CHECK_FALSE(base->got_exit());
    CHECK(b.pending(ev::kTimeout) == ev::kTimeout);  // still active
    CHECK(c.pending(ev::kTimeout) == ev::kTimeout);
    // The next loop resets the flags and runs what is left.
    late_reader.del();
    CHECK(base->loop() == 1);
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK_FALSE(base->got_break());
  }
}

TEST_CASE("loopexit before the loop runs exactly one round") {
  auto base = make_test_base();
  SocketPair sp;
  int reads = 0;
  ev::Event reader(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int, short) { ++reads; });
  reader.add();
  write_text(sp.b.get(), "never drained");  // would fire forever
  CHECK(base->loopexit() == 0);
  CHECK(base->loop() == 0);
  CHECK(reads == 1);
  CHECK(base->got_exit());
  // The exit applied to that run only.
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(reads == 2);
  CHECK_FALSE(base->got_exit());
}

TEST_CASE("loopbreak before the loop has no effect") {
  auto base = make_test_base();
  int fired = 0;
  ev::Event timer(*base, -1, 0, [&](int, short) { ++fired; });
  timer.add(2ms);
  CHECK(base->loopbreak() == 0);
  CHECK(base->loop() == 1);
  CHECK(fired == 1);
  CHECK_FALSE(base->got_break());
}

TEST_CASE("loopexit with a delay") {
  auto base = make_test_base();
  int ticks = 0;
  ev::Event tick(*base, -1, ev::kPersist, [&](int, short) { ++ticks; });
  tick.add(5ms);
  auto start = std::chrono::steady_clock::now();
  CHECK(base->loopexit(50ms) == 0);
  CHECK(base->loop() == 0);
  CHECK(std::chrono::steady_clock::now() - start >= 40ms);
  CHECK(base->got_exit());
  CHECK(ticks >= 1);
  CHECK(tick.pending(ev::kTimeout));
}

TEST_CASE("cached time is stable within a callback until update_cache_time") {
  auto base = make_test_base();
  ev::TimePoint first{}, second{}, updated{};
  timeval tv1{}, tv2{};
  ev::Event ev(*base, -1, 0, [&](int, short) {
    first = base->now();
    base->gettimeofday_cached(&tv1);
    spin_for(3ms);
    second = base->now();
    base->gettimeofday_cached(&tv2);
    CHECK(base->update_cache_time() == 0);
    updated = base->now();
  });
  ev.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(first == second);
  CHECK(tv1.tv_sec == tv2.tv_sec);
  CHECK(tv1.tv_usec == tv2.tv_usec);
  CHECK(updated - first >= 3ms);

  // Outside the loop there is no cache: now() is the clock.
  auto outside = base->now();
  spin_for(1ms);
  CHECK(base->now() - outside >= 1ms);
  CHECK(base->update_cache_time() == 0);  // no effect, no error
}

TEST_CASE("gettimeofday_cached is close to the wall clock") {
  auto base = make_test_base();
  timeval cached{}, real{};
  ev::Event ev(*base, -1, 0, [&](int, short) {
    base->gettimeofday_cached(&cached);
    ::gettimeofday(&real, nullptr);
  });
  ev.activate(ev::kTimeout);
  base->loop();
  long long diff_us = (real.tv_sec - cached.tv_sec) * 1000000LL + (real.tv_usec - cached.tv_usec);
  CHECK(diff_us >= -1000);  // one clock-offset read of slack
  CHECK(diff_us < 1000000);
  CHECK(cached.tv_usec >= 0);
  CHECK(cached.tv_usec < 1000000);
}

TEST_CASE("kNoCacheTime: now() reads the clock inside callbacks") {
  ev::Config cfg;
  cfg.set_flag(ev::Config::kNoCacheTime);
  auto base = make_test_base(cfg);
  ev::TimePoint first{}, second{};
  ev::Event ev(*base, -1, 0, [&](int, short) {
    first = base->now();
    spin_for(2ms);
    second = base->now();
  });
  ev.activate(ev::kTimeout);
  base->loop();
  CHECK(second - first >= 2ms);
}

TEST_CASE("dump_events lists every event") {
  auto base = make_test_base();
  SocketPair sp;
  auto noop = [](int, short) {};
  ev::Event reader(*base, sp.a.get(), ev::kRead | ev::kPersist, noop);
  ev::Event writer(*base, sp.b.get(), ev::kWrite, noop);
  ev::Event timer(*base, -1, 0, noop);
  ev::Event active(*base, -1, 0, noop);
  ev::Event idle(*base, -1, 0, noop);
  reader.add();
  writer.add(30s);
  timer.add(10s);
  active.activate(ev::kTimeout);
  std::string dump = base->dump_events();
  CAPTURE(dump);
  for (const ev::Event* e : {&reader, &writer, &timer, &active})
    CHECK(dump.find(pointer_text(e)) != std::string::npos);
  CHECK(dump.find(pointer_text(&idle)) == std::string::npos);
  CHECK(dump.find(base->method()) != std::string::npos);
  CHECK(dump.find("Read") != std::string::npos);
  CHECK(dump.find("Write") != std::string::npos);
  CHECK(dump.find("Persist") != std::string::npos);
  CHECK(dump.find("Timeout=") != std::string::npos);
  CHECK(dump.find("Active") != std::string::npos);

  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  base->dump_events(f);
  std::rewind(f);
  std::string from_file;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) from_file.append(buf, n);
  std::fclose(f);
  CHECK(from_file.find(pointer_text(&reader)) != std::string::npos);
  CHECK(from_file.find(pointer_text(&active)) != std::string::npos);
}

TEST_CASE("foreach_event visits each added or active event once and stops on non-zero") {
  auto base = make_test_base();
  SocketPair sp;
  auto noop = [](int, short) {};
  ev::Event reader(*base, sp.a.get(), ev::kRead, noop);
  ev::Event both(*base, sp.b.get(), ev::kWrite, noop);  // added, with a timeout, and active
  ev::Event timer(*base, -1, 0, noop);
  ev::Event active(*base, -1, 0, noop);
  ev::Event common(*base, -1, 0, noop);
  ev::Event idle(*base, -1, 0, noop);
  reader.add();
  both.add(10s);
  both.activate(ev::kWrite);
  timer.add(10s);
  active.activate(ev::kTimeout);
  common.add(base->init_common_timeout(10s));

  std::vector<const ev::Event*> seen;
  CHECK(base->foreach_event([&](const ev::Event& e) {
    seen.push_back(&e);
    return 0;
  }) == 0);
  CHECK(seen.size() == 5);
  for (const ev::Event* e : {&reader, &both, &timer, &active, &common})
    CHECK(std::count(seen.begin(), seen.end(), e) == 1);
  CHECK(std::count(seen.begin(), seen.end(), &idle) == 0);

  int visits = 0;
  CHECK(base->foreach_event([&](const ev::Event&) { return ++visits == 2 ? 7 : 0; }) == 7);
  CHECK(visits == 2);
  CHECK(base->event_count() == 5);
  CHECK(base->active_count() == 2);
}

TEST_CASE("prepare and check watchers run around each wait") {
  auto base = make_test_base();
  std::vector<std::string> calls;
  std::vector<ev::Duration> timeouts;
  int prepare = base->add_prepare_watcher([&](ev::Duration timeout) {
    calls.push_back("prepare");
    timeouts.push_back(timeout);
  });
  int check = base->add_check_watcher([&] { calls.push_back("check"); });
  CHECK(prepare != check);
  ev::Event timer(*base, -1, 0, [&](int, short) { calls.push_back("timer"); });
  timer.add(100ms);
  CHECK(base->loop() == 1);
  REQUIRE(calls.size() >= 3);
  CHECK(calls.front() == "prepare");
  CHECK(calls.back() == "timer");
  for (std::size_t i = 0; i + 1 < calls.size(); i += 2) {
    CHECK(calls[i] == "prepare");
    CHECK(calls[i + 1] == "check");
  }
  // The first wait is for the timer: about 100ms, never more.
  REQUIRE_FALSE(timeouts.empty());
  CHECK(timeouts.front() > 0ms);
  CHECK(timeouts.front() <= 100ms);

  // NONBLOCK polls: the watcher sees a zero timeout.
  timeouts.clear();
  base->loop(Loop::kLoopNonblock | Loop::kLoopNoExitOnEmpty);
  REQUIRE(timeouts.size() == 1);
  CHECK(timeouts[0] == 0ms);

  base->remove_watcher(prepare);
  base->remove_watcher(check);
  calls.clear();
  base->loop(Loop::kLoopNonblock | Loop::kLoopNoExitOnEmpty);
  CHECK(calls.empty());
}

TEST_CASE("run_in_loop from another thread wakes a blocked loop and runs on the loop's thread") {
  auto base = make_test_base();
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> ran;
  std::thread::id ran_on{};
  std::atomic<bool> started{false};
  int watcher = base->add_prepare_watcher([&](ev::Duration timeout) {
    CHECK(timeout < 0ms);  // blocked with no timeout: only a wake-up can end the wait
    started = true;
  });
  std::thread other([&] {
    while (!started) std::this_thread::sleep_for(1ms);
    for (int i = 0; i < 100; ++i) base->run_in_loop([&ran, i] { ran.push_back(i); });
    base->run_in_loop([&] {
      ran_on = std::this_thread::get_id();
      base->loopbreak();
    });
  });
  int rc = base->loop(Loop::kLoopNoExitOnEmpty);
  other.join();
  base->remove_watcher(watcher);
  CHECK(rc == 0);
  CHECK(base->got_break());
  CHECK(ran_on == loop_thread);
  REQUIRE(ran.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(ran[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("wake from another thread ends a blocking ONCE loop") {
  auto base = make_test_base();
  std::atomic<bool> started{false};
  int watcher = base->add_prepare_watcher([&](ev::Duration) { started = true; });
  std::thread other([&] {
    while (!started) std::this_thread::sleep_for(1ms);
    base->wake();
  });
  CHECK(base->loop(Loop::kLoopNoExitOnEmpty | Loop::kLoopOnce) == 0);
  other.join();
  base->remove_watcher(watcher);
}

TEST_CASE("run_in_loop before the loop runs in its first round") {
  auto base = make_test_base();
  int ran = 0;
  base->run_in_loop([&] { ++ran; });
  CHECK(base->loop(Loop::kLoopNonblock | Loop::kLoopNoExitOnEmpty) == 0);
  CHECK(ran == 1);
}

TEST_CASE("loopcontinue re-checks for higher-priority events before the rest of the queue") {
  auto base = make_test_base();
  REQUIRE(base->priority_init(2) == 0);
  std::vector<char> order;
  bool use_continue = true;
  ev::Event urgent(*base, -1, 0, [&](int, short) { order.push_back('U'); });
  urgent.set_priority(0);
  ev::Event a(*base, -1, 0, [&](int, short) {
    order.push_back('A');
    urgent.activate(ev::kTimeout);
    if (use_continue) base->loopcontinue();
  });
  ev::Event b(*base, -1, 0, [&](int, short) { order.push_back('B'); });
  a.set_priority(1);
  b.set_priority(1);

  a.activate(ev::kTimeout);
  b.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'A', 'U', 'B'});

  order.clear();
  use_continue = false;
  a.activate(ev::kTimeout);
  b.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'A', 'B', 'U'});
}

// A low-priority flood of events that re-activate themselves never empties
// its queue. With max_callbacks=1 the loop checks timers after every one of
// them; without a limit the timer waits until the flood stops.
TEST_CASE("max dispatch callbacks keeps a flood from starving a timer") {
  constexpr int kFloodLimit = 300;
  constexpr int kTimerAddedAt = 5;
  auto run = [&](const ev::Config& cfg) {
    auto base = make_test_base(cfg);
    REQUIRE(base->priority_init(2) == 0);
    int flood_calls = 0, flood_at_timer = -1;
    ev::Event timer(*base, -1, 0, [&](int, short) { flood_at_timer = flood_calls; });
    timer.set_priority(0);
    ev::Event flood[3];
    for (ev::Event& f : flood) {
      f.assign(*base, -1, ev::kPersist, [&](int, short) {
        ++flood_calls;
        if (flood_calls == kTimerAddedAt) timer.add(0ms);
        if (flood_calls < kFloodLimit) base->running_event()->activate(ev::kTimeout);
      });
      f.set_priority(1);
      f.activate(ev::kTimeout);
    }
    base->loop();
    return flood_at_timer;
  };
  ev::Config limited;
  limited.set_max_dispatch_interval(ev::Duration(-1), 1, 1);
  CHECK(run(limited) == kTimerAddedAt);
  CHECK(run(ev::Config{}) >= kFloodLimit);

  ev::Config by_time;  // a zero interval: every callback uses it up
  by_time.set_max_dispatch_interval(0us, -1, 0);
  CHECK(run(by_time) == kTimerAddedAt);

  ev::Config above;  // the limit applies from priority 2 only: the flood is not limited
  above.set_max_dispatch_interval(ev::Duration(-1), 1, 2);
  CHECK(run(above) >= kFloodLimit);
}
