// The HTTP client's pool of idle kept-alive connections: keyed lookups,
// most recent first, a bound on the number kept, and idle connections that
// the server closes or talks on dropped by the loop. Runs per backend.
#include "engine/http/detail/connection_pool.h"

#include <memory>
#include <string>
#include <vector>

#include "engine/io/socket_buffer_event.h"
#include "io_test_util.h"

using ev::BufferEvent;
using ev::http::detail::ConnectionPool;

namespace {

// A socket BufferEvent that owns one end of a socketpair; `peer` is the
// other end, for the test to play the server.
struct Conn {
  std::unique_ptr<BufferEvent> bev;
  ev::UniqueFd peer;
  int fd = -1;
};

Conn make_conn(ev::EventBase& base) {
  int fds[2];
  REQUIRE(ev::make_socketpair(fds) == 0);
  Conn c;
  c.bev = ev::SocketBufferEvent::create(base, fds[0], BufferEvent::kCloseOnFree);
  REQUIRE(c.bev);
  c.peer.reset(fds[1]);
  c.fd = fds[0];
  return c;
}

}  // namespace

TEST_CASE("ConnectionPool: take finds what was put under the same key only") {
  auto base = make_test_base();
  ConnectionPool pool(4);
  CHECK(pool.size() == 0);
  CHECK(pool.take("http://a:80") == nullptr);

  Conn a = make_conn(*base);
  BufferEvent* raw = a.bev.get();
  pool.put("http://a:80", std::move(a.bev));
  CHECK(pool.size() == 1);
  CHECK(pool.take("http://b:80") == nullptr);
  CHECK(pool.take("http://a:8080") == nullptr);
  CHECK(pool.take("https://a:80") == nullptr);
  CHECK(pool.size() == 1);

  std::unique_ptr<BufferEvent> got = pool.take("http://a:80");
  CHECK(got.get() == raw);
  CHECK(pool.size() == 0);
  CHECK(pool.take("http://a:80") == nullptr);
  CHECK_FALSE(fd_is_closed(a.fd));
}

TEST_CASE("ConnectionPool: the most recently put connection comes back first") {
  auto base = make_test_base();
  ConnectionPool pool(8);
  std::vector<Conn> conns;
  std::vector<BufferEvent*> raw;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(make_conn(*base));
    raw.push_back(conns.back().bev.get());
  }
  Conn other = make_conn(*base);
  pool.put("k", std::move(conns[0].bev));
  pool.put("k", std::move(conns[1].bev));
  pool.put("other", std::move(other.bev));
  pool.put("k", std::move(conns[2].bev));
  CHECK(pool.size() == 4);
  auto first = pool.take("k");
  auto second = pool.take("k");
  auto third = pool.take("k");
  CHECK(first.get() == raw[2]);
  CHECK(second.get() == raw[1]);
  CHECK(third.get() == raw[0]);
  CHECK(pool.take("k") == nullptr);
  CHECK(pool.size() == 1);
}

TEST_CASE("ConnectionPool: a full pool lets its oldest connection go") {
  auto base = make_test_base();
  ConnectionPool pool(2);
  Conn c1 = make_conn(*base), c2 = make_conn(*base), c3 = make_conn(*base);
  BufferEvent* raw2 = c2.bev.get();
  BufferEvent* raw3 = c3.bev.get();
  pool.put("x", std::move(c1.bev));
  pool.put("y", std::move(c2.bev));
  pool.put("x", std::move(c3.bev));
  CHECK(pool.size() == 2);
  CHECK(fd_is_closed(c1.fd));  // destroyed, its socket closed
  CHECK(read_available(c1.peer.get()).empty());
  CHECK(pool.take("x").get() == raw3);
  CHECK(pool.take("x") == nullptr);
  CHECK(pool.take("y").get() == raw2);
}

TEST_CASE("ConnectionPool: max_idle 0 keeps nothing") {
  auto base = make_test_base();
  ConnectionPool pool(0);
  Conn c = make_conn(*base);
  pool.put("k", std::move(c.bev));
  CHECK(pool.size() == 0);
  CHECK(fd_is_closed(c.fd));
  CHECK(pool.take("k") == nullptr);
}

