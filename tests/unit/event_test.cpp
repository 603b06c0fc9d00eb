// Section 四: I/O events (READ, WRITE, PERSIST, ET, TIMEOUT, CLOSED), the
// event as its own argument, embedded events, pending(), priorities,
// once(), manual activation, running_event() and deletion / destruction.
#include "engine/core/event.h"

#include <sys/socket.h>

#include <csignal>

#include <memory>
#include <string>
#include <vector>

#include "engine/core/event_base.h"
#include "engine/core/log.h"
#include "test_base.h"

namespace {

using Loop = ev::EventBase;

void noop_cb(int, short, void*) {}

}  // namespace

TEST_CASE("READ and WRITE on a socketpair") {
  auto base = make_test_base();
  SocketPair sp;
  Record rd, wr;
  ev::Event reader(*base, sp.a.get(), ev::kRead, record_cb, &rd);
  ev::Event writer(*base, sp.b.get(), ev::kWrite, record_cb, &wr);
  REQUIRE(reader.add() == 0);
  REQUIRE(writer.add() == 0);
  CHECK(base->event_count() == 2);

  CHECK(base->loop(Loop::kLoopOnce) == 0);  // only the writer is ready
  CHECK(wr.calls == 1);
  CHECK(wr.fd == sp.b.get());
  CHECK(wr.what == ev::kWrite);
  CHECK(rd.calls == 0);

  write_text(sp.b.get(), "hello");
  CHECK(base->loop() == 1);
  CHECK(rd.calls == 1);
  CHECK(rd.fd == sp.a.get());
  CHECK(rd.what == ev::kRead);
  CHECK(read_available(sp.a.get()) == "hello");
}

TEST_CASE("several events on the same fd all fire") {
  auto base = make_test_base();
  SocketPair sp;
  Record r1, r2, w;
  ev::Event read1(*base, sp.a.get(), ev::kRead, record_cb, &r1);
  ev::Event read2(*base, sp.a.get(), ev::kRead, record_cb, &r2);
  ev::Event write(*base, sp.a.get(), ev::kWrite, record_cb, &w);
  read1.add();
  read2.add();
  write.add();
  write_text(sp.b.get(), "x");
  CHECK(base->loop() == 1);
  CHECK(r1.calls == 1);
  CHECK(r2.calls == 1);
  CHECK(w.calls == 1);
  CHECK(w.what == ev::kWrite);
}

TEST_CASE("one-shot events fire once and stop being pending; persistent ones stay") {
  auto base = make_test_base();
  SocketPair sp;
  write_text(sp.b.get(), "never drained");
  Record once_rec;
  ev::Event once(*base, sp.a.get(), ev::kRead, record_cb, &once_rec);
  int persist_calls = 0;
  ev::Event persist(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int, short) {
    CHECK(base->running_event()->pending(ev::kRead) == ev::kRead);
    if (++persist_calls == 3) base->running_event()->del();
  });
  once.add();
  persist.add();
  CHECK(base->loop() == 1);
  CHECK(once_rec.calls == 1);
  CHECK(once.pending(ev::kRead) == 0);
  CHECK(persist_calls == 3);
  CHECK(persist.pending(ev::kRead) == 0);

  // A one-shot event may add itself again from its callback.
  int again = 0;
  once.assign(*base, sp.a.get(), ev::kRead, [&](int, short) {
    if (++again < 4) base->running_event()->add();
  });
  once.add();
  CHECK(base->loop() == 1);
  CHECK(again == 4);
}

TEST_CASE("ET fires once per new arrival; level-triggered fires while data is unread") {
  auto base = make_test_base();
  SocketPair sp;
  int edge = 0, level = 0;
  ev::Event et(*base, sp.a.get(), ev::kRead | ev::kET | ev::kPersist, [&](int, short) { ++edge; });
  ev::Event lt(*base, sp.b.get(), ev::kRead | ev::kPersist, [&](int, short) { ++level; });
  REQUIRE(et.add() == 0);
  REQUIRE(lt.add() == 0);
  write_text(sp.b.get(), "a");
  write_text(sp.a.get(), "a");
  base->loop(Loop::kLoopNonblock);
  CHECK(edge == 1);
  CHECK(level == 1);
  base->loop(Loop::kLoopNonblock);
  CHECK(level == 2);
  if (base->features() & ev::kFeatureET) {
    CHECK(edge == 1);  // nothing new arrived
    write_text(sp.b.get(), "b");
    base->loop(Loop::kLoopNonblock);
    CHECK(edge == 2);
    base->loop(Loop::kLoopNonblock);
    CHECK(edge == 2);
  } else {
    CHECK(edge == 2);  // the backend has no ET: kET is ignored
  }
}

