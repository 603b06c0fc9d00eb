// http::Server driven by raw client sockets on 127.0.0.1 in the same loop:
// dispatch (per-path, generic, 404), pipelining and keep-alive, the reply
// shapes (Content-Length, chunked, close-delimited, HEAD, later, file
// ranges), every limit and error status, the log callback, and graceful
// shutdown. The client side is non-blocking and every wait is bounded.
#include "engine/http/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/event.h"
#include "engine/io/buffer.h"
#include "engine/io/listener.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/ascii.h"
#include "engine/util/sockaddr.h"
#include "io_test_util.h"

using ev::http::Request;
using ev::http::Server;
using ev::http::ServerSettings;

namespace {

ev::SocketAddress loopback(int port = 0) { return *ev::parse_sockaddr_port("127.0.0.1", port); }

// A server listening on 127.0.0.1 at a port of the kernel's choice.
std::unique_ptr<Server> make_server(ev::EventBase& base, ServerSettings settings = {}) {
  auto srv = std::make_unique<Server>(base, std::move(settings));
  std::string why;
  bool ok = srv->bind(loopback(), ev::ConnListener::kReusable, &why);
  INFO(why);
  REQUIRE(ok);
  REQUIRE(srv->addresses().size() == 1);
  return srv;
}

// One parsed response as the client saw it.
struct Response {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;      // decoded
  std::string raw_body;  // as on the wire (chunk framing included)

  const std::string* find(std::string_view name) const {
    for (const auto& [n, v] : fields)
      if (ev::ascii_iequals(n, name)) return &v;
    return nullptr;
  }
  std::string header(std::string_view name) const {
    const std::string* v = find(name);
    return v ? *v : std::string();
  }
  bool has(std::string_view name) const { return find(name) != nullptr; }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& f : fields) n += ev::ascii_iequals(f.first, name) ? 1 : 0;
    return n;
  }
};

enum class Take { kIncomplete, kDone, kBad };

// Takes one complete response off the front of `data`. `eof`: nothing more
// will arrive (ends a close-delimited body; anything short of complete is
// kBad). `head_request`: the reply to HEAD has no body whatever it says.
Take take_response(std::string& data, bool eof, bool head_request, Response& out, std::string& why) {
  Take short_of_data = eof ? Take::kBad : Take::kIncomplete;
  out = Response{};
  std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) {
    why = "no complete head";
    return short_of_data;
  }
  std::string_view head(data.data(), end);
  std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    why = "malformed status line: " + std::string(line);
    return Take::kBad;
  }
  out.version = std::string(line.substr(0, 8));
  out.status = std::atoi(std::string(line.substr(9, 3)).c_str());
  if (line.size() > 13) out.reason = std::string(line.substr(13));
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    std::size_t e = rest.find("\r\n");
    std::string_view field = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      why = "header line without a colon: " + std::string(field);
      return Take::kBad;
    }
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.fields.emplace_back(std::string(field.substr(0, colon)), std::string(value));
  }

  std::size_t pos = end + 4;
  bool no_body = head_request || out.status / 100 == 1 || out.status == 204 || out.status == 304;
  if (no_body) {
  } else if (out.header("Transfer-Encoding").find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol = data.find("\r\n", pos);
      if (eol == std::string::npos) {
        why = "chunk size line incomplete";
        return short_of_data;
      }
      std::string size_text = data.substr(pos, eol - pos);
      char* size_end = nullptr;
      unsigned long size = std::strtoul(size_text.c_str(), &size_end, 16);
      if (size_text.empty() || *size_end != '\0') {
        why = "bad chunk size line: " + size_text;
        return Take::kBad;
      }
      pos = eol + 2;
      if (size == 0) {
        if (data.size() < pos + 2) {
          why = "last chunk incomplete";
          return short_of_data;
        }
        if (data.compare(pos, 2, "\r\n") != 0) {
          why = "unexpected trailers";
          return Take::kBad;
        }
        pos += 2;
        break;
      }
      if (data.size() < pos + size + 2) {
        why = "chunk data incomplete";
        return short_of_data;
      }
      out.body.append(data, pos, size);
      if (data.compare(pos + size, 2, "\r\n") != 0) {
        why = "chunk data not followed by CRLF";
        return Take::kBad;
      }
      pos += size + 2;
    }
  } else if (out.has("Content-Length")) {
    std::size_t n = std::stoul(out.header("Content-Length"));
    if (data.size() - pos < n) {
      why = "body incomplete";
      return short_of_data;
    }
    out.body = data.substr(pos, n);
    pos += n;
  } else {
    if (!eof) return Take::kIncomplete;  // delimited by the server closing
    out.body = data.substr(pos);
    pos = data.size();
  }
  out.raw_body = data.substr(end + 4, pos - end - 4);
  data.erase(0, pos);
  return Take::kDone;
}

