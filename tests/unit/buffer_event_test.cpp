// Sections 六/七: socket BufferEvents — connecting (also to a refused port),
// the read / write / event callbacks, watermarks, deferred callbacks,
// close-on-free, enable / disable, timeouts, flush, max single read /
// write, and destroying a BufferEvent from inside its own callbacks.
#include "engine/io/buffer_event.h"
#include "engine/io/socket_buffer_event.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"
#include "io_test_util.h"

namespace {

using ev::BufferEvent;
using ev::SocketBufferEvent;

// Collects everything a BufferEvent reports.
struct Recorder {
  std::string data;  // what the read callback drained
  int reads = 0, writes = 0;
  std::vector<short> events;
  std::vector<int> errors;  // errno as each event callback saw it
  bool drain = true;

  void attach(BufferEvent& bev) {
    bev.setcb(
        [this](BufferEvent& b) {
          ++reads;
          if (drain) data += b.input().to_string(), b.input().drain(b.input().length());
        },
        [this](BufferEvent&) { ++writes; },
        [this](BufferEvent&, short what) {
          errors.push_back(errno);
          events.push_back(what);
        });
  }
  bool got(short what) const {
    return std::any_of(events.begin(), events.end(), [&](short w) { return (w & what) == what; });
  }
};

// A loopback listener whose accepted connections become BufferEvents
// (reading, and reporting to `record` when set).
struct Server {
  std::unique_ptr<ev::ConnListener> listener;
  std::vector<std::unique_ptr<BufferEvent>> conns;
  std::function<void(BufferEvent&)> on_accept;
  Recorder* record = nullptr;

  explicit Server(ev::EventBase& base) {
    std::string why;
    listener = ev::ConnListener::bind(
        base, *ev::parse_sockaddr_port("127.0.0.1:0"), ev::ConnListener::kReusable, -1,
        [this, &base](ev::ConnListener&, int fd, const ev::SocketAddress&) {
          conns.push_back(SocketBufferEvent::create(base, fd, BufferEvent::kCloseOnFree));
          if (record) record->attach(*conns.back()), conns.back()->enable(ev::kRead);
          if (on_accept) on_accept(*conns.back());
        },
        &why);
    INFO(why);
    REQUIRE(listener);
  }
  ev::SocketAddress address() const { return listener->local_address(); }
};

// A BufferEvent (options 0) on one end of a socketpair; sp.b is its peer.
struct SocketBev {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  SocketPair sp;
  std::unique_ptr<BufferEvent> bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
};

// The same, reporting to `rec`.
struct RecordedSocketBev {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  SocketPair sp;
  std::unique_ptr<BufferEvent> bev = SocketBufferEvent::create(*base, sp.a.get(), 0);
  Recorder rec;
  RecordedSocketBev() { rec.attach(*bev); }
};

// A Server and an unconnected client BufferEvent reporting to `rec`; with
// `record_server`, the accepted connections report to `srv`.
struct ClientServer {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  Server server{*base};
  Recorder srv;
  std::unique_ptr<SocketBufferEvent> client = SocketBufferEvent::create(*base, -1, 0);
  Recorder rec;
  explicit ClientServer(bool record_server) {
    if (record_server) server.record = &srv;
    rec.attach(*client);
  }
};

}  // namespace

TEST_CASE("BufferEvent connects to a listener in the same loop and carries data both ways") {
  auto base = make_test_base();
  Server server(*base);
  std::string server_got;
  server.on_accept = [&](BufferEvent& conn) {
    conn.setcb(
        [&](BufferEvent& b) {
          server_got += b.input().to_string();
          b.input().drain(b.input().length());
          if (server_got == "ping") b.write("pong", 4);
        },
        nullptr, nullptr);
    conn.enable(ev::kRead);
  };

  auto client = SocketBufferEvent::create(*base, -1, 0);
  Recorder rec;
  rec.attach(*client);
  client->enable(ev::kRead);
  REQUIRE(client->connect(server.address()) == 0);
  REQUIRE(client->fd() >= 0);
  CHECK(rec.events.empty());  // kConnected comes from the loop
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(rec.events == std::vector<short>{BufferEvent::kConnected});
  REQUIRE(client->peer_address());
  CHECK(client->peer_address()->port() == server.address().port());

  client->write("ping", 4);
  REQUIRE(run_until(*base, [&] { return rec.data == "pong"; }));
  CHECK(server_got == "ping");
  CHECK(rec.writes == 1);  // "ping" drained to the socket

  // A socket made by connect() is ours: it is closed with the BufferEvent.
  int fd = client->fd();
  client.reset();
  CHECK(fd_is_closed(fd));
}

