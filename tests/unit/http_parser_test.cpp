// The HTTP/1.x parser: heads, framing and body decoding, fed whole and in
// pieces, and every refusal its header promises (request smuggling shapes,
// over-long heads, bad versions, numbers and chunk framing).
#include "engine/http/parser.h"

#include <string>
#include <utility>
#include <vector>

#include "engine/io/buffer.h"
#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::Buffer;
using ev::http::BodyDecoder;
using ev::http::BodyFraming;
using ev::http::Limits;
using ev::http::ParseResult;
using ev::http::RequestHead;
using ev::http::ResponseHead;

namespace {

// Everything one message gave: how it ended, its head, body and what
// followed it.
struct Outcome {
  ParseResult::Code code = ParseResult::kIncomplete;
  int status = 0;  // of the error
  std::string method, target, reason;
  int major = 0, minor = 0, code_status = 0;
  bool keep_alive = false;
  std::vector<std::pair<std::string, std::string>> headers;
  BodyFraming::Kind kind = BodyFraming::kNone;
  std::uint64_t length = 0;  // of a kLength framing
  std::string body, rest;

  bool operator==(const Outcome&) const = default;
};

template <typename Head>
void copy_head(const Head& head, Outcome& o) {
  o.major = head.version_major;
  o.minor = head.version_minor;
  o.keep_alive = head.keep_alive();
  for (const auto& field : head.headers) o.headers.push_back(field);
}

// Feeds `wire` to a Buffer `step` bytes at a time and parses one message:
// a request, or (with `method` set) a response to that method. `eof`: the
// peer closes after the last byte.
Outcome run(std::string_view wire, std::size_t step, const char* method = nullptr, bool eof = false,
            const Limits& limits = {}) {
  Outcome o;
  Buffer in, body;
  RequestHead req;
  ResponseHead resp;
  BodyDecoder decoder;
  BodyFraming framing;
  bool have_head = false;
  std::size_t fed = 0;
  while (true) {
    std::size_t n = std::min(step, wire.size() - fed);
    in.add(wire.substr(fed, n));
    fed += n;
    bool at_eof = eof && fed == wire.size();
    ParseResult r = ParseResult::done();
    if (!have_head) {
      r = method ? ev::http::parse_response_head(in, limits, resp) : ev::http::parse_request_head(in, limits, req);
      if (r.code == ParseResult::kDone) {
        have_head = true;
        r = method ? ev::http::response_framing(resp, method, framing) : ev::http::request_framing(req, framing);
        if (r.code == ParseResult::kDone) decoder.reset(framing, limits.max_body_size);
      }
    }
    if (have_head && r.code == ParseResult::kDone) r = decoder.decode(in, body, at_eof);
    o.code = r.code;
    o.status = r.status;
    if (r.code != ParseResult::kIncomplete || fed == wire.size()) break;
  }
  o.kind = framing.kind;
  o.length = framing.length;
  if (have_head) {
    if (method) {
      copy_head(resp, o);
      o.code_status = resp.status;
      o.reason = resp.reason;
    } else {
      copy_head(req, o);
      o.method = req.method;
      o.target = req.target;
    }
  }
  o.body = body.to_string();
  o.rest = in.to_string() + std::string(wire.substr(fed));
  return o;
}

Outcome request(std::string_view wire, const Limits& limits = {}) {
  return run(wire, wire.size() ? wire.size() : 1, nullptr, false, limits);
}

Outcome response(std::string_view wire, const char* method = "GET", bool eof = false) {
  return run(wire, wire.size() ? wire.size() : 1, method, eof);
}

// The same message fed whole, byte by byte, and in a few odd-sized pieces
// must give the same outcome.
Outcome request_all_ways(std::string_view wire, const Limits& limits = {}) {
  Outcome whole = request(wire, limits);
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}}) {
    CAPTURE(step);
    CHECK(run(wire, step, nullptr, false, limits) == whole);
  }
  return whole;
}

Outcome response_all_ways(std::string_view wire, const char* method = "GET", bool eof = false) {
  Outcome whole = response(wire, method, eof);
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    CAPTURE(step);
    CHECK(run(wire, step, method, eof) == whole);
  }
  return whole;
}

void check_request_error(std::string_view wire, int status, const Limits& limits = {}) {
  CAPTURE(std::string(wire.substr(0, 200)));
  Outcome o = request_all_ways(wire, limits);
  CHECK(o.code == ParseResult::kError);
  CHECK(o.status == status);
}