// A client socket: connected (the kernel completes a loopback handshake
// without the server's loop), then non-blocking. pump() writes what is
// queued and reads what arrived.
struct Client {
  ev::UniqueFd fd;
  std::string in, out;
  bool eof = false;
  int read_error = 0;
  int write_error = 0;

  explicit Client(const ev::SocketAddress& addr) {
    fd.reset(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::connect(fd.get(), addr.sa(), addr.length) == 0);
    REQUIRE(::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK) == 0);
  }

  void write(std::string_view text) {
    out.append(text);
    pump();
  }

  void pump() {
    while (!out.empty() && !write_error) {
      ssize_t n = ::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out.erase(0, static_cast<std::size_t>(n));
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        break;
      } else {
        write_error = errno;
        out.clear();
      }
    }
    char buf[64 * 1024];
    while (!closed()) {
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) in.append(buf, static_cast<std::size_t>(n));
      else if (n == 0) eof = true;
      else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      else read_error = errno;
    }
  }

  // The server closed (EOF) or reset the connection.
  bool closed() const { return eof || read_error != 0; }
};

// Runs the loop until a whole response arrived on `c`, and takes it.
Response read_response(ev::EventBase& base, Client& c, bool head_request = false) {
  Response r;
  std::string why;
  Take t = Take::kIncomplete;
  run_until(base, [&] {
    if (t != Take::kIncomplete) return true;
    c.pump();
    t = take_response(c.in, c.closed(), head_request, r, why);
    return t != Take::kIncomplete;
  });
  INFO("response not taken (", why, "); received so far: ", c.in);
  REQUIRE(t == Take::kDone);
  return r;
}

// Runs the loop until the server closed `c` (bounded).
bool wait_closed(ev::EventBase& base, Client& c, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  return run_until(
      base,
      [&] {
        c.pump();
        return c.closed();
      },
      limit);
}

// Sends `request` on `c` and takes the reply; the server must then close
// the connection.
Response closing_reply(ev::EventBase& base, Client& c, std::string_view request) {
  c.write(request);
  Response r = read_response(base, c);
  CHECK(wait_closed(base, c));
  return r;
}

// Runs the loop for `d`, reading what arrives on the clients.
void settle(ev::EventBase& base, std::vector<Client*> clients, std::chrono::milliseconds d = 50ms) {
  run_until(
      base,
      [&] {
        for (Client* c : clients) c->pump();
        return false;
      },
      d);
}

std::string get(std::string_view target, std::string_view extra = {}, std::string_view method = "GET") {
  std::string s(method);
  s += " ";
  s += target;
  s += " HTTP/1.1\r\nHost: test\r\n";
  s += extra;
  s += "\r\n";
  return s;
}

std::string get10(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.0\r\n" + std::string(extra) + "\r\n";
}

std::string post(std::string_view target, std::string_view body, std::string_view extra = {}) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

// Replies with the request's body.
void echo(Request& r) { r.send_reply(200, r.body().to_string()); }

// Replies 200 "ok".
void ok(Request& r) { r.send_reply(200, "ok"); }

// `reply`, counting the requests in `calls`.
Server::Handler counted(int& calls, Server::Handler reply) {
  return [&calls, reply = std::move(reply)](Request& r) {
    ++calls;
    reply(r);
  };
}

// A server whose /echo callback echoes bodies of up to `max_body` bytes,
// counting the requests in `calls`.
std::unique_ptr<Server> echo_server(ev::EventBase& base, std::uint64_t max_body, int& calls) {
  ServerSettings s;
  s.limits.max_body_size = max_body;
  auto srv = make_server(base, s);
  srv->set_callback("/echo", counted(calls, echo));
  return srv;
}

// Sends `request` on `c`; the reply must be 200 with `body`.
void check_ok_reply(ev::EventBase& base, Client& c, std::string_view request, std::string_view body) {
  c.write(request);
  Response r = read_response(base, c);
  CHECK(r.status == 200);
  CHECK(r.body == body);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

TEST_CASE("http server: a per-path callback, else the generic one, else 404") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  srv->set_callback("/a", [](Request& r) {
    r.reply_headers().set("Content-Type", "text/plain");
    r.send_reply(200, "from a");
  });
  Client c(srv->addresses()[0]);

  c.write(get("/a"));
  Response r = read_response(*base, c);
  CHECK(r.version == "HTTP/1.1");
  CHECK(r.status == 200);
  CHECK(r.reason == "OK");
  CHECK(r.body == "from a");
  CHECK(r.header("Content-Length") == "6");
  CHECK(r.header("Content-Type") == "text/plain");
  CHECK(r.header("Server") == "evtool");
  CHECK(r.has("Date"));
  CHECK_FALSE(r.has("Transfer-Encoding"));
  CHECK_FALSE(r.has("Connection"));

  // No generic callback: 404 with an HTML page.
  c.write(get("/b"));
  r = read_response(*base, c);
  CHECK(r.status == 404);
  CHECK(starts_with(r.header("Content-Type"), "text/html"));
  CHECK(r.body.find("404") != std::string::npos);
  CHECK(r.header("Content-Length") == std::to_string(r.body.size()));

  std::string generic_target;
  srv->set_generic_callback([&](Request& r) {
    generic_target = r.target();
    r.send_reply(200, "generic " + r.uri().path);
  });
  c.write(get("/b?x=1"));
  r = read_response(*base, c);
  CHECK(r.status == 200);
  CHECK(r.body == "generic /b");
  CHECK(generic_target == "/b?x=1");

  // The path is matched without the query, exactly (no prefix matching).
  c.write(get("/a?q=2"));
  r = read_response(*base, c);
  CHECK(r.body == "from a");
  c.write(get("/a/more"));
  r = read_response(*base, c);
  CHECK(r.body == "generic /a/more");

  // set_callback on a known path replaces its handler.
  srv->set_callback("/a", [](Request& r) { r.send_reply(201, "replaced"); });
  c.write(get("/a"));
  r = read_response(*base, c);
  CHECK(r.status == 201);
  CHECK(r.body == "replaced");

  // All on one kept-alive connection.
  CHECK(srv->connections() == 1);
  CHECK_FALSE(c.closed());
}

