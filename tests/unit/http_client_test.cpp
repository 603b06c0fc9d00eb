// http::Client against a canned server in the same loop: bodies by length
// and chunked, redirects reusing the kept-alive connection, back-pressure
// when the caller does not drain, retries with backoff, https refused
// without a TLS connector; and the pieces it sends (RequestBody,
// MultipartForm, base64).
#include "engine/http/client.h"

#include <map>
#include <string>
#include <vector>

#include "engine/http/multipart.h"
#include "engine/io/listener.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/base64.h"
#include "io_test_util.h"

using ev::BufferEvent;
using ev::SocketBufferEvent;
using ev::http::Client;
using ev::http::ClientError;
using ev::http::ClientRequest;
using ev::http::ClientResult;

namespace {

// Answers "METHOD /path" with a canned raw response; keeps connections open.
struct CannedServer {
  explicit CannedServer(ev::EventBase& b) : base(b) {
    std::string why;
    listener = ev::ConnListener::bind(
        base, *ev::parse_sockaddr_port("127.0.0.1:0"), ev::ConnListener::kReusable, -1,
        [this](ev::ConnListener&, int fd, const ev::SocketAddress&) { accept(fd); }, &why);
    REQUIRE(listener);
    port = listener->local_address().port();
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }

  void accept(int fd) {
    auto bev = SocketBufferEvent::create(base, fd, BufferEvent::kCloseOnFree);
    bev->setcb([this](BufferEvent& b) { serve(b); }, nullptr, [](BufferEvent& b, short) { b.disable(ev::kRead); });
    bev->enable(ev::kRead | ev::kWrite);
    conns.push_back(std::move(bev));
  }

  void serve(BufferEvent& b) {
    for (;;) {
      ev::BufferPtr end = b.input().search("\r\n\r\n");
      if (!end.valid()) return;
      std::string head(static_cast<std::size_t>(end.pos) + 4, '\0');
      b.input().copyout(head.data(), head.size());
      std::size_t length = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos) length = std::stoul(head.substr(at + 16));
      if (b.input().length() < head.size() + length) return;
      b.input().drain(head.size());
      std::string body(length, '\0');
      b.input().remove(body.data(), length);
      requests.push_back(head + body);
      std::string line = head.substr(0, head.find(' ', head.find(' ') + 1));
      auto it = responses.find(line);
      const std::string reply =
          it != responses.end() ? it->second : std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      b.write(reply.data(), reply.size());
    }
  }

  ev::EventBase& base;
  std::unique_ptr<ev::ConnListener> listener;
  std::vector<std::unique_ptr<BufferEvent>> conns;
  std::map<std::string, std::string> responses;
  std::vector<std::string> requests;
  int port = 0;
};

std::string ok_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

ClientRequest get(const std::string& url, const std::string& method = "GET") {
  ClientRequest req;
  req.method = method;
  auto parsed = ev::http::Uri::parse(url);
  REQUIRE(parsed);
  req.url = *parsed;
  return req;
}

// Runs one request to completion, collecting the body.
struct Outcome {
  std::optional<ClientResult> result;
  std::string body;
  std::vector<int> heads;
};

Outcome fetch(ev::EventBase& base, Client& client, ClientRequest req) {
  Outcome out;
  Client::Handlers h;
  h.on_head = [&](const ev::http::Uri&, const ev::http::ResponseHead& head, bool) { out.heads.push_back(head.status); };
  h.on_body = [&](ev::Buffer& body) {
    out.body += body.to_string();
    body.drain(body.length());
  };
  h.on_complete = [&](const ClientResult& r) { out.result = r; };
  client.start(std::move(req), std::move(h));
  CHECK(run_until(base, [&] { return out.result.has_value(); }));
  return out;
}

}  // namespace

TEST_CASE("http::Client reads Content-Length and chunked bodies") {
  auto base = make_test_base();
  CannedServer server(*base);
  server.responses["GET /len"] = ok_response("hello");
  server.responses["GET /chunked"] =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  Client client(*base, {});
  Outcome a = fetch(*base, client, get(server.url("/len")));
  REQUIRE(a.result);
  CHECK(a.result->error == ClientError::kOk);
  CHECK(a.result->status == 200);
  CHECK(a.body == "hello");
  CHECK(a.result->body_size == 5);
  Outcome b = fetch(*base, client, get(server.url("/chunked")));
  REQUIRE(b.result);
  CHECK(b.body == "abcdefg");
  CHECK(server.conns.size() == 1);  // the second request reused the connection
  CHECK(server.requests[0].find("Host: 127.0.0.1:" + std::to_string(server.port) + "\r\n") != std::string::npos);
}

TEST_CASE("http::Client follows a 303 as GET on the same connection") {
  auto base = make_test_base();
  CannedServer server(*base);
  server.responses["POST /form"] = "HTTP/1.1 303 See Other\r\nLocation: done\r\nContent-Length: 2\r\n\r\nno";
  server.responses["GET /done"] = ok_response("thanks");
  ev::http::ClientOptions opts;
  opts.follow_redirects = true;
  Client client(*base, opts);
  ClientRequest req = get(server.url("/form"), "POST");
  req.body.add_bytes("a=1");
  req.headers.add("Content-Type", "application/x-www-form-urlencoded");
  Outcome out = fetch(*base, client, std::move(req));
  REQUIRE(out.result);
  CHECK(out.result->error == ClientError::kOk);
  CHECK(out.body == "thanks");
  CHECK(out.heads == std::vector<int>{303, 200});
  CHECK(out.result->redirects == 1);
  REQUIRE(server.requests.size() == 2);
  CHECK(server.requests[0].ends_with("\r\n\r\na=1"));
  CHECK(server.requests[1].starts_with("GET /done HTTP/1.1\r\n"));
  CHECK(server.requests[1].find("Content-Type") == std::string::npos);
  CHECK(server.conns.size() == 1);
}