std::string get_with(std::string_view fields) { return "GET / HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n"; }
std::string post_with(std::string_view fields, std::string_view body) {
  return "POST /p HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n" + std::string(body);
}

}  // namespace

TEST_CASE("http parser: a simple GET") {
  Outcome o = request_all_ways("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
  CHECK(o.code == ParseResult::kDone);
  CHECK(o.method == "GET");
  CHECK(o.target == "/index.html?q=1");
  CHECK(o.major == 1);
  CHECK(o.minor == 1);
  CHECK(o.keep_alive);
  REQUIRE(o.headers.size() == 2);
  CHECK(o.headers[0] == std::pair<std::string, std::string>{"Host", "example.com"});
  CHECK(o.headers[1] == std::pair<std::string, std::string>{"Accept", "*/*"});
  CHECK(o.kind == BodyFraming::kNone);
  CHECK(o.body.empty());
  CHECK(o.rest.empty());
}

TEST_CASE("http parser: the head is drained and what follows stays") {
  Buffer in;
  in.add("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  RequestHead head;
  REQUIRE(ev::http::parse_request_head(in, {}, head).code == ParseResult::kDone);
  CHECK(head.target == "/a");
  CHECK(in.to_string() == "GET /b HTTP/1.1\r\n\r\n");
  // A head parsed into the same object forgets the previous fields.
  REQUIRE(ev::http::parse_request_head(in, {}, head).code == ParseResult::kDone);
  CHECK(head.target == "/b");
  CHECK(head.headers.empty());
  CHECK(in.empty());
  CHECK(ev::http::parse_request_head(in, {}, head).code == ParseResult::kIncomplete);
}

TEST_CASE("http parser: incomplete heads wait for more") {
  for (const std::string part : {"", "GET", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: h\r\n",
                                 "GET / HTTP/1.1\r\nHost: h\r\n\r"}) {
    CAPTURE(part);
    Buffer in;
    in.add(part);
    RequestHead head;
    CHECK(ev::http::parse_request_head(in, {}, head).code == ParseResult::kIncomplete);
    CHECK(in.to_string() == part);
  }
}

TEST_CASE("http parser: leading empty lines before a request are skipped") {
  Outcome o = request_all_ways("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(o.code == ParseResult::kDone);
  CHECK(o.method == "GET");
  CHECK(o.rest.empty());
  CHECK(request_all_ways("\nGET / HTTP/1.1\r\n\r\n").code == ParseResult::kDone);
}

TEST_CASE("http parser: keep_alive for HTTP/1.0 and 1.1") {
  struct Case {
    const char* wire;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.wire));
    Outcome o = request(c.wire);
    REQUIRE(o.code == ParseResult::kDone);
    CHECK(o.keep_alive == c.keep_alive);
  }
  Outcome r10 = response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK_FALSE(r10.keep_alive);
  CHECK(response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
  CHECK(response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  CHECK_FALSE(response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST_CASE("http parser: only HTTP/1.0 and HTTP/1.1 with one digit each") {
  CHECK(request("GET / HTTP/1.0\r\n\r\n").minor == 0);
  for (const std::string version : {"HTTP/1.1000000000", "HTTP/11111111111.1", "HTTP/2.0", "HTTP/0.9", "HTTP/1.12",
                                    "HTTP/01.1", "HTTP/1", "HTTP/1.", "HTTP/.1", "http/1.1", "HTTP/1.1 ", "HTTP/+1.1",
                                    "HTTP/1.-1", "HTTP/3", "HTTP/1,1", "HTTP/1.2", "HTTP/1.9"}) {
    CAPTURE(version);
    Outcome o = request(std::string("GET / ") + version + "\r\n\r\n");
    CHECK(o.code == ParseResult::kError);
    CHECK((o.status == 400 || o.status == 505));
    Outcome r = response(std::string(version) + " 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK(r.code == ParseResult::kError);
  }
  CHECK(request("GET / HTTP/2.0\r\n\r\n").status == 505);
}

TEST_CASE("http parser: malformed request lines are 400") {
  for (const std::string line :
       {"GET", "GET /", "GET  / HTTP/1.1", "GET /  HTTP/1.1", " GET / HTTP/1.1", "GET / HTTP/1.1 x", "G(E)T / HTTP/1.1",
        "GET /a\x01 HTTP/1.1", "GET /\x7f HTTP/1.1", "GET\t/ HTTP/1.1", "GET /\rx HTTP/1.1"}) {
    CAPTURE(line);
    check_request_error(std::string(line) + "\r\nHost: h\r\n\r\n", 400);
  }
}

TEST_CASE("http parser: a request line over max_header_size is 414") {
  Limits small;
  small.max_header_size = 64;
  check_request_error("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", 414, small);
  check_request_error("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414);
  // Without its end yet: refused at once rather than buffered for ever.
  check_request_error("GET /" + std::string(20000, 'a'), 414);
  // One that fits is fine.
  CHECK(request("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n", small).code == ParseResult::kDone);
}

TEST_CASE("http parser: a request line of exactly max_header_size is accepted") {
  Limits small;
  small.max_header_size = 64;
  auto line_of = [](std::size_t n) {
    std::string line = "GET /";
    line += std::string(n - line.size() - 9, 'a') + " HTTP/1.1";
    REQUIRE(line.size() == n);
    return line;
  };
  // The CRLF is not counted; the fields have their own max_header_size.
  for (const std::string fields : {"", "Host: h\r\n"}) {
    CAPTURE(fields);
    Outcome fits = request_all_ways(line_of(64) + "\r\n" + fields + "\r\n", small);
    CHECK(fits.code == ParseResult::kDone);
    Outcome over = request_all_ways(line_of(65) + "\r\n" + fields + "\r\n", small);
    CHECK(over.code == ParseResult::kError);
    CHECK(over.status == 414);
  }
  CHECK(request_all_ways(line_of(64) + "\n\n", small).code == ParseResult::kDone);
  // Fields of exactly the limit (line endings included) too, one byte more is 431.
  std::string fields = "X: " + std::string(64 - 5, 'v') + "\r\n";
  REQUIRE(fields.size() == 64);
  CHECK(request_all_ways(line_of(64) + "\r\n" + fields + "\r\n", small).code == ParseResult::kDone);
  Outcome over = request_all_ways(line_of(64) + "\r\nX: " + std::string(64 - 4, 'v') + "\r\n\r\n", small);
  CHECK(over.status == 431);
}

TEST_CASE("http parser: header fields over max_header_size are 431") {
  std::string big;
  for (int i = 0; i < 40; ++i) big += "X-Field-" + std::to_string(i) + ": " + std::string(500, 'v') + "\r\n";
  check_request_error(get_with(big), 431);
  check_request_error("GET / HTTP/1.1\r\n" + big, 431);  // not even finished
  check_request_error(get_with("X: " + std::string(17000, 'v') + "\r\n"), 431);
  Limits small;
  small.max_header_size = 64;
  check_request_error("GET / HTTP/1.1\r\nX: " + std::string(80, 'v') + "\r\n\r\n", 431, small);
}

TEST_CASE("http parser: the header size limit does not depend on how the head arrives") {
  Limits small;
  small.max_header_size = 64;
  // Heads around the limit, whole and in pieces: each is accepted or refused the same way.
  for (std::size_t total = 60; total <= 70; ++total) {
    std::string head = "GET / HTTP/1.1\r\nX: ";
    head += std::string(total - head.size() - 4, 'v') + "\r\n\r\n";
    REQUIRE(head.size() == total);
    CAPTURE(total);
    Outcome o = request_all_ways(head, small);
    CHECK(o.code != ParseResult::kIncomplete);
  }
}

TEST_CASE("http parser: too many header fields is 431") {
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  check_request_error(get_with(many), 431);
  Limits few;
  few.max_header_count = 3;
  CHECK(request("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", few).code == ParseResult::kDone);
  check_request_error("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, few);
}

TEST_CASE("http parser: bad header lines are 400") {
  for (const std::string fields :
       {"X: a\r\n folded\r\n", "X: a\r\n\tfolded\r\n", "NoColon\r\n", "Host : h\r\n", "Ho st: h\r\n", "X(y): 1\r\n",
        ": empty-name\r\n", "X: a\x01z\r\n", "X: a\rb\r\n", "X: \x7f\r\n"}) {
    CAPTURE(fields);
    check_request_error(get_with(fields), 400);
  }
  check_request_error("GET / HTTP/1.1\r\n folded: first\r\n\r\n", 400);
  check_request_error(get_with(std::string("X: a\0b\r\n", 8)), 400);
}

TEST_CASE("http parser: field values are trimmed of OWS") {
  Outcome o = request("GET / HTTP/1.1\r\nA:1\r\nB: \t2 \t\r\nC:\r\nD: x y\r\n\r\n");
  REQUIRE(o.code == ParseResult::kDone);
  REQUIRE(o.headers.size() == 4);
  CHECK(o.headers[0].second == "1");
  CHECK(o.headers[1].second == "2");
  CHECK(o.headers[2].second.empty());
  CHECK(o.headers[3].second == "x y");
}

TEST_CASE("http parser: Content-Length values") {
  Outcome o = request_all_ways(post_with("Content-Length: 5\r\n", "helloGET"));
  CHECK(o.code == ParseResult::kDone);
  CHECK(o.kind == BodyFraming::kLength);
  CHECK(o.length == 5);
  CHECK(o.body == "hello");
  CHECK(o.rest == "GET");
  Outcome ows = request(post_with("Content-Length:    5  \r\n", "hello"));
  CHECK(ows.code == ParseResult::kDone);
  CHECK(ows.body == "hello");
  Outcome zero = request(post_with("Content-Length: 0\r\n", ""));
  CHECK(zero.code == ParseResult::kDone);
  CHECK(zero.body.empty());
  for (const std::string bad : {"-1", "+5", "0x10", "5 5", "5,5", "5;", "", "a", "1e3", "5.0", "99999999999999999999",
                                "18446744073709551616", "9223372036854775809", "9999999999999999999"}) {
    CAPTURE(bad);
    check_request_error(post_with(std::string("Content-Length: ") + bad + "\r\n", "hello"), 400);
  }
}

TEST_CASE("http parser: duplicated Content-Length") {
  check_request_error(post_with("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400);
  check_request_error(post_with("Content-Length: 5\r\ncontent-length: 50\r\n", "hello"), 400);
  // Identical duplicates may be accepted; if they are, they mean one length.
  Outcome same = request(post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"));
  if (same.code == ParseResult::kDone) {
    CHECK(same.length == 5);
    CHECK(same.body == "hello");
  } else {
    CHECK(same.status == 400);
  }
}

TEST_CASE("http parser: Transfer-Encoding") {
  Outcome o = request_all_ways(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\nNEXT"));
  CHECK(o.code == ParseResult::kDone);
  CHECK(o.kind == BodyFraming::kChunked);
  CHECK(o.body == "hello");
  CHECK(o.rest == "NEXT");
  CHECK(request(post_with("Transfer-Encoding: Chunked\r\n", "0\r\n\r\n")).code == ParseResult::kDone);
  // Together with Content-Length: the smuggling shape.
  check_request_error(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400);
  check_request_error(post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400);
  // Any coding but a final chunked.
  check_request_error(post_with("Transfer-Encoding: gzip\r\n", "x"), 501);
  for (const std::string te :
       {"gzip, chunked", "chunked, gzip", "chunked, chunked", "identity", "chunked;q=1", "xchunked"}) {
    CAPTURE(te);
    Outcome bad = request(post_with(std::string("Transfer-Encoding: ") + te + "\r\n", "0\r\n\r\n"));
    CHECK(bad.code == ParseResult::kError);
    CHECK((bad.status == 400 || bad.status == 501));
  }
  Outcome twice = request(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"));
  CHECK(twice.code == ParseResult::kError);
}

TEST_CASE("http parser: bad chunk sizes are 400") {
  for (const std::string size :
       {"0x10", "+10", "-1", " 10", "10 ", "10000000000000000", "", "g", "1 0", "10\t", "1_0"}) {
    CAPTURE(size);
    check_request_error(post_with("Transfer-Encoding: chunked\r\n",
                                  std::string(size) + "\r\n" + std::string(16, 'x') + "\r\n0\r\n\r\n"),
                        400);
  }
}

TEST_CASE("http parser: chunk extensions and trailers") {
  Outcome ext = request_all_ways(
      post_with("Transfer-Encoding: chunked\r\n", "5;a=b\r\nhello\r\n6;name=\"v\";x\r\n world\r\n0;end\r\n\r\n"));
  CHECK(ext.code == ParseResult::kDone);
  CHECK(ext.body == "hello world");
  Outcome trailers = request_all_ways(post_with(
      "Transfer-Encoding: chunked\r\n", "A\r\n0123456789\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1"));
  CHECK(trailers.code == ParseResult::kDone);
  CHECK(trailers.body == "0123456789");
  CHECK(trailers.rest == "GET / HTTP/1.1");
  CHECK(trailers.headers.size() == 2);  // trailers are not merged into the head
  Outcome upper =
      request(post_with("Transfer-Encoding: chunked\r\n", "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n"));
  CHECK(upper.body == "01234567890123456789");
}

TEST_CASE("http parser: a chunk not followed by CRLF is 400") {
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhelloX\r\n0\r\n\r\n"), 400);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello0\r\n\r\n"), 400);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello\n0\r\n\r\n"), 400);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello world\r\n0\r\n\r\n"), 400);
  // A size line ended by a bare LF (the parsers that disagree on it are how requests get smuggled).
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n"), 400);
}

TEST_CASE("http parser: bodies over max_body are 413") {
  Limits limits;
  limits.max_body_size = 4;
  check_request_error(post_with("Content-Length: 5\r\n", "hello"), 413, limits);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), 413, limits);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), 413, limits);
  CHECK(request(post_with("Content-Length: 4\r\n", "hell"), limits).code == ParseResult::kDone);
  CHECK(request(post_with("Transfer-Encoding: chunked\r\n", "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"), limits).code ==
        ParseResult::kDone);
  // A huge declared length is refused before its bytes arrive.
  check_request_error(post_with("Content-Length: 1000000\r\n", ""), 413, limits);
  check_request_error(post_with("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFFF\r\n"), 413, limits);
  // Close-delimited response bodies too.
  Buffer in, out;
  in.add("12345");
  BodyDecoder d;
  d.reset({BodyFraming::kUntilClose, 0}, 4);
  CHECK(d.decode(in, out).status == 413);
}

TEST_CASE("http parser: a Content-Length body split across feeds") {
  Buffer in, out;
  BodyDecoder d;
  d.reset({BodyFraming::kLength, 10});
  CHECK(d.remaining() == 10);
  in.add("abc");
  CHECK(d.decode(in, out).code == ParseResult::kIncomplete);
  CHECK(d.remaining() == 7);
  CHECK(d.decoded() == 3);
  CHECK(d.decode(in, out).code == ParseResult::kIncomplete);  // nothing new
  in.add("defg");
  CHECK(d.decode(in, out).code == ParseResult::kIncomplete);
  in.add("hijNEXT");
  CHECK(d.decode(in, out).code == ParseResult::kDone);
  CHECK(d.done());
  CHECK(d.remaining() == 0);
  CHECK(d.decoded() == 10);
  CHECK(out.to_string() == "abcdefghij");
  CHECK(in.to_string() == "NEXT");
  CHECK(d.decode(in, out).code == ParseResult::kDone);  // stays done, takes nothing more
  CHECK(in.to_string() == "NEXT");
}

TEST_CASE("http parser: eof completes a close-delimited body and truncates the others") {
  Outcome o = response_all_ways("HTTP/1.1 200 OK\r\n\r\nall of this", "GET", true);
  CHECK(o.code == ParseResult::kDone);
  CHECK(o.kind == BodyFraming::kUntilClose);
  CHECK(o.body == "all of this");
  CHECK(response("HTTP/1.1 200 OK\r\n\r\nmore to come").code == ParseResult::kIncomplete);
  Outcome cut = response_all_ways("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "GET", true);
  CHECK(cut.code == ParseResult::kError);
  CHECK(cut.status == 400);
  Outcome cut_chunk = response_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "GET", true);
  CHECK(cut_chunk.code == ParseResult::kError);
  Outcome cut_trailer =
      response_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n", "GET", true);
  CHECK(cut_trailer.code == ParseResult::kError);
  // An empty close-delimited body.
  Buffer in, out;
  BodyDecoder d;
  d.reset({BodyFraming::kUntilClose, 0});
  CHECK(d.decode(in, out).code == ParseResult::kIncomplete);
  CHECK(d.decode(in, out, true).code == ParseResult::kDone);
  CHECK(d.decoded() == 0);
}

TEST_CASE("http parser: responses without a body") {
  struct Case {
    const char* wire;
    const char* method;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD"},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n", "GET"},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", "GET"},
      {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET"},
      {"HTTP/1.1 100 Continue\r\n\r\n", "POST"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "GET"},
      {"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", "GET"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.wire));
    Outcome o = response(std::string(c.wire) + "NEXT", c.method);
    CHECK(o.code == ParseResult::kDone);
    CHECK(o.kind == BodyFraming::kNone);
    CHECK(o.body.empty());
    CHECK(o.rest == "NEXT");
  }
  Outcome length = response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT");
  CHECK(length.kind == BodyFraming::kLength);
  CHECK(length.body == "abc");
  CHECK(length.rest == "NEXT");
  Outcome chunked = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  CHECK(chunked.kind == BodyFraming::kChunked);
  CHECK(chunked.body == "abc");
  CHECK(response("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").code == ParseResult::kError);
}

TEST_CASE("http parser: status lines") {
  Outcome ok = response_all_ways("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(ok.code == ParseResult::kDone);
  CHECK(ok.code_status == 200);
  CHECK(ok.reason == "OK");
  CHECK(ok.minor == 1);
  Outcome spaces = response("HTTP/1.0 404 Not Found At All\r\nContent-Length: 0\r\n\r\n");
  CHECK(spaces.code_status == 404);
  CHECK(spaces.reason == "Not Found At All");
  CHECK(spaces.minor == 0);
  Outcome empty = response("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n");
  CHECK(empty.code == ParseResult::kDone);
  CHECK(empty.code_status == 500);
  CHECK(empty.reason.empty());
  Outcome none = response("HTTP/1.1 302\r\nContent-Length: 0\r\n\r\n");
  CHECK(none.code == ParseResult::kDone);
  CHECK(none.code_status == 302);
  CHECK(none.reason.empty());
  CHECK(response("HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n").code_status == 599);
  CHECK(response("HTTP/1.1 200 caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n").code == ParseResult::kDone);
}

TEST_CASE("http parser: bad status lines") {
  for (const std::string line :
       {"HTTP/1.1 99 OK", "HTTP/1.1 1000 OK", "HTTP/1.1 abc OK", "HTTP/1.1 99", "HTTP/1.1 1000", "HTTP/1.1 20 OK",
        "HTTP/1.1 -20 OK", "HTTP/1.1 +200 OK", "HTTP/1.1 2OO OK", "HTTP/1.1  200 OK", "HTTP/1.1 200OK",
        "HTTP/1.1 099 OK", "HTTP/1.1 600 OK", "HTTP/1.1 200 O\x01K", "HTTP/1.1", "HTTP/1.1 ", "ICY 200 OK",
        "HTTP/1.1\t200 OK", ""}) {
    CAPTURE(line);
    Outcome o = response(std::string(line) + "\r\nContent-Length: 0\r\n\r\n");
    CHECK(o.code == ParseResult::kError);
    CHECK(o.status != 0);
  }
}

TEST_CASE("http parser: parse_content_length") {
  std::uint64_t n = 42;
  CHECK(ev::http::parse_content_length("0", n));
  CHECK(n == 0);
  CHECK(ev::http::parse_content_length("007", n));
  CHECK(n == 7);
  CHECK(ev::http::parse_content_length("1234567890123456789", n));  // 19 digits
  CHECK(n == 1234567890123456789ULL);
  CHECK(ev::http::parse_content_length("9223372036854775807", n));
  CHECK(n == 9223372036854775807ULL);
  n = 42;
  for (const std::string bad :
       {"12345678901234567890", "00000000000000000001", "", "-1", "+1", " 1", "1 ", "0x1", "1a", "1.0", "1,1"}) {
    CAPTURE(bad);
    CHECK_FALSE(ev::http::parse_content_length(bad, n));
    CHECK(n == 42);
  }
  CHECK_FALSE(ev::http::parse_content_length(std::string("1\0", 2), n));
}

TEST_CASE("http parser: parse_chunk_size") {
  std::uint64_t n = 42;
  CHECK(ev::http::parse_chunk_size("0", n));
  CHECK(n == 0);
  CHECK(ev::http::parse_chunk_size("1a", n));
  CHECK(n == 26);
  CHECK(ev::http::parse_chunk_size("FF", n));
  CHECK(n == 255);
  CHECK(ev::http::parse_chunk_size("10;a=b", n));
  CHECK(n == 16);
  CHECK(ev::http::parse_chunk_size("10;", n));
  CHECK(ev::http::parse_chunk_size("FFFFFFFFFFFFFFFF", n));  // 16 digits
  CHECK(n == UINT64_MAX);
  CHECK(ev::http::parse_chunk_size("0000000000000001", n));
  CHECK(n == 1);
  n = 42;
  for (const std::string bad : {"0x10", "+10", "-1", " 10", "10 ", "10000000000000000", "00000000000000001", "", ";a=b",
                                "g", "1 ;a", "10\t", "1\r"}) {
    CAPTURE(bad);
    CHECK_FALSE(ev::http::parse_chunk_size(bad, n));
    CHECK(n == 42);
  }
}

TEST_SUITE_END();