TEST_CASE("http server: two pipelined requests in one write are answered in order") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  std::vector<std::string> dispatched;
  Request* slow = nullptr;
  ev::Event timer(*base, -1, 0, [&](int, short) {
    CHECK(slow);
    if (slow) slow->send_reply(200, "first");
  });
  srv->set_callback("/slow", [&](Request& r) {
    dispatched.push_back(r.target());
    slow = &r;
    timer.add(ev::Duration(50ms));  // the first reply comes after the second request is buffered
  });
  srv->set_callback("/fast", [&](Request& r) {
    dispatched.push_back(r.target());
    r.send_reply(200, "second");
  });
  Client c(srv->addresses()[0]);
  c.write(get("/slow") + get("/fast"));
  Response r1 = read_response(*base, c);
  Response r2 = read_response(*base, c);
  CHECK(r1.status == 200);
  CHECK(r1.body == "first");
  CHECK(r2.status == 200);
  CHECK(r2.body == "second");
  CHECK(dispatched == std::vector<std::string>{"/slow", "/fast"});

  // Three immediate ones in one write, too.
  c.write(get("/fast") + get("/slow") + get("/fast"));
  CHECK(read_response(*base, c).body == "second");
  CHECK(read_response(*base, c).body == "first");
  CHECK(read_response(*base, c).body == "second");
  settle(*base, {&c});
  CHECK(c.in.empty());
  CHECK_FALSE(c.closed());
}

TEST_CASE("http server: keep-alive for HTTP/1.1, close for HTTP/1.0 unless it asks for keep-alive") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  int calls = 0;
  srv->set_generic_callback([&](Request& r) {
    ++calls;
    r.send_reply(200, "n" + std::to_string(calls));
  });

  SUBCASE("HTTP/1.1: two requests one after the other on one socket") {
    Client c(srv->addresses()[0]);
    c.write(get("/"));
    Response r = read_response(*base, c);
    CHECK(r.body == "n1");
    CHECK_FALSE(r.has("Connection"));
    settle(*base, {&c});
    CHECK_FALSE(c.closed());
    c.write(get("/"));
    r = read_response(*base, c);
    CHECK(r.body == "n2");
    settle(*base, {&c});
    CHECK_FALSE(c.closed());
    CHECK(srv->connections() == 1);
  }
  SUBCASE("HTTP/1.0: the reply says close and the server closes") {
    Client c(srv->addresses()[0]);
    Response r = closing_reply(*base, c, get10("/"));
    CHECK(r.version == "HTTP/1.0");
    CHECK(r.status == 200);
    CHECK(r.body == "n1");
    CHECK(r.header("Connection") == "close");
    CHECK(c.in.empty());
    c.fd.reset();
    CHECK(run_until(*base, [&] { return srv->connections() == 0; }));
  }
  SUBCASE("HTTP/1.0 with Connection: keep-alive stays open") {
    Client c(srv->addresses()[0]);
    c.write(get10("/", "Connection: keep-alive\r\n"));
    Response r = read_response(*base, c);
    CHECK(r.version == "HTTP/1.0");
    CHECK(r.header("Connection") == "keep-alive");
    CHECK(r.header("Content-Length") == "2");
    c.write(get10("/", "Connection: keep-alive\r\n"));
    r = read_response(*base, c);
    CHECK(r.body == "n2");
    settle(*base, {&c});
    CHECK_FALSE(c.closed());
  }
}