TEST_CASE("edge- and level-triggered events cannot share an fd") {
  QuietLog quiet;
  auto base = make_test_base();
  SocketPair sp;
  ev::Event level(*base, sp.a.get(), ev::kRead, noop_cb, nullptr);
  ev::Event edge(*base, sp.a.get(), ev::kWrite | ev::kET, noop_cb, nullptr);
  REQUIRE(level.add() == 0);
  CHECK(edge.add() == -1);
  CHECK(edge.pending(ev::kWrite) == 0);
  level.del();
  CHECK(edge.add() == 0);
  CHECK(level.add() == -1);
  ev::Event edge2(*base, sp.a.get(), ev::kRead | ev::kET, noop_cb, nullptr);
  CHECK(edge2.add() == 0);
  CHECK(base->event_count() == 2);
}

TEST_CASE("TIMEOUT with READ: kTimeout when no data arrives, kRead when it does") {
  auto base = make_test_base();
  SocketPair sp;
  Record rec;
  ev::Event reader(*base, sp.a.get(), ev::kRead, record_cb, &rec);
  REQUIRE(reader.add(20ms) == 0);
  CHECK(reader.pending(ev::kRead | ev::kTimeout) == (ev::kRead | ev::kTimeout));
  CHECK(base->loop() == 1);
  CHECK(rec.calls == 1);
  CHECK(rec.what == ev::kTimeout);
  CHECK(reader.pending(ev::kRead | ev::kTimeout) == 0);

  REQUIRE(reader.add(10s) == 0);
  write_text(sp.b.get(), "data");
  CHECK(base->loop() == 1);  // the read also removed the timeout
  CHECK(rec.calls == 2);
  CHECK(rec.what == ev::kRead);
}

TEST_CASE("a persistent READ event's timeout restarts after each callback") {
  auto base = make_test_base();
  SocketPair sp;
  int reads = 0;
  ev::Event reader(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int fd, short what) {
    CHECK(what == ev::kRead);
    read_available(fd);
    ev::TimePoint expires{};
    CHECK(base->running_event()->pending(ev::kTimeout, &expires) == ev::kTimeout);
    CHECK(expires == base->now() + 10s);  // restarted from now, not from the add
    if (++reads == 2) base->running_event()->del();
  });
  REQUIRE(reader.add(10s) == 0);
  spin_for(2ms);  // so that "now" in the callback is later than the add
  write_text(sp.b.get(), "x");
  CHECK(base->loop(ev::EventBase::kLoopOnce) == 0);
  spin_for(2ms);
  write_text(sp.b.get(), "y");
  CHECK(base->loop() == 1);
  CHECK(reads == 2);
}

TEST_CASE("CLOSED reports the peer's shutdown without reading the data") {
  auto base = make_test_base();
  if (!(base->features() & ev::kFeatureEarlyClose)) {
    MESSAGE("backend ", std::string(base->method()), " has no early-close detection");
    return;
  }
  SocketPair sp;
  Record rec;
  ev::Event closed(*base, sp.a.get(), ev::kClosed, record_cb, &rec);
  REQUIRE(closed.add() == 0);
  write_text(sp.b.get(), "unread");
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(rec.calls == 0);  // data alone is not a close
  REQUIRE(::shutdown(sp.b.get(), SHUT_WR) == 0);
  CHECK(base->loop() == 1);
  CHECK(rec.calls == 1);
  CHECK(rec.what == ev::kClosed);
  CHECK(read_available(sp.a.get()) == "unread");
}

TEST_CASE("CLOSED together with READ on a peer close") {
  auto base = make_test_base();
  if (!(base->features() & ev::kFeatureEarlyClose)) return;
  SocketPair sp;
  Record rec;
  ev::Event ev(*base, sp.a.get(), ev::kRead | ev::kClosed, record_cb, &rec);
  REQUIRE(ev.add() == 0);
  sp.b.reset();
  CHECK(base->loop() == 1);
  CHECK((rec.what & ev::kClosed));
  CHECK((rec.what & ev::kRead));
}