TEST_CASE("ConnectionPool: clear and destruction close every idle connection") {
  auto base = make_test_base();
  Conn c1 = make_conn(*base), c2 = make_conn(*base);
  {
    ConnectionPool pool(4);
    pool.put("a", std::move(c1.bev));
    pool.put("b", std::move(c2.bev));
    pool.clear();
    CHECK(pool.size() == 0);
    CHECK(fd_is_closed(c1.fd));
    CHECK(fd_is_closed(c2.fd));
    Conn c3 = make_conn(*base);
    pool.put("c", std::move(c3.bev));
    CHECK_FALSE(fd_is_closed(c3.fd));
    c1.fd = c3.fd;
  }
  CHECK(fd_is_closed(c1.fd));
}

TEST_CASE("ConnectionPool: an idle connection the server closes is dropped") {
  auto base = make_test_base();
  ConnectionPool pool(4);
  Conn closing = make_conn(*base), staying = make_conn(*base);
  BufferEvent* raw = staying.bev.get();
  pool.put("k", std::move(staying.bev));
  pool.put("k", std::move(closing.bev));
  closing.peer.reset();
  CHECK(run_until(*base, [&] { return pool.size() == 1; }));
  CHECK(fd_is_closed(closing.fd));
  // The one left is the other connection, still usable.
  auto got = pool.take("k");
  CHECK(got.get() == raw);
  CHECK_FALSE(fd_is_closed(staying.fd));
}

TEST_CASE("ConnectionPool: an idle connection that receives bytes is dropped") {
  auto base = make_test_base();
  ConnectionPool pool(4);
  Conn c = make_conn(*base);
  pool.put("k", std::move(c.bev));
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(pool.size() == 1);  // quiet: kept
  write_text(c.peer.get(), "HTTP/1.1 408 Request Timeout\r\n\r\n");
  CHECK(run_until(*base, [&] { return pool.size() == 0; }));
  CHECK(fd_is_closed(c.fd));
  CHECK(pool.take("k") == nullptr);
}

TEST_CASE("ConnectionPool: a taken connection has no callbacks and reads nothing until its taker says so") {
  auto base = make_test_base();
  ConnectionPool pool(4);
  Conn c = make_conn(*base);
  pool.put("k", std::move(c.bev));
  std::unique_ptr<BufferEvent> conn = pool.take("k");
  REQUIRE(conn);
  CHECK((conn->enabled() & ev::kRead) == 0);

  // What arrives now waits in the socket: the pool no longer watches it.
  write_text(c.peer.get(), "HTTP/1.1 200 OK\r\n");
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(pool.size() == 0);
  CHECK(conn->input().empty());
  CHECK_FALSE(fd_is_closed(c.fd));

  // The taker's own callbacks see it, and the peer's EOF.
  std::string got;
  short events = 0;
  conn->setcb(
      [&](BufferEvent& b) {
        got += b.input().to_string();
        b.input().drain(b.input().length());
      },
      nullptr, [&](BufferEvent&, short what) { events |= what; });
  conn->enable(ev::kRead);
  c.peer.reset();
  CHECK(run_until(*base, [&] { return (events & BufferEvent::kEof) != 0; }));
  CHECK(got == "HTTP/1.1 200 OK\r\n");
  CHECK(pool.size() == 0);
}

TEST_CASE("ConnectionPool: a connection taken, used and put back is watched again") {
  auto base = make_test_base();
  ConnectionPool pool(4);
  Conn c = make_conn(*base);
  pool.put("k", std::move(c.bev));
  std::unique_ptr<BufferEvent> conn = pool.take("k");
  REQUIRE(conn);
  conn->write("GET / HTTP/1.1\r\n\r\n", 18);
  CHECK(run_until(*base, [&] { return bytes_queued(c.peer.get()) == 18; }));
  CHECK(read_available(c.peer.get()) == "GET / HTTP/1.1\r\n\r\n");
  pool.put("k", std::move(conn));
  CHECK(pool.size() == 1);
  c.peer.reset();
  CHECK(run_until(*base, [&] { return pool.size() == 0; }));
  CHECK(fd_is_closed(c.fd));
}