TEST_CASE("http server: Connection: close makes the server close after the reply") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  int calls = 0;
  srv->set_generic_callback(counted(calls, [](Request& r) { r.send_reply(200, "bye"); }));
  Client c(srv->addresses()[0]);
  // A request pipelined after the closing one is not answered.
  Response r = closing_reply(*base, c, get("/", "Connection: close\r\n") + get("/"));
  CHECK(r.status == 200);
  CHECK(r.body == "bye");
  CHECK(r.header("Connection") == "close");
  CHECK(c.in.empty());
  CHECK(calls == 1);
}

TEST_CASE("http server: whole replies carry Content-Length; chunked replies decode") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  srv->set_callback("/whole", [](Request& r) {
    ev::Buffer body;
    body.add("part one, ");
    body.add("part two");
    r.send_reply(200, body);
    CHECK(body.empty());  // moved out
  });
  Request* streaming = nullptr;
  ev::Event more(*base, -1, 0, [&](int, short) {
    CHECK(streaming);
    if (!streaming) return;
    ev::Buffer piece;
    piece.add("world");
    streaming->send_reply_chunk(piece);
    CHECK(piece.empty());
    streaming->send_reply_end();
  });
  srv->set_callback("/chunked", [&](Request& r) {
    r.reply_headers().set("Content-Type", "text/plain");
    r.send_reply_start(200);
    ev::Buffer piece;
    piece.add("hello ");
    r.send_reply_chunk(piece);
    ev::Buffer empty;  // must not end the body early
    r.send_reply_chunk(empty);
    piece.add("chunked ");
    r.send_reply_chunk(piece);
    streaming = &r;
    more.add(ev::Duration(20ms));  // the rest from a later callback
  });

  SUBCASE("HTTP/1.1") {
    Client c(srv->addresses()[0]);
    c.write(get("/whole"));
    Response r = read_response(*base, c);
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "18");
    CHECK(r.body == "part one, part two");

    c.write(get("/chunked"));
    r = read_response(*base, c);
    CHECK(r.status == 200);
    CHECK(r.header("Transfer-Encoding") == "chunked");
    CHECK_FALSE(r.has("Content-Length"));
    CHECK(r.header("Content-Type") == "text/plain");
    CHECK(r.body == "hello chunked world");
    CHECK(r.raw_body == "6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n");

    // Still kept alive after a chunked reply.
    c.write(get("/whole"));
    r = read_response(*base, c);
    CHECK(r.body == "part one, part two");
    settle(*base, {&c});
    CHECK_FALSE(c.closed());
  }
  SUBCASE("HTTP/1.0: the body is delimited by closing the connection") {
    Client c(srv->addresses()[0]);
    c.write(get10("/chunked", "Connection: keep-alive\r\n"));
    Response r = read_response(*base, c);
    CHECK(r.version == "HTTP/1.0");
    CHECK(r.status == 200);
    CHECK_FALSE(r.has("Transfer-Encoding"));
    CHECK_FALSE(r.has("Content-Length"));
    CHECK(r.header("Connection") == "close");
    CHECK(r.body == "hello chunked world");
    CHECK(c.eof);
  }
}

TEST_CASE("http server: HEAD gets Content-Length but no body") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  std::vector<std::string> methods;
  srv->set_callback("/text", [&](Request& r) {
    methods.push_back(r.method());
    r.send_reply(200, "twelve bytes");
  });
  srv->set_callback("/buffer", [&](Request& r) {
    ev::Buffer b;
    b.add(std::string(1000, 'x'));
    r.send_reply(200, b);
  });
  Client c(srv->addresses()[0]);
  // The GET behind each HEAD reply would not parse if a body had been sent.
  c.write(get("/text", {}, "HEAD") + get("/text") + get("/buffer", {}, "HEAD") + get("/buffer"));
  Response r = read_response(*base, c, true);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == "12");
  CHECK(r.body.empty());
  r = read_response(*base, c);
  CHECK(r.status == 200);
  CHECK(r.body == "twelve bytes");
  r = read_response(*base, c, true);
  CHECK(r.header("Content-Length") == "1000");
  CHECK(r.body.empty());
  r = read_response(*base, c);
  CHECK(r.body == std::string(1000, 'x'));
  settle(*base, {&c});
  CHECK(c.in.empty());
  CHECK_FALSE(c.closed());
  CHECK(methods == std::vector<std::string>{"HEAD", "GET"});
}

TEST_CASE("http server: a reply sent later, after the handler returned") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  Request* pending = nullptr;
  bool fired = false;
  ev::Event timer(*base, -1, 0, [&](int, short) {
    fired = true;
    CHECK(pending);
    if (!pending) return;
    pending->reply_headers().set("X-Later", "yes");
    pending->send_reply(200, "later: " + pending->body().to_string());
  });
  srv->set_callback("/later", [&](Request& r) {
    pending = &r;
    timer.add(ev::Duration(100ms));
  });
  srv->set_callback("/now", [](Request& r) { r.send_reply(200, "now"); });
  Client c(srv->addresses()[0]);
  c.write(post("/later", "payload"));
  settle(*base, {&c}, 30ms);
  CHECK(pending != nullptr);
  CHECK_FALSE(fired);
  CHECK(c.in.empty());  // nothing until the timer replies
  Response r = read_response(*base, c);
  CHECK(fired);
  CHECK(r.status == 200);
  CHECK(r.body == "later: payload");
  CHECK(r.header("X-Later") == "yes");
  // The connection goes on.
  c.write(get("/now"));
  r = read_response(*base, c);
  CHECK(r.body == "now");
  CHECK_FALSE(r.has("X-Later"));  // reply headers do not leak into the next reply
}