TEST_CASE("an event can receive itself as its callback argument") {
  auto base = make_test_base();
  int calls = 0;
  static void* seen_arg;
  static int* counter;
  counter = &calls;
  auto cb = [](int, short, void* arg) {
    seen_arg = arg;
    if (++*counter == 3) static_cast<ev::Event*>(arg)->del();
  };
  ev::Event self(*base, -1, ev::kPersist, cb, ev::Event::self_cbarg());
  CHECK(self.callback_arg() == &self);
  self.add(1ms);
  CHECK(base->loop() == 1);
  CHECK(calls == 3);
  CHECK(seen_arg == &self);

  ev::Event assigned;
  assigned.assign_timer(*base, cb, ev::Event::self_cbarg());
  CHECK(assigned.callback_arg() == &assigned);
}

TEST_CASE("events embedded in a struct") {
  struct Connection {
    SocketPair sp;
    ev::Event read_event;
    ev::Event write_event;
    std::string received;
    int writes = 0;
    static void on_read(int fd, short, void* arg) {
      auto* c = static_cast<Connection*>(arg);
      c->received += read_available(fd);
      if (c->received.size() >= 4) c->read_event.del();
    }
    static void on_write(int fd, short, void* arg) {
      auto* c = static_cast<Connection*>(arg);
      write_text(fd, "ab");
      if (++c->writes == 2) c->write_event.del();
    }
  };
  auto base = make_test_base();
  Connection c;
  c.read_event.assign(*base, c.sp.a.get(), ev::kRead | ev::kPersist, Connection::on_read, &c);
  c.write_event.assign(*base, c.sp.b.get(), ev::kWrite | ev::kPersist, Connection::on_write, &c);
  c.read_event.add();
  c.write_event.add();
  CHECK(base->loop() == 1);
  CHECK(c.received == "abab");
  CHECK(c.writes == 2);
}

TEST_CASE("event accessors") {
  auto base = make_test_base();
  int arg = 0;
  ev::Event ev(*base, 7, ev::kRead | ev::kPersist, noop_cb, &arg);
  CHECK(ev.initialized());
  CHECK(ev.base() == base.get());
  CHECK(ev.fd() == 7);
  CHECK(ev.events() == (ev::kRead | ev::kPersist));
  CHECK((ev.callback() == &noop_cb));
  CHECK(ev.callback_arg() == &arg);
  ev::Event sig;
  sig.assign_signal(*base, SIGUSR1, noop_cb, nullptr);
  CHECK(sig.signal() == SIGUSR1);
  CHECK(sig.events() == (ev::kSignal | ev::kPersist));
  ev::Event timer;
  CHECK_FALSE(timer.initialized());
  timer.assign_timer(*base, noop_cb, nullptr);
  CHECK(timer.fd() == -1);
  CHECK(timer.events() == 0);
}

TEST_CASE("pending() reports what is pending and the timeout's expiry") {
  auto base = make_test_base();
  SocketPair sp;
  ev::Event ev(*base, sp.a.get(), ev::kRead | ev::kWrite, noop_cb, nullptr);
  CHECK(ev.pending(ev::kRead | ev::kWrite | ev::kTimeout) == 0);
  REQUIRE(ev.add() == 0);
  CHECK(ev.pending(ev::kRead) == ev::kRead);
  CHECK(ev.pending(ev::kRead | ev::kWrite | ev::kSignal) == (ev::kRead | ev::kWrite));
  ev::TimePoint expires{};
  CHECK(ev.pending(ev::kTimeout, &expires) == 0);
  CHECK(expires == ev::TimePoint{});

  auto before = std::chrono::time_point_cast<ev::Duration>(std::chrono::steady_clock::now());
  REQUIRE(ev.add(100ms) == 0);
  auto after = std::chrono::steady_clock::now();
  CHECK(ev.pending(ev::kTimeout | ev::kRead, &expires) == (ev::kTimeout | ev::kRead));
  CHECK(expires >= before + 100ms);
  CHECK(expires <= after + 100ms);
  // Without kTimeout in `what` the expiry is not reported.
  ev::TimePoint untouched{};
  CHECK(ev.pending(ev::kRead, &untouched) == ev::kRead);
  CHECK(untouched == ev::TimePoint{});

  // Adding a pending event again moves its timeout.
  REQUIRE(ev.add(10s) == 0);
  ev::TimePoint later{};
  ev.pending(ev::kTimeout, &later);
  CHECK(later - expires >= 9s);

  CHECK(ev.remove_timer() == 0);
  CHECK(ev.pending(ev::kTimeout | ev::kRead) == ev::kRead);
  CHECK(ev.del() == 0);
  CHECK(ev.pending(ev::kTimeout | ev::kRead | ev::kWrite) == 0);
  CHECK(ev.del() == 0);  // deleting twice is harmless
}