TEST_CASE("BufferEvent connect to a refused port reports kError with errno") {
  auto base = make_test_base();
  ev::SocketAddress addr;
  {
    Server gone(*base);
    addr = gone.address();
  }
  for (int options : {0, static_cast<int>(BufferEvent::kDeferCallbacks)}) {
    CAPTURE(options);
    auto client = SocketBufferEvent::create(*base, -1, options);
    Recorder rec;
    rec.attach(*client);
    client->enable(ev::kRead | ev::kWrite);
    REQUIRE(client->connect(addr) == 0);
    REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
    CHECK(rec.events[0] == BufferEvent::kError);
    CHECK(rec.errors[0] == ECONNREFUSED);
    run_for(*base, std::chrono::milliseconds(30));
    CHECK(rec.events.size() == 1);  // no kConnected, nothing spinning afterwards
  }
}

TEST_CASE("BufferEvent with writing disabled holds its output across the connect") {
  ClientServer t(true);
  auto& [base, server, srv, client, rec] = t;
  client->disable(ev::kWrite);
  client->write("later", 5);
  REQUIRE(client->connect(server.address()) == 0);
  REQUIRE(run_until(*base, [&] { return rec.got(BufferEvent::kConnected) && !server.conns.empty(); }));
  run_for(*base, std::chrono::milliseconds(30));
  CHECK(srv.data.empty());
  CHECK(client->output().length() == 5);
  client->enable(ev::kWrite);
  REQUIRE(run_until(*base, [&] { return srv.data == "later"; }));
}

TEST_CASE("BufferEvent read callback, write callback and kEof") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->enable(ev::kRead);

  write_text(sp.b.get(), "hello");
  REQUIRE(run_until(*base, [&] { return rec.data == "hello"; }));
  CHECK(rec.reads == 1);

  bev->write("abc", 3);
  REQUIRE(run_until(*base, [&] { return rec.writes == 1; }));
  CHECK(bev->output().empty());
  CHECK(read_available(sp.b.get()) == "abc");

  sp.b.reset();
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(rec.events == std::vector<short>{BufferEvent::kReading | BufferEvent::kEof});
  CHECK_FALSE((bev->enabled() & ev::kRead));
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.events.size() == 1);
}

TEST_CASE("BufferEvent reports a reset connection as kReading|kError") {
  ClientServer t(false);
  auto& [base, server, srv, client, rec] = t;
  client->enable(ev::kRead);
  REQUIRE(client->connect(server.address()) == 0);
  REQUIRE(run_until(*base, [&] { return rec.got(BufferEvent::kConnected) && !server.conns.empty(); }));

  // Closing with SO_LINGER 0 sends a RST instead of a FIN.
  linger lg{1, 0};
  int fd = server.conns[0]->fd();
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  server.conns.clear();
  REQUIRE(run_until(*base, [&] { return rec.events.size() == 2; }));
  CHECK(rec.events[1] == (BufferEvent::kReading | BufferEvent::kError));
  CHECK(rec.errors[1] == ECONNRESET);
}

TEST_CASE("BufferEvent read low watermark holds the callback back") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->setwatermark(ev::kRead, 10, 0);
  bev->enable(ev::kRead);

  write_text(sp.b.get(), "1234");
  run_until(*base, [&] { return bev->input().length() == 4; });
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.reads == 0);
  CHECK(bev->input().length() == 4);

  write_text(sp.b.get(), "567890");
  REQUIRE(run_until(*base, [&] { return rec.reads == 1; }));
  CHECK(rec.data == "1234567890");
}

TEST_CASE("BufferEvent read high watermark pauses reading until input is drained") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  const std::string sent = pattern(1000);
  std::string got;
  std::size_t most = 0;
  bool drain = false;
  bev->setcb(
      [&](BufferEvent& b) {
        most = std::max(most, b.input().length());
        if (drain) got += b.input().to_string(), b.input().drain(b.input().length());
      },
      nullptr, nullptr);
  bev->setwatermark(ev::kRead, 0, 100);
  bev->enable(ev::kRead);
  write_text(sp.b.get(), sent);

  run_until(*base, [&] { return bev->input().length() == 100; });
  run_for(*base, std::chrono::milliseconds(30));
  CHECK(bev->input().length() == 100);
  CHECK(bytes_queued(sp.a.get()) == 900);  // the rest waits in the socket

  // Draining below the mark resumes reading.
  char first[100];
  REQUIRE(bev->read(first, sizeof first) == 100);
  got.assign(first, sizeof first);
  drain = true;
  REQUIRE(run_until(*base, [&] { return got.size() == sent.size(); }));
  CHECK(got == sent);
  CHECK(most <= 100);
}