TEST_CASE("http server: a client that half-closes after its request still gets the whole reply") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  Request* pending = nullptr;
  ev::Event timer(*base, -1, 0, [&](int, short) {
    CHECK(pending);
    if (pending) pending->send_reply(200, "later");
  });
  srv->set_callback("/later", [&](Request& r) {
    pending = &r;
    timer.add(ev::Duration(100ms));
  });
  srv->set_callback("/now", [](Request& r) { r.send_reply(200, "now"); });

  SUBCASE("a reply sent at once") {
    Client c(srv->addresses()[0]);
    c.write(get("/now"));
    REQUIRE(::shutdown(c.fd.get(), SHUT_WR) == 0);
    Response r = read_response(*base, c);
    CHECK(r.status == 200);
    CHECK(r.body == "now");
    CHECK(wait_closed(*base, c));
    CHECK(c.in.empty());
  }
  SUBCASE("a reply sent later from a timer") {
    Client c(srv->addresses()[0]);
    c.write(get("/later"));
    REQUIRE(::shutdown(c.fd.get(), SHUT_WR) == 0);
    Response r = read_response(*base, c);
    CHECK(pending != nullptr);
    CHECK(r.status == 200);
    CHECK(r.body == "later");
    CHECK(wait_closed(*base, c));
    CHECK(c.in.empty());
  }
  CHECK(run_until(*base, [&] { return srv->connections() == 0; }, 3000ms));
}

TEST_CASE("http server: Expect: 100-continue") {
  auto base = make_test_base();
  int calls = 0;
  auto srv = echo_server(*base, 100, calls);

  SUBCASE("100 Continue arrives before the body is sent") {
    Client c(srv->addresses()[0]);
    c.write("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    REQUIRE(run_until(*base, [&] {
      c.pump();
      return c.in.find("\r\n\r\n") != std::string::npos || c.closed();
    }));
    CHECK(c.in == "HTTP/1.1 100 Continue\r\n\r\n");
    c.in.clear();
    CHECK(calls == 0);
    check_ok_reply(*base, c, "hello", "hello");
    CHECK(calls == 1);
  }
  SUBCASE("413 at once when Content-Length exceeds max_body_size") {
    Client c(srv->addresses()[0]);
    Response r =
        closing_reply(*base, c, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n");
    CHECK(r.status == 413);
    CHECK(r.header("Connection") == "close");
    CHECK(c.in.empty());
    CHECK(calls == 0);
  }
  SUBCASE("a body at the limit is fine; over it without Expect is 413 too") {
    Client c(srv->addresses()[0]);
    c.write(post("/echo", std::string(100, 'b')));
    Response r = read_response(*base, c);
    CHECK(r.status == 200);
    CHECK(r.body.size() == 100);
    r = closing_reply(*base, c, post("/echo", std::string(101, 'b')));
    CHECK(r.status == 413);
    CHECK(calls == 1);
  }
}

TEST_CASE("http server: allowed_methods answers others with 405 and Allow") {
  auto base = make_test_base();
  ServerSettings s;
  s.allowed_methods = {"GET", "HEAD"};
  auto srv = make_server(*base, s);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));
  Client c(srv->addresses()[0]);
  Response r = closing_reply(*base, c, post("/x", "data"));
  CHECK(r.status == 405);
  CHECK(r.header("Allow") == "GET, HEAD");
  CHECK(calls == 0);

  Client c2(srv->addresses()[0]);
  c2.write(get("/x"));
  r = read_response(*base, c2);
  CHECK(r.status == 200);
  CHECK_FALSE(r.has("Allow"));
  CHECK(calls == 1);
}

TEST_CASE("http server: 400 for a malformed request line or head") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));
  const char* inputs[] = {
      "NONSENSE\r\n\r\n",
      "GET /\r\nHost: test\r\n\r\n",
      "GET / HTTP/1.1 extra\r\nHost: test\r\n\r\n",
      "GET / HTTX/1.1\r\nHost: test\r\n\r\n",
      "GET / HTTP/1.1\r\nHost test\r\n\r\n",
  };
  for (const char* input : inputs) {
    CAPTURE(input);
    Client c(srv->addresses()[0]);
    Response r = closing_reply(*base, c, input);
    CHECK(r.status == 400);
    CHECK(r.header("Connection") == "close");
  }
  CHECK(calls == 0);
}