TEST_CASE("manual activation") {
  auto base = make_test_base();
  SocketPair sp;
  Record rec;
  ev::Event ev(*base, sp.a.get(), ev::kRead, record_cb, &rec);
  ev.activate(ev::kWrite);
  CHECK(ev.pending(ev::kWrite | ev::kRead) == ev::kWrite);  // active, not added
  CHECK(base->event_count() == 1);
  CHECK(base->loop() == 1);
  CHECK(rec.calls == 1);
  CHECK(rec.what == ev::kWrite);
  CHECK(ev.pending(ev::kRead | ev::kWrite) == 0);

  // Two activations before the loop merge into one call.
  ev.activate(ev::kRead);
  ev.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(rec.calls == 2);
  CHECK(rec.what == (ev::kRead | ev::kTimeout));

  // Signals are called ncalls times.
  int sig_calls = 0;
  ev::Event sig(*base, SIGUSR1, ev::kSignal | ev::kPersist, [&](int fd, short what) {
    CHECK(fd == SIGUSR1);
    CHECK(what == ev::kSignal);
    ++sig_calls;
  });
  sig.activate(ev::kSignal, 3);
  sig.activate(ev::kSignal, 2);
  CHECK(base->loop() == 1);
  CHECK(sig_calls == 5);
}

TEST_CASE("running_event() is the event whose callback runs") {
  auto base = make_test_base();
  CHECK(base->running_event() == nullptr);
  const ev::Event* inside = nullptr;
  ev::Event ev(*base, -1, 0, [&](int, short) { inside = base->running_event(); });
  ev.activate(ev::kTimeout);
  base->loop();
  CHECK(inside == &ev);
  CHECK(base->running_event() == nullptr);
}

TEST_CASE("per-event priorities: highest non-empty queue first, one queue per iteration") {
  auto base = make_test_base();
  REQUIRE(base->priority_init(3) == 0);
  std::vector<int> order;
  ev::Event e[3];
  for (int p = 2; p >= 0; --p) {
    e[p].assign(*base, -1, 0, [&order, p](int, short) { order.push_back(p); });
    CHECK(e[p].priority() == 1);  // the default, n/2
    REQUIRE(e[p].set_priority(p) == 0);
  }
  for (int p = 2; p >= 0; --p) e[p].activate(ev::kTimeout);
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(order == std::vector<int>{0});
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(order == std::vector<int>{0, 1});
  CHECK(base->loop(Loop::kLoopNonblock) == 0);
  CHECK(order == std::vector<int>{0, 1, 2});

  order.clear();
  for (int p = 2; p >= 0; --p) e[p].activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<int>{0, 1, 2});
}

TEST_CASE("a busy high-priority event holds back a lower-priority one") {
  auto base = make_test_base();
  REQUIRE(base->priority_init(2) == 0);
  SocketPair sp;
  write_text(sp.b.get(), "x");  // sp.a is both readable and writable
  std::vector<char> order;
  ev::Event important(*base, sp.a.get(), ev::kWrite | ev::kPersist, [&](int, short) {
    order.push_back('W');
    if (order.size() == 3) base->running_event()->del();
  });
  ev::Event unimportant(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int, short) {
    order.push_back('R');
    base->running_event()->del();
  });
  important.set_priority(0);
  unimportant.set_priority(1);
  important.add();
  unimportant.add();
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'W', 'W', 'W', 'R'});
}

TEST_CASE("once(): with a timeout, with an fd, and freed with the base") {
  auto base = make_test_base();
  SocketPair sp;
  std::vector<short> seen;
  auto rec = [&](int, short what) { seen.push_back(what); };
  CHECK(base->once(-1, 0, rec, 5ms) == 0);
  CHECK(base->event_count() == 1);
  CHECK(base->loop() == 1);
  CHECK(seen == std::vector<short>{ev::kTimeout});
  CHECK(base->event_count() == 0);

  seen.clear();
  CHECK(base->once(sp.a.get(), ev::kRead, rec) == 0);
  write_text(sp.b.get(), "x");
  CHECK(base->loop() == 1);
  CHECK(seen == std::vector<short>{ev::kRead});
  read_available(sp.a.get());

  seen.clear();
  CHECK(base->once(sp.a.get(), ev::kRead, rec, 10ms) == 0);
  CHECK(base->loop() == 1);
  CHECK(seen == std::vector<short>{ev::kTimeout});

  seen.clear();
  CHECK(base->once(-1, 0, rec) == 0);  // no fd, no timeout: the next round
  CHECK(base->loop() == 1);
  CHECK(seen == std::vector<short>{ev::kTimeout});

  {
    QuietLog quiet;
    CHECK(base->once(SIGUSR1, ev::kSignal, rec) == -1);  // not supported, as in libevent's event_base_once
  }
  CHECK(base->once(-1, 0, rec, 1h) == 0);  // never fires: freed with the base (ASan checks)
  CHECK(base->once(sp.a.get(), ev::kRead, rec) == 0);
  CHECK(base->event_count() == 2);
}

