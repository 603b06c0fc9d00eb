// Section 四: signal events. Callbacks run in the loop (never in the
// handler), several events may watch one signal, and a signal delivered n
// times before the loop looks is reported with ncalls = n.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "test_base.h"

namespace {

using Loop = ev::EventBase;

using Handler = void (*)(int);

Handler current_handler(int sig) {
  struct sigaction sa {};
  ::sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

}  // namespace

TEST_CASE("a raised signal runs its callback in the loop, not in the handler") {
  auto base = make_test_base();
  bool raise_returned = false;
  int calls = 0;
  ev::Event sig;
  sig.assign(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int fd, short what) {
    CHECK(fd == SIGUSR1);
    CHECK(what == ev::kSignal);
    CHECK(raise_returned);                  // the handler did not call us
    CHECK(base->running_event() == &sig);   // the loop did
    ++calls;
    sig.del();
  });
  REQUIRE(sig.add() == 0);
  CHECK(sig.pending(ev::kSignal) == ev::kSignal);
  REQUIRE(::raise(SIGUSR1) == 0);
  raise_returned = true;
  CHECK(calls == 0);
  CHECK(base->loop() == 1);  // the signal plumbing does not keep the loop alive
  CHECK(calls == 1);
}

TEST_CASE("two events on the same signal both fire") {
  auto base = make_test_base();
  int a_calls = 0, b_calls = 0;
  ev::Event a(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int, short) { ++a_calls; });
  ev::Event b(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int, short) { ++b_calls; });
  REQUIRE(a.add() == 0);
  REQUIRE(b.add() == 0);
  ::raise(SIGUSR1);
  CHECK(base->loop(Loop::kLoopOnce) == 0);
  CHECK(a_calls == 1);
  CHECK(b_calls == 1);

  // With one of them deleted, the other still receives the signal.
  a.del();
  ::raise(SIGUSR1);
  CHECK(base->loop(Loop::kLoopOnce) == 0);
  CHECK(a_calls == 1);
  CHECK(b_calls == 2);
}

TEST_CASE("a signal raised twice before the loop runs is delivered with ncalls = 2") {
  auto base = make_test_base();
  int calls = 0;
  ev::Event sig(*base, SIGUSR2, ev::kSignal | ev::kPersist, [&](int, short) { ++calls; });
  REQUIRE(sig.add() == 0);
  ::raise(SIGUSR2);
  ::raise(SIGUSR2);
  CHECK(base->loop(Loop::kLoopOnce) == 0);
  CHECK(calls == 2);
}

TEST_CASE("a low-priority signal event runs in the same NONBLOCK pass as the signal plumbing") {
  auto base = make_test_base();
  REQUIRE(base->priority_init(3) == 0);
  int calls = 0;
  ev::Event sig(*base, SIGUSR2, ev::kSignal | ev::kPersist, [&](int, short) { ++calls; });
  REQUIRE(sig.set_priority(2) == 0);
  REQUIRE(sig.add() == 0);
  ::raise(SIGUSR2);
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(calls == 1);
}

TEST_CASE("deleting a signal event or breaking the loop stops the remaining calls") {
  auto base = make_test_base();
  int calls = 0;
  bool use_break = false;
  ev::Event sig;
  sig.assign(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int, short) {
    ++calls;
    if (use_break) base->loopbreak();
    else sig.del();
  });
  SUBCASE("del") {
    REQUIRE(sig.add() == 0);
    for (int i = 0; i < 3; ++i) ::raise(SIGUSR1);
    CHECK(base->loop() == 1);
    CHECK(calls == 1);
  }
  SUBCASE("loopbreak") {
    use_break = true;
    REQUIRE(sig.add() == 0);
    for (int i = 0; i < 3; ++i) ::raise(SIGUSR1);
    CHECK(base->loop() == 0);
    CHECK(base->got_break());
    CHECK(calls == 1);
  }
}

TEST_CASE("a signal arriving while the loop waits wakes it") {
  auto base = make_test_base();
  int calls = 0;
  ev::Event sig;
  sig.assign(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int, short) {
    ++calls;
    sig.del();
  });
  REQUIRE(sig.add() == 0);
  SUBCASE("from a timer in the same loop") {
    ev::Event timer(*base, -1, 0, [&](int, short) { ::raise(SIGUSR1); });
    timer.add(5ms);
    CHECK(base->loop() == 1);
  }
  SUBCASE("from another thread") {
    std::atomic<bool> waiting{false};
    int watcher = base->add_prepare_watcher([&](ev::Duration) { waiting = true; });
    std::thread other([&] {
      while (!waiting) std::this_thread::sleep_for(1ms);
      ::kill(::getpid(), SIGUSR1);
    });
    CHECK(base->loop() == 1);
    other.join();
    base->remove_watcher(watcher);
  }
  CHECK(calls == 1);
}

TEST_CASE("the previous handler comes back when the last signal event goes") {
  auto base = make_test_base();
  auto before = current_handler(SIGUSR1);
  {
    ev::Event a(*base, SIGUSR1, ev::kSignal | ev::kPersist, [](int, short) {});
    ev::Event b(*base, SIGUSR1, ev::kSignal | ev::kPersist, [](int, short) {});
    REQUIRE(a.add() == 0);
    REQUIRE(b.add() == 0);
    CHECK((current_handler(SIGUSR1) != before));
    a.del();
    CHECK((current_handler(SIGUSR1) != before));  // b still watches
  }
  CHECK((current_handler(SIGUSR1) == before));

  // Also when the base goes away with the event still pending.
  auto before2 = current_handler(SIGUSR2);
  ev::Event c;
  {
    auto other = make_test_base();
    c.assign(*other, SIGUSR2, ev::kSignal | ev::kPersist, [](int, short) {});
    REQUIRE(c.add() == 0);
    CHECK((current_handler(SIGUSR2) != before2));
  }
  CHECK((current_handler(SIGUSR2) == before2));
  CHECK(c.pending(ev::kSignal) == 0);
}

TEST_CASE("signal events are counted and dumped like other events") {
  auto base = make_test_base();
  ev::Event sig(*base, SIGUSR2, ev::kSignal | ev::kPersist, [](int, short) {});
  REQUIRE(sig.add() == 0);
  CHECK(base->event_count() == 1);
  std::string dump = base->dump_events();
  CHECK(dump.find("Signal") != std::string::npos);
  int seen = 0;
  base->foreach_event([&](const ev::Event& e) {
    seen += &e == &sig;
    return 0;
  });
  CHECK(seen == 1);
  sig.del();
  CHECK(base->event_count() == 0);
}