TEST_CASE("http server: 414 and 431 with a small max_header_size") {
  auto base = make_test_base();
  ServerSettings s;
  s.limits.max_header_size = 256;
  s.limits.max_header_count = 5;
  auto srv = make_server(*base, s);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));

  SUBCASE("a head within the limits is fine") {
    Client c(srv->addresses()[0]);
    c.write(get("/" + std::string(100, 'p'), "X-A: " + std::string(100, 'v') + "\r\n"));
    CHECK(read_response(*base, c).status == 200);
    CHECK(calls == 1);
  }
  SUBCASE("414 for a request line over the limit") {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, get("/" + std::string(400, 'p'))).status == 414);
  }
  SUBCASE("414 also when the line arrives without its end") {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, "GET /" + std::string(400, 'p')).status == 414);
  }
  SUBCASE("431 for header fields over the limit") {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, get("/", "X-Big: " + std::string(400, 'v') + "\r\n")).status == 431);
  }
  SUBCASE("431 for too many header fields") {
    Client c(srv->addresses()[0]);
    // Six with Host.
    CHECK(closing_reply(*base, c, get("/", "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n")).status == 431);
  }
  CHECK(calls <= 1);
}

TEST_CASE("http server: 413 for a chunked body over max_body_size") {
  auto base = make_test_base();
  int calls = 0;
  auto srv = echo_server(*base, 16, calls);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";

  SUBCASE("at the limit: decoded and handed over") {
    Client c(srv->addresses()[0]);
    check_ok_reply(*base, c, head + "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n", "0123456789abcdef");
    CHECK(calls == 1);
  }
  SUBCASE("one big chunk") {
    Client c(srv->addresses()[0]);
    Response r = closing_reply(*base, c, head + "40\r\n" + std::string(64, 'z') + "\r\n0\r\n\r\n");
    CHECK(r.status == 413);
    CHECK(r.header("Connection") == "close");
    CHECK(calls == 0);
  }
  SUBCASE("small chunks adding up past the limit") {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, head + "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n").status == 413);
    CHECK(calls == 0);
  }
}

TEST_CASE("http server: 408 when the head does not complete within the timeout, however it trickles") {
  auto base = make_test_base();
  ServerSettings s;
  s.timeout = std::chrono::duration_cast<ev::Duration>(200ms);
  auto srv = make_server(*base, s);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));

  SUBCASE("a head trickled in well within the timeout is answered") {
    Client c(srv->addresses()[0]);
    std::string req = get("/");
    for (std::size_t i = 0; i < req.size(); i += req.size() / 4 + 1) {
      c.write(req.substr(i, req.size() / 4 + 1));
      settle(*base, {&c}, 10ms);
    }
    CHECK(read_response(*base, c).status == 200);
  }
  SUBCASE("one byte every 40 ms: the deadline counts from the first byte") {
    Client c(srv->addresses()[0]);
    auto start = std::chrono::steady_clock::now();
    c.write("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ");
    Response r;
    std::string why;
    Take t = Take::kIncomplete;
    auto got = [&] {
      if (t != Take::kIncomplete) return true;
      c.pump();
      t = take_response(c.in, c.closed(), false, r, why);
      return t != Take::kIncomplete;
    };
    // Trickle for up to 1.5 s: were the deadline reset by each byte, no
    // 408 would come while we do.
    while (!got() && elapsed_ms(start) < 1500) {
      run_until(*base, got, 40ms);
      if (t == Take::kIncomplete && !c.write_error) c.write("a");
    }
    double ms = elapsed_ms(start);
    INFO("after ", ms, " ms; ", why, "; received: ", c.in);
    REQUIRE(t == Take::kDone);
    CHECK(r.status == 408);
    CHECK(ms >= 150);
    CHECK(ms < 1000);
    CHECK(r.header("Connection") == "close");
    CHECK(wait_closed(*base, c));
  }
  SUBCASE("a body that stalls") {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n123").status == 408);
  }
  SUBCASE("a partial head then silence") {
    Client c(srv->addresses()[0]);
    auto start = std::chrono::steady_clock::now();
    c.write("GET / HT");
    Response r = read_response(*base, c);
    CHECK(r.status == 408);
    CHECK(elapsed_ms(start) >= 150);
    CHECK(wait_closed(*base, c));
  }
  CHECK(calls <= 1);
}