TEST_CASE("BufferEvent write low watermark: the write callback runs once output is at or below it") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  std::vector<std::size_t> seen;
  bev->setcb(nullptr, [&](BufferEvent& b) { seen.push_back(b.output().length()); }, nullptr);
  bev->setwatermark(ev::kWrite, 1024, 0);
  bev->set_max_single_write(256);
  const std::string sent = pattern(2048);
  bev->write(sent.data(), sent.size());
  REQUIRE(run_until(*base, [&] { return bev->output().empty() && !seen.empty() && seen.back() == 0; }));
  CHECK(seen == std::vector<std::size_t>{1024, 768, 512, 256, 0});
  CHECK(read_available(sp.b.get()) == sent);
}

TEST_CASE("BufferEvent kDeferCallbacks runs callbacks from the loop, not from the I/O handler") {
  auto base = make_test_base();
  for (int options : {0, static_cast<int>(BufferEvent::kDeferCallbacks)}) {
    CAPTURE(options);
    SocketPair sp;
    auto bev = SocketBufferEvent::create(*base, sp.a.get(), options);
    int ran_in_fd = -2;
    std::string got;
    bev->setcb(
        [&](BufferEvent& b) {
          ran_in_fd = base->running_event() ? base->running_event()->fd() : -3;
          got += b.input().to_string();
          b.input().drain(b.input().length());
        },
        nullptr, nullptr);
    bev->enable(ev::kRead);
    write_text(sp.b.get(), "x");
    REQUIRE(run_until(*base, [&] { return got == "x"; }));
    if (options) CHECK(ran_in_fd != sp.a.get());
    else CHECK(ran_in_fd == sp.a.get());
  }
}

TEST_CASE("BufferEvent kCloseOnFree closes the fd; without it the fd stays open") {
  auto base = make_test_base();
  SocketPair sp;
  int a = sp.a.release();
  SocketBufferEvent::create(*base, a, BufferEvent::kCloseOnFree).reset();
  CHECK(fd_is_closed(a));

  SocketBufferEvent::create(*base, sp.b.get(), 0).reset();
  CHECK_FALSE(fd_is_closed(sp.b.get()));
}

TEST_CASE("BufferEvent enable / disable: a disabled direction leaves data where it is") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  CHECK(bev->enabled() == ev::kWrite);  // as in libevent
  Recorder rec;
  rec.attach(*bev);

  write_text(sp.b.get(), "early");
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.reads == 0);
  CHECK(bytes_queued(sp.a.get()) == 5);

  bev->enable(ev::kRead);
  CHECK(bev->enabled() == (ev::kRead | ev::kWrite));
  REQUIRE(run_until(*base, [&] { return rec.data == "early"; }));

  bev->disable(ev::kRead);
  write_text(sp.b.get(), "late");
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(rec.data == "early");
  CHECK(bytes_queued(sp.a.get()) == 4);

  bev->disable(ev::kWrite);
  CHECK(bev->enabled() == 0);
  bev->write("out", 3);
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(bytes_queued(sp.b.get()) == 0);
  CHECK(bev->output().length() == 3);
  bev->enable(ev::kWrite);
  REQUIRE(run_until(*base, [&] { return bytes_queued(sp.b.get()) == 3; }));
  CHECK(read_available(sp.b.get()) == "out");
}

TEST_CASE("BufferEvent read timeout: kReading|kTimedOut and reading disabled") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->set_timeouts(ev::Duration(50000), std::nullopt);
  auto start = std::chrono::steady_clock::now();
  bev->enable(ev::kRead);
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(elapsed_ms(start) >= 40);
  CHECK(rec.events == std::vector<short>{BufferEvent::kReading | BufferEvent::kTimedOut});
  CHECK_FALSE((bev->enabled() & ev::kRead));
  CHECK((bev->enabled() & ev::kWrite));

  // Re-enabling starts a new wait; data arriving in time keeps it quiet.
  bev->enable(ev::kRead);
  write_text(sp.b.get(), "in time");
  REQUIRE(run_until(*base, [&] { return rec.data == "in time"; }));
  CHECK(rec.events.size() == 1);
}