TEST_CASE("http::Client stops reading while the caller does not drain the body") {
  auto base = make_test_base();
  CannedServer server(*base);
  const std::string big = pattern(6 * 1024 * 1024);
  server.responses["GET /big"] = ok_response(big);
  Client client(*base, {});
  std::optional<ClientResult> result;
  std::size_t most = 0;
  Client::Handlers h;
  h.on_body = [&](ev::Buffer& body) { most = std::max(most, body.length()); };  // a sink that never takes
  h.on_complete = [&](const ClientResult& r) { result = r; };
  client.start(get(server.url("/big")), std::move(h));
  run_for(*base, std::chrono::milliseconds(300));
  CHECK_FALSE(result);
  CHECK(client.body().length() < big.size());
  CHECK(most < Client::kBodyHigh + 1024 * 1024);
  std::string got;  // now drain: the download resumes
  CHECK(run_until(*base, [&] {
    got += client.body().to_string();
    client.body().drain(client.body().length());
    return result.has_value() && client.body().empty();
  }));
  REQUIRE(result);
  CHECK(result->error == ClientError::kOk);
  CHECK(got == big);
}

TEST_CASE("http::Client retries a refused connection with backoff") {
  auto base = make_test_base();
  int port;
  {
    CannedServer gone(*base);
    port = gone.port;
  }
  ev::http::ClientOptions opts;
  opts.retries = 2;
  opts.retry_delay = std::chrono::milliseconds(20);
  Client client(*base, opts);
  std::vector<std::string> traces;
  Outcome out;
  Client::Handlers h;
  h.on_complete = [&](const ClientResult& r) { out.result = r; };
  h.on_trace = [&](Client::Trace, std::string_view text) { traces.emplace_back(text); };
  auto start = std::chrono::steady_clock::now();
  client.start(get("http://127.0.0.1:" + std::to_string(port) + "/"), std::move(h));
  CHECK(run_until(*base, [&] { return out.result.has_value(); }));
  REQUIRE(out.result);
  CHECK(out.result->error == ClientError::kRefused);
  CHECK(out.result->retries == 2);
  CHECK(elapsed_ms(start) >= 55);  // 20 ms, then 40 ms
  CHECK(std::count_if(traces.begin(), traces.end(), [](const std::string& t) {
          return t.find("retry") != std::string::npos;
        }) == 2);
}

TEST_CASE("http::Client refuses https without a TLS connector") {
  auto base = make_test_base();
  Client client(*base, {});
  Outcome out = fetch(*base, client, get("https://127.0.0.1:1/"));
  REQUIRE(out.result);
  CHECK(out.result->error == ClientError::kUnsupported);
  CHECK(out.result->message == "https is not supported yet");
}

TEST_CASE("http::Client times out on a server that never answers") {
  auto base = make_test_base();
  CannedServer server(*base);  // no canned answer for this one: never replies
  server.responses["GET /silent"] = "";
  ev::http::ClientOptions opts;
  opts.total_timeout = std::chrono::milliseconds(100);
  Client client(*base, opts);
  Outcome out = fetch(*base, client, get(server.url("/silent")));
  REQUIRE(out.result);
  CHECK(out.result->error == ClientError::kTimeout);
}

TEST_CASE("RequestBody and MultipartForm") {
  ev::http::RequestBody body;
  body.add_bytes("ab");
  body.add_bytes("cd");
  CHECK(body.length() == 4u);
  CHECK(body.replayable());
  ev::Buffer out;
  REQUIRE(body.append_to(out));
  REQUIRE(body.append_to(out));  // and again, for a redirect
  CHECK(out.to_string() == "abcdabcd");

  ev::http::MultipartForm form;
  form.add_field("name", "va\"lue");
  std::string boundary = form.boundary();
  CHECK(form.content_type() == "multipart/form-data; boundary=" + boundary);
  std::string why;
  CHECK_FALSE(form.add_file("f", "/nonexistent/file", &why));
  CHECK(why.find("/nonexistent/file") != std::string::npos);
  ev::http::RequestBody multipart = form.finish();
  ev::Buffer text;
  REQUIRE(multipart.append_to(text));
  CHECK(text.to_string() == "--" + boundary + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nva\"lue\r\n--" +
                                boundary + "--\r\n");
  CHECK(multipart.length() == text.length());
}

TEST_CASE("base64_encode" * doctest::test_suite("codec")) {
  CHECK(ev::base64_encode("") == "");
  CHECK(ev::base64_encode("f") == "Zg==");
  CHECK(ev::base64_encode("fo") == "Zm8=");
  CHECK(ev::base64_encode("foo") == "Zm9v");
  CHECK(ev::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(ev::base64_encode("alice:p@ss") == "YWxpY2U6cEBzcw==");
}