TEST_CASE("http server: max_connections=1 answers a second connection with 503") {
  auto base = make_test_base();
  ServerSettings s;
  s.max_connections = 1;
  auto srv = make_server(*base, s);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));
  auto c1 = std::make_unique<Client>(srv->addresses()[0]);
  c1->write(get("/"));
  CHECK(read_response(*base, *c1).status == 200);

  {
    Client c2(srv->addresses()[0]);
    c2.write(get("/"));
    Response r = read_response(*base, c2);
    CHECK(r.status == 503);
    CHECK(r.header("Connection") == "close");
    INFO("the server should close the refused connection after its 503");
    CHECK(wait_closed(*base, c2, 1000ms));
  }
  CHECK(calls == 1);

  // The first connection is unaffected.
  c1->write(get("/"));
  CHECK(read_response(*base, *c1).status == 200);
  CHECK(calls == 2);

  // Once it is gone, a new connection is served.
  c1.reset();
  REQUIRE(run_until(*base, [&] { return srv->connections() == 0; }, 3000ms));
  Client c3(srv->addresses()[0]);
  c3.write(get("/"));
  CHECK(read_response(*base, c3).status == 200);
}

TEST_CASE("http server: HTTP/1.1 without Host is 400") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  int calls = 0;
  srv->set_generic_callback(counted(calls, ok));
  {
    Client c(srv->addresses()[0]);
    CHECK(closing_reply(*base, c, "GET / HTTP/1.1\r\n\r\n").status == 400);
  }
  {
    Client c(srv->addresses()[0]);
    c.write("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    CHECK(read_response(*base, c).status == 400);
  }
  CHECK(calls == 0);
  {
    Client c(srv->addresses()[0]);
    c.write(get10("/"));  // 1.0 needs no Host
    CHECK(read_response(*base, c).status == 200);
  }
  CHECK(calls == 1);
}

TEST_CASE("http server: the log callback runs once per reply, once it has left, with status and body_bytes") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  struct Entry {
    std::string method, target;
    int status;
    std::uint64_t bytes;
  };
  std::vector<Entry> log;
  srv->set_log_callback(
      [&](const ev::http::AccessRecord& r) { log.push_back({r.method, r.target, r.status, r.body_bytes}); });
  srv->set_callback("/a", [](Request& r) { r.send_reply(200, "abc"); });
  srv->set_callback("/chunked", [](Request& r) {
    r.send_reply_start(202);
    ev::Buffer b;
    b.add("12345");
    r.send_reply_chunk(b);
    b.add("678901");
    r.send_reply_chunk(b);
    r.send_reply_end();
  });

  Client c(srv->addresses()[0]);
  c.write(get("/a"));
  read_response(*base, c);
  REQUIRE(log.size() == 1);
  CHECK(log[0].method == "GET");
  CHECK(log[0].target == "/a");
  CHECK(log[0].status == 200);
  CHECK(log[0].bytes == 3);

  c.write(get("/a", {}, "HEAD"));
  read_response(*base, c, true);
  REQUIRE(log.size() == 2);
  CHECK(log[1].method == "HEAD");
  CHECK(log[1].status == 200);
  CHECK(log[1].bytes == 0);

  c.write(get("/chunked"));
  Response r = read_response(*base, c);
  CHECK(r.body == "12345678901");
  REQUIRE(log.size() == 3);
  CHECK(log[2].status == 202);
  CHECK(log[2].bytes == 11);

  c.write(get("/missing"));
  r = read_response(*base, c);
  REQUIRE(log.size() == 4);
  CHECK(log[3].target == "/missing");
  CHECK(log[3].status == 404);
  CHECK(log[3].bytes == r.body.size());

  // The server's own error reply for a bad request line.
  Client bad(srv->addresses()[0]);
  r = closing_reply(*base, bad, "NONSENSE\r\n\r\n");
  CHECK(r.status == 400);
  settle(*base, {&c, &bad});
  REQUIRE(log.size() == 5);
  CHECK(log[4].status == 400);
  CHECK(log[4].bytes == r.body.size());
  CHECK(log[4].method.empty());
}

TEST_CASE("http server: shutdown closes idle connections, finishes in-flight replies, then runs done") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  ev::SocketAddress addr = srv->addresses()[0];
  Request* pending = nullptr;
  srv->set_callback("/slow", [&](Request& r) { pending = &r; });
  srv->set_callback("/fast", [](Request& r) { r.send_reply(200, "fast"); });

  Client idle(addr);
  idle.write(get("/fast"));
  CHECK(read_response(*base, idle).body == "fast");
  Client busy(addr);
  busy.write(get("/slow"));
  REQUIRE(run_until(*base, [&] { return pending != nullptr; }));
  REQUIRE(srv->connections() == 2);

  bool done = false;
  srv->shutdown([&] { done = true; });
  // The idle connection closes at once; the busy one stays.
  CHECK(wait_closed(*base, idle, 1000ms));
  CHECK(idle.in.empty());
  settle(*base, {&busy}, 50ms);
  CHECK_FALSE(busy.closed());
  CHECK_FALSE(done);
  CHECK(srv->connections() == 1);

  // The listener is gone.
  {
    ev::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    errno = 0;
    CHECK(::connect(fd.get(), addr.sa(), addr.length) == -1);
    CHECK(errno == ECONNREFUSED);
  }

  // The in-flight reply completes, says close, and the server closes.
  pending->send_reply(200, "finally");
  Response r = read_response(*base, busy);
  CHECK(r.status == 200);
  CHECK(r.body == "finally");
  CHECK(r.header("Connection") == "close");
  CHECK(wait_closed(*base, busy));
  busy.fd.reset();
  CHECK(run_until(*base, [&] { return done; }, 3000ms));
  CHECK(srv->connections() == 0);

  // With nothing in flight, done runs at once.
  auto srv2 = make_server(*base);
  bool done2 = false;
  srv2->shutdown([&] { done2 = true; });
  CHECK(done2);
}