TEST_CASE("BufferEvent read timeout restarts with every read") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->set_timeouts(ev::Duration(150000), std::nullopt);
  bev->enable(ev::kRead);
  int sent = 0;
  ev::Event feeder(*base, -1, ev::kPersist, [&](int, short) {
    if (sent < 20) write_text(sp.b.get(), "."), ++sent;
  });
  feeder.add(ev::Duration(15000));
  REQUIRE(run_until(*base, [&] { return sent == 20; }));  // ~300 ms, twice the timeout
  CHECK(rec.events.empty());
  feeder.del();
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(rec.events[0] == (BufferEvent::kReading | BufferEvent::kTimedOut));
  CHECK(rec.data == std::string(20, '.'));
}

TEST_CASE("BufferEvent read timeout is off while input sits at the high watermark") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  rec.drain = false;
  bev->setwatermark(ev::kRead, 0, 10);
  bev->set_timeouts(ev::Duration(40000), std::nullopt);
  bev->enable(ev::kRead);
  write_text(sp.b.get(), "0123456789abcdef");
  run_for(*base, std::chrono::milliseconds(120));
  CHECK(rec.events.empty());  // full, not idle
  CHECK(bev->input().length() == 10);
  bev->input().drain(10);  // reading again: the timeout is back
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(rec.events[0] == (BufferEvent::kReading | BufferEvent::kTimedOut));
  CHECK(bev->input().to_string() == "abcdef");
}

TEST_CASE("BufferEvent set_timeouts(nullopt) removes a pending timeout") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->set_timeouts(ev::Duration(30000), ev::Duration(30000));
  bev->enable(ev::kRead);
  bev->set_timeouts(std::nullopt, std::nullopt);
  run_for(*base, std::chrono::milliseconds(100));
  CHECK(rec.events.empty());
  CHECK((bev->enabled() & ev::kRead));
}

TEST_CASE("BufferEvent write timeout when the peer stops reading") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->set_timeouts(std::nullopt, ev::Duration(50000));
  // Far more than a socketpair buffers: the rest can never be written.
  const std::string big(8 << 20, 'w');
  bev->write(big.data(), big.size());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(run_until(*base, [&] { return !rec.events.empty(); }));
  CHECK(elapsed_ms(start) >= 40);
  CHECK(rec.events == std::vector<short>{BufferEvent::kWriting | BufferEvent::kTimedOut});
  CHECK_FALSE((bev->enabled() & ev::kWrite));
  CHECK(bev->output().length() > 0);
  CHECK(bev->output().length() < big.size());
}

TEST_CASE("BufferEvent flush(Finished) half-closes after the data is written") {
  RecordedSocketBev t;
  auto& [base, sp, bev, rec] = t;
  bev->enable(ev::kRead);
  const std::string sent = pattern(512 * 1024);  // more than the socket holds at once
  bev->write(sent.data(), sent.size());
  CHECK(bev->flush(ev::kWrite, BufferEvent::Flush::Finished) == 1);

  std::string got;
  bool eof = false;
  REQUIRE(run_until(*base, [&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(sp.b.get(), buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      if (n == 0) eof = true;
      if (n <= 0) break;
    }
    return eof;
  }));
  CHECK(got == sent);

  // Only our write side is shut: the peer can still talk to us.
  write_text(sp.b.get(), "back");
  REQUIRE(run_until(*base, [&] { return rec.data == "back"; }));
  CHECK(rec.events.empty());
}

TEST_CASE("BufferEvent flush(Finished) before the connection is up half-closes once connected") {
  ClientServer t(true);
  auto& [base, server, srv, client, rec] = t;
  REQUIRE(client->connect(server.address()) == 0);
  client->write("request", 7);
  CHECK(client->flush(ev::kWrite, BufferEvent::Flush::Finished) == 1);
  REQUIRE(run_until(*base, [&] { return !srv.events.empty(); }));
  CHECK(srv.data == "request");
  CHECK(srv.events[0] == (BufferEvent::kReading | BufferEvent::kEof));
  CHECK(rec.events == std::vector<short>{BufferEvent::kConnected});
}

TEST_CASE("BufferEvent flush(Finished) with nothing buffered shuts down at once") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  CHECK(bev->flush(ev::kWrite, BufferEvent::Flush::Finished) == 0);
  char c;
  CHECK(::read(sp.b.get(), &c, 1) == 0);
  CHECK(bev->flush(ev::kWrite, BufferEvent::Flush::Normal) == 0);
}