TEST_CASE("deleting an event from another callback in the same round stops it") {
  auto base = make_test_base();
  std::vector<char> order;
  auto doomed = std::make_unique<ev::Event>(*base, -1, 0, [&](int, short) { order.push_back('D'); });
  ev::Event victim(*base, -1, 0, [&](int, short) { order.push_back('V'); });
  ev::Event killer(*base, -1, 0, [&](int, short) {
    order.push_back('K');
    victim.del();
    doomed.reset();  // destroying an active event also removes it
  });
  killer.activate(ev::kTimeout);
  victim.activate(ev::kTimeout);
  doomed->activate(ev::kTimeout);
  CHECK(base->event_count() == 3);
  CHECK(base->loop() == 1);
  CHECK(order == std::vector<char>{'K'});
  CHECK(base->event_count() == 0);
}

TEST_CASE("destroying an Event removes it from its base") {
  auto base = make_test_base();
  SocketPair sp;
  auto ev = std::make_unique<ev::Event>(*base, sp.a.get(), ev::kRead | ev::kPersist, noop_cb, nullptr);
  REQUIRE(ev->add(10s) == 0);
  CHECK(base->event_count() == 1);
  ev.reset();
  CHECK(base->event_count() == 0);
  write_text(sp.b.get(), "x");
  CHECK(base->loop() == 1);

  // ...also from inside its own callback.
  int calls = 0;
  auto self = std::make_unique<ev::Event>();
  self->assign(*base, sp.a.get(), ev::kRead | ev::kPersist, [&](int, short) {
    ++calls;
    self.reset();
  });
  self->add();
  CHECK(base->loop() == 1);
  CHECK(calls == 1);
  CHECK(base->event_count() == 0);
}

TEST_CASE("an Event may outlive its base") {
  Record rec;
  ev::Event pending, active, idle;
  {
    auto base = make_test_base();
    pending.assign(*base, -1, 0, record_cb, &rec);
    active.assign(*base, -1, 0, record_cb, &rec);
    idle.assign(*base, -1, 0, record_cb, &rec);
    pending.add(10s);
    active.activate(ev::kTimeout);
  }
  CHECK(pending.pending(ev::kTimeout) == 0);
  CHECK(active.pending(ev::kTimeout) == 0);
  CHECK(pending.del() == 0);
  CHECK(idle.del() == 0);
  // A detached event can be assigned to a new base.
  auto base = make_test_base();
  idle.assign(*base, -1, 0, record_cb, &rec);
  idle.activate(ev::kTimeout);
  CHECK(base->loop() == 1);
  CHECK(rec.calls == 1);
  // The others are destroyed here, after their base: no use-after-free (ASan).
}

TEST_CASE("assign moves an event to another base") {
  Record rec;
  auto second = make_test_base();
  ev::Event ev;
  {
    auto first = make_test_base();
    ev.assign(*first, -1, 0, record_cb, &rec);
    REQUIRE(ev.add(10s) == 0);
    CHECK(first->event_count() == 1);
    ev.assign(*second, -1, 0, record_cb, &rec);  // deletes it from the first base
    CHECK(first->event_count() == 0);
    CHECK(ev.base() == second.get());
  }
  // Destroying the first base did not detach the event from the second.
  REQUIRE(ev.add(1ms) == 0);
  CHECK(second->loop() == 1);
  CHECK(rec.calls == 1);
}

TEST_CASE("invalid adds fail and are logged") {
  QuietLog quiet;
  auto base = make_test_base();
  ev::Event negative(*base, -1, ev::kRead, noop_cb, nullptr);
  CHECK(negative.add() == -1);
  ev::Event timer(*base, -1, 0, noop_cb, nullptr);
  CHECK(timer.add(ev::Duration(-1)) == -1);
  CHECK(timer.pending(ev::kTimeout) == 0);
  ev::Event bad_signal(*base, 0, ev::kSignal, noop_cb, nullptr);
  CHECK(bad_signal.add() == -1);
  CHECK(base->event_count() == 0);
}