TEST_CASE("http server: addresses() reports the real ports of port-0 binds") {
  auto base = make_test_base();
  Server srv(*base);
  CHECK(srv.addresses().empty());
  std::string why;
  REQUIRE(srv.bind(loopback(0), 0, &why));
  REQUIRE(srv.bind(loopback(0), 0, &why));
  auto addrs = srv.addresses();
  REQUIRE(addrs.size() == 2);
  for (const auto& a : addrs) {
    CHECK(a.host() == "127.0.0.1");
    CHECK(a.port() > 0);
  }
  CHECK(addrs[0].port() != addrs[1].port());

  // A port already taken fails with a reason and adds nothing.
  why.clear();
  CHECK_FALSE(srv.bind(addrs[0], 0, &why));
  CHECK_FALSE(why.empty());
  CHECK(srv.addresses().size() == 2);

  srv.set_generic_callback([](Request& r) { r.send_reply(200, "hi"); });
  for (const auto& a : addrs) {
    Client c(a);
    c.write(get("/"));
    CHECK(read_response(*base, c).body == "hi");
  }
}

TEST_CASE("http server: a body holding a file range is sent byte-exact") {
  auto base = make_test_base();
  std::string path = (std::filesystem::temp_directory_path() / "http_server_test_XXXXXX").string();
  int tmp = ::mkstemp(path.data());
  REQUIRE(tmp >= 0);
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink_later{path};
  const std::string content = pattern(700 * 1024);
  REQUIRE(::write(tmp, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  ::close(tmp);

  constexpr off_t kOffset = 12345;
  constexpr off_t kLength = 600 * 1024 + 7;
  auto srv = make_server(*base);
  srv->set_callback("/file", [&](Request& r) {
    ev::Buffer body;
    body.add("<<");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(body.add_file(fd, kOffset, kLength) == 0);
    body.add(">>");
    r.send_reply(200, body);
  });
  std::string expected = "<<" + content.substr(kOffset, kLength) + ">>";

  Client c(srv->addresses()[0]);
  c.write(get("/file"));
  Response r = read_response(*base, c);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == std::to_string(expected.size()));
  CHECK(r.body.size() == expected.size());
  CHECK(r.body == expected);

  // HEAD: the size without the bytes; then the whole file again on the same connection.
  c.write(get("/file", {}, "HEAD") + get("/file"));
  r = read_response(*base, c, true);
  CHECK(r.header("Content-Length") == std::to_string(expected.size()));
  r = read_response(*base, c);
  CHECK(r.body == expected);
  settle(*base, {&c});
  CHECK(c.in.empty());
  CHECK_FALSE(c.closed());
}

TEST_CASE("http server: connections from the caller's listener go through the bevcb factory") {
  auto base = make_test_base();
  Server srv(*base);
  srv.set_callback("/a", ok);
  int made = 0;
  srv.set_bevcb([&made](ev::EventBase& b, int fd, std::string*) -> std::unique_ptr<ev::BufferEvent> {
    ++made;
    return ev::SocketBufferEvent::create(b, fd, ev::BufferEvent::kCloseOnFree);
  });
  std::string why;
  auto listener = ev::ConnListener::bind(
      *base, loopback(), ev::ConnListener::kReusable, -1,
      [&srv](ev::ConnListener&, int fd, const ev::SocketAddress& peer) { srv.accept(fd, peer); }, &why);
  REQUIRE(listener);
  Client c(listener->local_address());
  c.write(get("/a"));
  Response r = read_response(*base, c);
  CHECK(r.status == 200);
  CHECK(r.body == "ok");
  CHECK(made == 1);
  CHECK(srv.connections() == 1);
}

TEST_CASE("http server: a factory that fails closes the socket and reports why") {
  auto base = make_test_base();
  auto srv = make_server(*base);
  std::vector<std::string> errors;
  srv->set_error_callback([&errors](const ev::SocketAddress&, const std::string& what) { errors.push_back(what); });
  srv->set_bevcb([](ev::EventBase&, int fd, std::string* why) -> std::unique_ptr<ev::BufferEvent> {
    ::close(fd);
    *why = "no layer for you";
    return nullptr;
  });
  Client c(srv->addresses()[0]);
  c.write(get("/"));
  CHECK(wait_closed(*base, c));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "no layer for you");
  CHECK(srv->connections() == 0);
}