TEST_CASE("BufferEvent max single read: each read callback sees at most that many new bytes") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  bev->set_max_single_read(10);
  CHECK(bev->max_single_read() == 10);
  ChunkReader reader;
  auto& [sizes, got] = reader;
  reader.attach(*bev);
  bev->enable(ev::kRead);
  const std::string sent = pattern(95);
  write_text(sp.b.get(), sent);
  REQUIRE(run_until(*base, [&] { return got.size() == sent.size(); }));
  CHECK(got == sent);
  CHECK(sizes.size() == 10);
  CHECK(*std::max_element(sizes.begin(), sizes.end()) == 10);

  bev->set_max_single_read(0);  // 0 would never read: it means 1
  CHECK(bev->max_single_read() == 1);
}

TEST_CASE("BufferEvent max single write: output drains that many bytes per write") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  bev->set_max_single_write(100);
  CHECK(bev->max_single_write() == 100);
  std::vector<std::size_t> left;
  bev->setcb(nullptr, [&](BufferEvent& b) { left.push_back(b.output().length()); }, nullptr);
  bev->setwatermark(ev::kWrite, 1000, 0);  // a callback after every write
  const std::string sent = pattern(1000);
  bev->write(sent.data(), sent.size());
  REQUIRE(run_until(*base, [&] { return bev->output().empty(); }));
  CHECK(left == std::vector<std::size_t>{900, 800, 700, 600, 500, 400, 300, 200, 100, 0});
  CHECK(read_available(sp.b.get()) == sent);
}

TEST_CASE("BufferEvent destroyed from inside its own callbacks") {
  auto base = make_test_base();
  for (int options : {0, static_cast<int>(BufferEvent::kDeferCallbacks)}) {
    CAPTURE(options);
    SUBCASE("read callback") {
      SocketPair sp;
      auto bev = SocketBufferEvent::create(*base, sp.a.release(), options | BufferEvent::kCloseOnFree);
      int calls = 0;
      // The lambda touches its captures after the reset: they must still exist.
      bev->setcb([&](BufferEvent&) { bev.reset(), ++calls; }, nullptr, [&](BufferEvent&, short) { ++calls; });
      bev->enable(ev::kRead);
      write_text(sp.b.get(), "bye");
      sp.b.reset();  // data and EOF together
      REQUIRE(run_until(*base, [&] { return !bev; }));
      run_for(*base, std::chrono::milliseconds(20));
      CHECK(calls == 1);
    }
    SUBCASE("event callback") {
      SocketPair sp;
      auto bev = SocketBufferEvent::create(*base, sp.a.get(), options);
      int calls = 0;
      bev->setcb(nullptr, nullptr, [&](BufferEvent&, short what) {
        CHECK((what & BufferEvent::kEof));
        bev.reset(), ++calls;
      });
      bev->enable(ev::kRead);
      sp.b.reset();
      REQUIRE(run_until(*base, [&] { return !bev; }));
      CHECK(calls == 1);
    }
    SUBCASE("write callback, with more data and a timeout pending") {
      SocketPair sp;
      auto bev = SocketBufferEvent::create(*base, sp.a.get(), options);
      bev->set_timeouts(ev::Duration(10000), ev::Duration(10000));
      bev->enable(ev::kRead);
      int calls = 0;
      bev->setcb(nullptr, [&](BufferEvent&) { bev.reset(), ++calls; }, nullptr);
      bev->write("x", 1);
      REQUIRE(run_until(*base, [&] { return !bev; }));
      run_for(*base, std::chrono::milliseconds(30));
      CHECK(calls == 1);
    }
    SUBCASE("connect callback") {
      Server server(*base);
      auto bev = SocketBufferEvent::create(*base, -1, options);
      int calls = 0;
      bev->setcb(nullptr, nullptr, [&](BufferEvent&, short) { bev.reset(), ++calls; });
      bev->write("queued", 6);
      REQUIRE(bev->connect(server.address()) == 0);
      REQUIRE(run_until(*base, [&] { return !bev; }));
      CHECK(calls == 1);
    }
  }
}

TEST_CASE("BufferEvent setcb from inside a callback replaces it safely") {
  SocketBev t;
  auto& [base, sp, bev] = t;
  std::string first, second;
  BufferEvent::DataCallback next = [&](BufferEvent& b) {
    second += b.input().to_string();
    b.input().drain(b.input().length());
  };
  bev->setcb(
      [&](BufferEvent& b) {
        b.setcb(next, nullptr, nullptr);  // destroys the running callback's copy
        first += b.input().to_string();
        b.input().drain(b.input().length());
      },
      nullptr, nullptr);
  bev->enable(ev::kRead);
  write_text(sp.b.get(), "one");
  REQUIRE(run_until(*base, [&] { return first == "one"; }));
  write_text(sp.b.get(), "two");
  REQUIRE(run_until(*base, [&] { return second == "two"; }));
  CHECK(first == "one");
}
