// TLS (src/engine/tls): contexts, ephemeral certificates, and
// TlsBufferEvent held to its contract — client and server ends in one loop
// over loopback TCP, a filter and a BufferEvent pair: the handshake, data
// both ways (4 MiB byte-exact), ALPN, TLS 1.2 and 1.3, verification (chain,
// host name, IP SAN, insecure), clean and dirty shutdown, garbage peers,
// watermarks, enable/disable, timeouts, rate limits, session resumption and
// destruction from inside callbacks.
#include "engine/tls/tls_buffer_event.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/listener.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/tls/certificate.h"
#include "engine/tls/context.h"
#include "engine/util/sockaddr.h"
#include "io_test_util.h"

namespace {

using ev::BufferEvent;
using ev::SocketBufferEvent;
using ev::tls::Context;
using ev::tls::TlsBufferEvent;
using Mode = TlsBufferEvent::Mode;
using Result = BufferEvent::FilterResult;

constexpr short kConnected = BufferEvent::kConnected;
constexpr short kEof = BufferEvent::kEof;
constexpr short kError = BufferEvent::kError;
constexpr short kTimedOut = BufferEvent::kTimedOut;
constexpr short kReading = BufferEvent::kReading;
constexpr short kWriting = BufferEvent::kWriting;

// A self-signed certificate made here, also written as PEM files to a
// temporary directory (removed with it) for file-based contexts.
struct TestCert {
  ev::tls::Certificate cert;
  std::filesystem::path dir, cert_file, key_file;

  explicit TestCert(const std::vector<std::string>& names) {
    std::string why;
    cert = ev::tls::make_self_signed(names, &why);
    INFO(why);
    REQUIRE(cert.cert);
    REQUIRE(cert.key);
    char tmpl[] = "/tmp/evtool-tls-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    dir = tmpl;
    cert_file = dir / "cert.pem";
    key_file = dir / "key.pem";
    std::FILE* f = std::fopen(cert_file.c_str(), "w");
    REQUIRE(f);
    CHECK(PEM_write_X509(f, cert.cert) == 1);
    std::fclose(f);
    f = std::fopen(key_file.c_str(), "w");
    REQUIRE(f);
    CHECK(PEM_write_PrivateKey(f, cert.key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    std::fclose(f);
  }
  ~TestCert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;
};

// The context that `make` (Context::server or Context::client) builds
// from cfg, which must succeed.
template <class Config>
std::shared_ptr<Context> made(std::shared_ptr<Context> (*make)(const Config&, std::string*), const Config& cfg) {
  std::string why;
  auto ctx = make(cfg, &why);
  INFO(why);
  REQUIRE(ctx);
  return ctx;
}

std::shared_ptr<Context> server_ctx(const TestCert& c, bool from_files = false,
                                    std::vector<std::string> alpn = {"http/1.1"}) {
  ev::tls::ServerConfig cfg;
  if (from_files) {
    cfg.cert_file = c.cert_file;
    cfg.key_file = c.key_file;
  } else {
    cfg.cert = c.cert.cert;
    cfg.key = c.cert.key;
  }
  cfg.alpn = std::move(alpn);
  auto ctx = made(&Context::server, cfg);
  CHECK(ctx->is_server());
  return ctx;
}

std::shared_ptr<Context> client_ctx(bool verify, std::string ca_file = {},
                                    std::vector<std::string> alpn = {"http/1.1"}) {
  ev::tls::ClientConfig cfg;
  cfg.verify = verify;
  cfg.ca_file = std::move(ca_file);
  cfg.alpn = std::move(alpn);
  auto ctx = made(&Context::client, cfg);
  CHECK_FALSE(ctx->is_server());
  CHECK(ctx->verify() == verify);
  return ctx;
}

// ctx, limited to TLS versions min..max (0: that end as it was).
std::shared_ptr<Context> limited(std::shared_ptr<Context> ctx, int min, int max) {
  if (min) REQUIRE(SSL_CTX_set_min_proto_version(ctx->native(), min) == 1);
  if (max) REQUIRE(SSL_CTX_set_max_proto_version(ctx->native(), max) == 1);
  return ctx;
}

// A connected pair of non-blocking loopback TCP sockets: {client, server}.
std::pair<ev::UniqueFd, ev::UniqueFd> tcp_pair() {
  ev::UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(l);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(::listen(l.get(), 1) == 0);
  socklen_t len = sizeof sin;
  REQUIRE(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  ev::UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(c);
  REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  ev::UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  REQUIRE(s);
  REQUIRE(ev::make_socket_nonblocking(c.get()) == 0);
  return {std::move(c), std::move(s)};
}

// Everything a BufferEvent reports; `tls` (when set) has its error() and
// dirty_shutdown() noted at each event.
struct Recorder {
  std::string data;
  int reads = 0, writes = 0;
  std::vector<short> events;
  std::vector<std::string> errors;
  std::vector<bool> dirty;
  std::vector<std::string> order;  // "data" / "event"
  bool drain = true;
  std::size_t most = 0;  // the most input a read callback saw

  void attach(BufferEvent& bev) {
    bev.setcb(
        [this](BufferEvent& b) {
          ++reads;
          most = std::max(most, b.input().length());
          if (drain) data += b.input().to_string(), b.input().drain(b.input().length());
          order.push_back("data");
        },
        [this](BufferEvent&) { ++writes; },
        [this](BufferEvent& b, short what) {
          events.push_back(what);
          auto* t = dynamic_cast<TlsBufferEvent*>(&b);
          errors.push_back(t ? t->error() : std::string());
          dirty.push_back(t && t->dirty_shutdown());
          order.push_back("event");
        });
  }
  bool got(short what) const {
    return std::any_of(events.begin(), events.end(), [&](short w) { return (w & what) == what; });
  }
};

// Reports each end to its Recorder and starts both reading.
void start_reading(TlsBufferEvent& client, TlsBufferEvent& server, Recorder& crec, Recorder& srec) {
  crec.attach(client);
  srec.attach(server);
  client.enable(ev::kRead);
  server.enable(ev::kRead);
}

// start_reading(), then runs until the handshake is through on both ends.
void handshake(ev::EventBase& base, TlsBufferEvent& client, TlsBufferEvent& server, Recorder& crec, Recorder& srec) {
  start_reading(client, server, crec, srec);
  REQUIRE(run_until(base, [&] { return !crec.events.empty() && server.handshake_done(); }));
  REQUIRE(crec.events == std::vector<short>{kConnected});
}

// A TLS client and server on the two ends of a loopback TCP connection,
// both reading, each reporting to its Recorder.
struct Link {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  std::unique_ptr<TlsBufferEvent> client, server;
  Recorder crec, srec;
  int client_fd = -1, server_fd = -1;  // owned by the BufferEvents

  Link(std::shared_ptr<Context> cctx, std::shared_ptr<Context> sctx, std::string_view host = "localhost",
       int options = 0) {
    auto [c, s] = tcp_pair();
    client_fd = c.get();
    server_fd = s.get();
    std::string why;
    server = TlsBufferEvent::accept_socket(*base, s.release(), std::move(sctx), options, &why);
    INFO(why);
    REQUIRE(server);
    client = TlsBufferEvent::wrap(SocketBufferEvent::create(*base, c.release(), BufferEvent::kCloseOnFree),
                                  std::move(cctx), Mode::kConnecting, host, options, &why);
    INFO(why);
    REQUIRE(client);
    start_reading(*client, *server, crec, srec);
  }

  // Runs until the client has heard how the handshake went and the server
  // finished (or failed) its side.
  void settle() {
    run_until(*base, [&] { return !crec.events.empty() && (server->handshake_done() || !srec.events.empty()); });
  }
  // The handshake went through on both ends.
  bool established() {
    settle();
    return crec.events == std::vector<short>{kConnected} && client->handshake_done() && server->handshake_done() &&
           srec.events.empty();
  }
  // Runs until the server has read `up` bytes and the client `down` bytes.
  bool received(std::size_t up, std::size_t down, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    return run_until(*base, [&] { return srec.data.size() >= up && crec.data.size() >= down; }, limit);
  }
  // Each end read exactly what the other sent, and nothing else happened.
  void check_exchanged(const std::string& up, const std::string& down) {
    CHECK(srec.data == up);
    CHECK(crec.data == down);
    CHECK(srec.events.empty());
    CHECK(crec.events == std::vector<short>{kConnected});
  }
};

// A TLS client (not verifying) on one end of a loopback TCP connection
// whose other end, `peer`, is a raw socket. Its events are recorded; it
// does not read until enabled.
struct LoneClient {
  std::unique_ptr<ev::EventBase> base = make_test_base();
  ev::UniqueFd peer;
  std::unique_ptr<TlsBufferEvent> client;
  Recorder crec;

  LoneClient() {
    auto [c, s] = tcp_pair();
    peer = std::move(s);
    std::string why;
    client = TlsBufferEvent::wrap(SocketBufferEvent::create(*base, c.release(), BufferEvent::kCloseOnFree),
                                  client_ctx(false), Mode::kConnecting, "localhost", 0, &why);
    INFO(why);
    REQUIRE(client);
    crec.attach(*client);
  }
};

// A pass-through filter that counts (and keeps) the bytes it moves.
struct Tap {
  std::size_t bytes = 0;
  std::string seen;
  BufferEvent::FilterFn fn() {
    return [this](ev::Buffer& src, ev::Buffer& dst, ssize_t limit, BufferEvent::Flush) {
      std::size_t n = src.length();
      if (limit >= 0) n = std::min(n, static_cast<std::size_t>(limit));
      if (n == 0) return Result::NeedMore;
      std::string chunk(n, '\0');
      src.copyout(chunk.data(), n);
      seen += chunk;
      bytes += n;
      src.remove_buffer(dst, n);
      return Result::Ok;
    };
  }
};

std::string reversed_pattern(std::size_t n) {
  std::string s = pattern(n);
  std::reverse(s.begin(), s.end());
  return s;
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

// ---- contexts and certificates ------------------------------------------------

TEST_CASE("tls: make_self_signed covers its names and sha256_fingerprint matches the DER digest") {
  TestCert c({"localhost", "127.0.0.1", "::1", "example.test"});
  CHECK(X509_check_host(c.cert.cert, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(c.cert.cert, "example.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(c.cert.cert, "other.example", 0, 0, nullptr) == 0);
  CHECK(X509_check_ip_asc(c.cert.cert, "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(c.cert.cert, "::1", 0) == 1);
  CHECK(X509_check_ip_asc(c.cert.cert, "127.0.0.2", 0) == 0);
  CHECK(X509_check_private_key(c.cert.cert, c.cert.key) == 1);
  // Valid now (from an hour ago), for about 30 days.
  CHECK(X509_cmp_current_time(X509_get0_notBefore(c.cert.cert)) < 0);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(c.cert.cert)) > 0);
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c.cert.cert), X509_get0_notAfter(c.cert.cert)) == 1);
  CHECK(days >= 29);
  CHECK(days <= 31);

  std::string fp = ev::tls::sha256_fingerprint(c.cert.cert);
  REQUIRE(fp.size() == 32 * 3 - 1);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  REQUIRE(X509_digest(c.cert.cert, EVP_sha256(), md, &len) == 1);
  REQUIRE(len == 32);
  char want[8];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(want, sizeof want, "%02X", md[i]);
    CHECK(fp.substr(i * 3, 2) == want);
    if (i + 1 < len) CHECK(fp[i * 3 + 2] == ':');
  }
  CHECK(ev::tls::sha256_fingerprint(nullptr).empty());

  // Two certificates are two keys and two serial numbers.
  TestCert d({"localhost"});
  CHECK(ev::tls::sha256_fingerprint(d.cert.cert) != fp);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(c.cert.cert), X509_get0_serialNumber(d.cert.cert)) != 0);
}

TEST_CASE("tls: contexts refuse unusable files with a reason") {
  TestCert c({"localhost"});
  TestCert other({"localhost"});
  std::string why;
  ev::tls::ServerConfig cfg;
  cfg.cert_file = (c.dir / "missing.pem").string();
  cfg.key_file = c.key_file;
  CHECK_FALSE(Context::server(cfg, &why));
  CHECK(contains(why, "missing.pem"));

  why.clear();
  cfg.cert_file = c.cert_file;
  cfg.key_file = other.key_file;  // a key of another certificate
  CHECK_FALSE(Context::server(cfg, &why));
  CHECK_FALSE(why.empty());

  why.clear();
  cfg.key_file = c.key_file;
  auto ok = Context::server(cfg, &why);
  CHECK(ok);
  CHECK(why.empty());

  ev::tls::ClientConfig ccfg;
  ccfg.ca_file = (c.dir / "no-such-ca.pem").string();
  why.clear();
  CHECK_FALSE(Context::client(ccfg, &why));
  CHECK(contains(why, "no-such-ca.pem"));

  CHECK(contains(ev::tls::library_version(), "OpenSSL"));
  CHECK(ev::tls::error_queue_string("nothing") == "nothing");
}

// ---- handshake and data -----------------------------------------------------

TEST_CASE("tls: handshake, then data both ways byte-exact, ALPN http/1.1") {
  for (int options : {0, static_cast<int>(BufferEvent::kDeferCallbacks)}) {
    CAPTURE(options);
    TestCert c({"localhost", "127.0.0.1"});
    Link l(client_ctx(false), server_ctx(c), "localhost", options);
    CHECK_FALSE(l.client->handshake_done());
    CHECK(l.crec.events.empty());  // kConnected comes from the loop, after the handshake
    REQUIRE(l.established());
    CHECK(l.client->alpn() == "http/1.1");
    CHECK(l.server->alpn() == "http/1.1");
    CHECK(l.client->version() == l.server->version());
    CHECK_FALSE(l.client->cipher().empty());
    CHECK(l.client->cipher() == l.server->cipher());
    CHECK_FALSE(l.client->session_reused());
    CHECK(l.client->underlying() != nullptr);
    CHECK(l.client->underlying()->fd() == l.client_fd);
    CHECK(l.client->native() != nullptr);
    REQUIRE(l.client->peer_address());
    CHECK(l.client->peer_address()->port() != 0);

    l.client->write("ping", 4);
    REQUIRE(run_until(*l.base, [&] { return l.srec.data == "ping"; }));
    l.server->write("pong!", 5);
    REQUIRE(run_until(*l.base, [&] { return l.crec.data == "pong!"; }));
    CHECK(l.crec.writes >= 1);  // "ping" went out: the write callback ran
    CHECK(l.srec.writes >= 1);
    // Nothing but plaintext reached the user, and no stray events.
    CHECK(l.crec.events == std::vector<short>{kConnected});
    CHECK(l.srec.events.empty());
    // Both sockets are closed with their TlsBufferEvents.
    l.client.reset();
    l.server.reset();
    CHECK(fd_is_closed(l.client_fd));
    CHECK(fd_is_closed(l.server_fd));
  }
}

TEST_CASE("tls: the server answers from its read callback; 4 MiB each way arrive intact") {
  TestCert c({"localhost"});
  Link l(client_ctx(true, c.cert_file.string()), server_ctx(c, true));
  REQUIRE(l.established());
  const std::string up = pattern(4 << 20), down = reversed_pattern((4 << 20) + 13);
  l.client->write(up.data(), up.size());
  l.server->write(down.data(), down.size());
  REQUIRE(l.received(up.size(), down.size(), std::chrono::seconds(60)));
  CHECK(l.srec.data.size() == up.size());
  CHECK(l.crec.data.size() == down.size());
  CHECK(l.srec.data == up);
  CHECK(l.crec.data == down);
  CHECK(l.client->output().empty());
  CHECK(l.server->output().empty());

  // An echo written from inside the read callback goes out too.
  l.server->setcb([](BufferEvent& b) { b.write_buffer(b.input()); }, nullptr, nullptr);
  l.crec.data.clear();
  const std::string echo = pattern(300000);
  l.client->write(echo.data(), echo.size());
  REQUIRE(run_until(*l.base, [&] { return l.crec.data.size() >= echo.size(); }, std::chrono::seconds(30)));
  CHECK(l.crec.data == echo);
}

TEST_CASE("tls: ALPN is what both offer, or nothing") {
  TestCert c({"localhost"});
  SUBCASE("the server picks http/1.1 from a longer list") {
    Link l(client_ctx(false, {}, {"h2", "http/1.1"}), server_ctx(c));
    REQUIRE(l.established());
    CHECK(l.client->alpn() == "http/1.1");
    CHECK(l.server->alpn() == "http/1.1");
  }
  SUBCASE("no overlap is no ALPN, not a failed handshake") {
    Link l(client_ctx(false, {}, {"h2"}), server_ctx(c));
    REQUIRE(l.established());
    CHECK(l.client->alpn().empty());
    CHECK(l.server->alpn().empty());
  }
  SUBCASE("a client that offers none") {
    Link l(client_ctx(false, {}, {}), server_ctx(c));
    REQUIRE(l.established());
    CHECK(l.client->alpn().empty());
  }
}

TEST_CASE("tls: TLS 1.2 and TLS 1.3 both carry data") {
  TestCert c({"localhost"});
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    Link l(limited(client_ctx(true, c.cert_file.string()), version, 0), limited(server_ctx(c), 0, version));
    REQUIRE(l.established());
    std::string name = version == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3";
    CHECK(l.client->version() == name);
    CHECK(l.server->version() == name);
    CHECK(l.client->alpn() == "http/1.1");
    const std::string up = pattern(100000), down = reversed_pattern(70000);
    l.client->write(up.data(), up.size());
    l.server->write(down.data(), down.size());
    REQUIRE(l.received(up.size(), down.size()));
    CHECK(l.srec.data == up);
    CHECK(l.crec.data == down);
  }
}

TEST_CASE("tls: wrapped before the socket connects, the handshake starts once it does") {
  auto base = make_test_base();
  TestCert c({"localhost", "127.0.0.1"});
  auto sctx = server_ctx(c);
  std::unique_ptr<TlsBufferEvent> server;
  Recorder srec;
  std::string why;
  auto listener = ev::ConnListener::bind(
      *base, *ev::parse_sockaddr_port("127.0.0.1:0"), ev::ConnListener::kReusable, -1,
      [&](ev::ConnListener&, int fd, const ev::SocketAddress&) {
        std::string w;
        server = TlsBufferEvent::accept_socket(*base, fd, sctx, 0, &w);
        REQUIRE(server);
        srec.attach(*server);
        server->enable(ev::kRead);
      },
      &why);
  INFO(why);
  REQUIRE(listener);

  auto socket = SocketBufferEvent::create(*base, -1, 0);
  SocketBufferEvent* raw_socket = socket.get();
  auto client = TlsBufferEvent::wrap(std::move(socket), client_ctx(true, c.cert_file.string()), Mode::kConnecting,
                                     "127.0.0.1", 0, &why);
  REQUIRE(client);
  Recorder crec;
  crec.attach(*client);
  client->enable(ev::kRead);
  client->write("early", 5);  // queued before the connection is up
  REQUIRE(client->underlying() == raw_socket);
  REQUIRE(raw_socket->connect(listener->local_address()) == 0);
  REQUIRE(run_until(*base, [&] { return !crec.events.empty() && srec.data == "early"; }));
  // The socket's own kConnected is not passed on: one, after the handshake.
  CHECK(crec.events == std::vector<short>{kConnected});
  CHECK(client->handshake_done());
  server->write("late", 4);
  REQUIRE(run_until(*base, [&] { return crec.data == "late"; }));
  CHECK(srec.events.empty());
}

// ---- verification -------------------------------------------------------------

TEST_CASE("tls: verification rejects a self-signed certificate by default") {
  TestCert c({"localhost"});
  Link l(client_ctx(true), server_ctx(c));
  l.settle();
  REQUIRE(l.crec.events == std::vector<short>{kError});
  CHECK(l.client->verify_failed());
  CHECK_FALSE(l.client->handshake_done());
  CHECK(contains(l.client->error(), "certificate verify failed"));
  CHECK(contains(l.client->error(), "self"));
  CHECK(l.crec.errors == std::vector<std::string>{l.client->error()});  // set before the callback
  CHECK(l.client->error().find('\n') == std::string::npos);
  CHECK(l.crec.data.empty());
  // The server hears the client's alert: a failed handshake, not a connection.
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK((l.srec.events[0] & kError));
  CHECK_FALSE(l.server->handshake_done());
  CHECK_FALSE(l.server->verify_failed());
}

TEST_CASE("tls: verification accepts the certificate given as ca_file") {
  TestCert c({"localhost"});
  for (bool files : {false, true}) {
    CAPTURE(files);
    Link l(client_ctx(true, c.cert_file.string()), server_ctx(c, files), "localhost");
    REQUIRE(l.established());
    CHECK_FALSE(l.client->verify_failed());
    CHECK(l.client->error().empty());
    l.client->write("trusted", 7);
    REQUIRE(run_until(*l.base, [&] { return l.srec.data == "trusted"; }));
  }
}

TEST_CASE("tls: verification rejects a certificate for another host name") {
  TestCert c({"localhost", "127.0.0.1"});
  for (const char* host : {"other.example", "localhost.evil.example", "127.0.0.2", "::1"}) {
    CAPTURE(host);
    Link l(client_ctx(true, c.cert_file.string()), server_ctx(c), host);
    l.settle();
    REQUIRE(l.crec.events == std::vector<short>{kError});
    CHECK(l.client->verify_failed());
    CHECK(contains(l.client->error(), "certificate verify failed"));
    CHECK(contains(l.client->error(), "mismatch"));
    CHECK_FALSE(l.client->handshake_done());
  }
}

TEST_CASE("tls: an IP SAN is accepted for 127.0.0.1; a DNS-only certificate is not") {
  SUBCASE("IP SAN") {
    TestCert c({"localhost", "127.0.0.1"});
    Link l(client_ctx(true, c.cert_file.string()), server_ctx(c), "127.0.0.1");
    REQUIRE(l.established());
    CHECK_FALSE(l.client->verify_failed());
  }
  SUBCASE("no IP SAN") {
    TestCert c({"localhost"});
    Link l(client_ctx(true, c.cert_file.string()), server_ctx(c), "127.0.0.1");
    l.settle();
    REQUIRE(l.crec.events == std::vector<short>{kError});
    CHECK(l.client->verify_failed());
  }
}

TEST_CASE("tls: insecure accepts any certificate and any name") {
  TestCert c({"localhost"});
  for (const char* host : {"localhost", "other.example", "127.0.0.1"}) {
    CAPTURE(host);
    Link l(client_ctx(false), server_ctx(c), host);
    REQUIRE(l.established());
    CHECK_FALSE(l.client->verify_failed());
    l.server->write("hi", 2);
    REQUIRE(run_until(*l.base, [&] { return l.crec.data == "hi"; }));
  }
}

TEST_CASE("tls: the client sends the host name as SNI (not an IP literal)") {
  TestCert c({"localhost", "127.0.0.1"});
  for (const char* host : {"localhost", "127.0.0.1"}) {
    CAPTURE(host);
    Link l(client_ctx(true, c.cert_file.string()), server_ctx(c), host);
    REQUIRE(l.established());
    const char* sni = SSL_get_servername(l.server->native(), TLSEXT_NAMETYPE_host_name);
    if (std::string_view(host) == "localhost") {
      REQUIRE(sni);
      CHECK(std::string_view(sni) == "localhost");
    } else {
      CHECK(sni == nullptr);
    }
  }
}

// ---- other underlying BufferEvents -------------------------------------------

TEST_CASE("tls: over filter BufferEvents with pass-through functions") {
  auto base = make_test_base();
  TestCert c({"localhost"});
  auto [cfd, sfd] = tcp_pair();
  Tap c_in, c_out, s_in, s_out;
  std::string why;
  auto client = TlsBufferEvent::wrap(
      BufferEvent::filter(SocketBufferEvent::create(*base, cfd.release(), BufferEvent::kCloseOnFree), c_in.fn(),
                          c_out.fn(), 0),
      client_ctx(true, c.cert_file.string()), Mode::kConnecting, "localhost", 0, &why);
  INFO(why);
  REQUIRE(client);
  auto server = TlsBufferEvent::wrap(
      BufferEvent::filter(SocketBufferEvent::create(*base, sfd.release(), BufferEvent::kCloseOnFree), s_in.fn(),
                          s_out.fn(), 0),
      server_ctx(c), Mode::kAccepting, {}, 0, &why);
  REQUIRE(server);
  Recorder crec, srec;
  handshake(*base, *client, *server, crec, srec);
  CHECK(client->alpn() == "http/1.1");

  const std::string marker = "PLAINTEXT-MARKER-";
  std::string up, down;
  while (up.size() < 256 * 1024) up += marker + std::to_string(up.size()) + "\n";
  down = reversed_pattern(200000);
  client->write(up.data(), up.size());
  server->write(down.data(), down.size());
  REQUIRE(run_until(*base, [&] { return srec.data.size() >= up.size() && crec.data.size() >= down.size(); }));
  CHECK(srec.data == up);
  CHECK(crec.data == down);
  // Only ciphertext passed through the filters: more bytes than the data,
  // and never the plaintext.
  CHECK(c_out.bytes > up.size());
  CHECK(s_in.bytes == c_out.bytes);
  CHECK(s_out.bytes > down.size());
  CHECK(c_in.bytes == s_out.bytes);
  CHECK_FALSE(contains(c_out.seen, marker));
  CHECK_FALSE(contains(s_in.seen, marker));

  // A clean shutdown passes through the filters too.
  client->write("bye", 3);
  client->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*base, [&] { return !srec.events.empty(); }));
  CHECK(srec.events == std::vector<short>{kReading | kEof});
  CHECK(srec.data.substr(up.size()) == "bye");
  CHECK_FALSE(server->dirty_shutdown());
}

TEST_CASE("tls: over a BufferEvent pair") {
  auto base = make_test_base();
  TestCert c({"localhost"});
  auto [a, b] = BufferEvent::pair(*base, 0);
  std::string why;
  auto client = TlsBufferEvent::wrap(std::move(a), client_ctx(true, c.cert_file.string()), Mode::kConnecting,
                                     "localhost", 0, &why);
  INFO(why);
  REQUIRE(client);
  auto server = TlsBufferEvent::wrap(std::move(b), server_ctx(c), Mode::kAccepting, {}, 0, &why);
  REQUIRE(server);
  Recorder crec, srec;
  handshake(*base, *client, *server, crec, srec);
  CHECK(client->alpn() == "http/1.1");
  CHECK(client->underlying()->fd() == -1);

  const std::string up = pattern(1 << 20), down = reversed_pattern((1 << 20) + 1);
  client->write(up.data(), up.size());
  server->write(down.data(), down.size());
  REQUIRE(run_until(
      *base, [&] { return srec.data.size() >= up.size() && crec.data.size() >= down.size(); },
      std::chrono::seconds(30)));
  CHECK(srec.data == up);
  CHECK(crec.data == down);

  server->write("last", 4);
  server->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*base, [&] { return !crec.events.empty() && crec.events.back() != kConnected; }));
  CHECK(crec.events.back() == (kReading | kEof));
  CHECK(crec.data.substr(down.size()) == "last");
  CHECK_FALSE(client->dirty_shutdown());
  CHECK(crec.order.back() == "event");
}

// ---- shutdown -----------------------------------------------------------------

TEST_CASE("tls: flush(kWrite, Finished) is a clean shutdown: data, then kEof") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  const std::string last = pattern(50000);
  l.client->write(last.data(), last.size());
  l.client->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(l.srec.events == std::vector<short>{kReading | kEof});
  CHECK(l.srec.data == last);
  CHECK(l.srec.order.back() == "event");
  CHECK(l.srec.dirty == std::vector<bool>{false});
  CHECK_FALSE(l.server->dirty_shutdown());
  CHECK(l.server->error().empty());

  // A half-close: the server still answers, then closes in turn.
  l.server->write("after", 5);
  l.server->flush(ev::kWrite, BufferEvent::Flush::Finished);
  REQUIRE(run_until(*l.base, [&] { return l.crec.events.size() >= 2; }));
  CHECK(l.crec.data == "after");
  CHECK(l.crec.events.back() == (kReading | kEof));
  CHECK_FALSE(l.client->dirty_shutdown());
}

TEST_CASE("tls: flush(kWrite, Finished) before the handshake ends closes cleanly after it") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  l.client->write("queued", 6);
  CHECK(l.client->flush(ev::kWrite, BufferEvent::Flush::Finished) == 1);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(l.crec.events == std::vector<short>{kConnected});
  CHECK(l.srec.data == "queued");
  CHECK(l.srec.events == std::vector<short>{kReading | kEof});
  CHECK_FALSE(l.server->dirty_shutdown());
}

TEST_CASE("tls: a peer that just closes its socket is kEof with dirty_shutdown()") {
  TestCert c({"localhost"});
  auto base = make_test_base();
  auto [cfd, sfd] = tcp_pair();
  std::string why;
  auto server = TlsBufferEvent::accept_socket(*base, sfd.release(), server_ctx(c), 0, &why);
  REQUIRE(server);
  // The client's socket is ours to close: no kCloseOnFree.
  auto client = TlsBufferEvent::wrap(SocketBufferEvent::create(*base, cfd.get(), 0), client_ctx(false),
                                     Mode::kConnecting, "localhost", 0, &why);
  REQUIRE(client);
  Recorder crec, srec;
  handshake(*base, *client, *server, crec, srec);
  const std::string sent = pattern(30000);
  client->write(sent.data(), sent.size());
  REQUIRE(run_until(*base, [&] { return srec.data.size() == sent.size(); }));

  client.reset();  // no close_notify
  cfd.reset();     // the raw socket closes
  REQUIRE(run_until(*base, [&] { return !srec.events.empty(); }));
  CHECK(srec.events == std::vector<short>{kReading | kEof});
  CHECK(srec.dirty == std::vector<bool>{true});
  CHECK(server->dirty_shutdown());
  CHECK(srec.data == sent);
}

TEST_CASE("tls: a raw close in the middle of a record is a dirty kEof after the data before it") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  l.client->write("whole", 5);
  REQUIRE(run_until(*l.base, [&] { return l.srec.data == "whole"; }));
  // Encrypt a record, but let only half of it out before the socket shuts.
  l.client->underlying()->disable(ev::kWrite);
  l.client->write(pattern(1000).data(), 1000);
  ev::Buffer& wire = l.client->underlying()->output();
  REQUIRE(run_until(*l.base, [&] { return wire.length() > 1000; }));
  std::string half(wire.length() / 2, '\0');
  wire.remove(half.data(), half.size());
  write_text(l.client_fd, half);
  ::shutdown(l.client_fd, SHUT_WR);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(l.srec.events == std::vector<short>{kReading | kEof});
  CHECK(l.server->dirty_shutdown());
  CHECK(l.srec.data == "whole");
}

TEST_CASE("tls: a reset connection is kReading|kError with a reason in error()") {
  TestCert c({"localhost"});
  for (bool during_handshake : {false, true}) {
    CAPTURE(during_handshake);
    LoneClient lc;
    auto& crec = lc.crec;
    lc.client->enable(ev::kRead);
    // Closing with SO_LINGER 0 sends an RST.
    linger lg{1, 0};
    REQUIRE(::setsockopt(lc.peer.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    if (during_handshake) {
      REQUIRE(run_until(*lc.base, [&] { return bytes_queued(lc.peer.get()) > 0; }));
      lc.peer.reset();
    } else {
      std::string why;
      auto server = TlsBufferEvent::accept_socket(*lc.base, lc.peer.release(), server_ctx(c), 0, &why);
      REQUIRE(server);
      REQUIRE(run_until(*lc.base, [&] { return !crec.events.empty() && server->handshake_done(); }));
      REQUIRE(crec.events == std::vector<short>{kConnected});
      crec.events.clear();
      crec.errors.clear();
      server.reset();  // closes the socket
    }
    REQUIRE(run_until(*lc.base, [&] { return !crec.events.empty(); }));
    REQUIRE(crec.events.size() == 1);
    INFO("error: ", crec.errors[0]);
    CHECK((crec.events[0] & kError));
    if (!during_handshake) CHECK((crec.events[0] & kReading));
    CHECK_FALSE(lc.client->verify_failed());
    CHECK_FALSE(crec.errors[0].empty());  // error() was set before the callback
  }
}

// ---- peers that do not speak TLS -----------------------------------------------

TEST_CASE("tls: garbage instead of a ClientHello is a server kError with a readable error()") {
  TestCert c({"localhost"});
  for (std::string garbage : {std::string("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                              std::string("\x16\x03\x01\xff\xff") + std::string(100, '\x7f'),
                              std::string(64, '\0')}) {
    CAPTURE(garbage.size());
    auto base = make_test_base();
    auto [cfd, sfd] = tcp_pair();
    std::string why;
    auto server = TlsBufferEvent::accept_socket(*base, sfd.release(), server_ctx(c), 0, &why);
    REQUIRE(server);
    Recorder srec;
    srec.attach(*server);
    server->enable(ev::kRead);
    write_text(cfd.get(), garbage);
    REQUIRE(run_until(*base, [&] { return !srec.events.empty(); }));
    CHECK(srec.events == std::vector<short>{kError});
    CHECK_FALSE(server->handshake_done());
    CHECK_FALSE(server->verify_failed());
    const std::string& err = server->error();
    INFO("server error: ", err);
    CHECK_FALSE(err.empty());
    CHECK(err.find('\n') == std::string::npos);
    CHECK_FALSE(contains(err, "unknown error"));
    CHECK_FALSE(contains(err, "error:0"));  // reasons, not packed codes
    CHECK(srec.data.empty());
    // Nothing more is read or reported.
    write_text(cfd.get(), "more");
    run_for(*base, std::chrono::milliseconds(30));
    CHECK(srec.events.size() == 1);
  }
}

TEST_CASE("tls: a client answered in plain text fails with a readable error()") {
  LoneClient lc;
  REQUIRE(run_until(*lc.base, [&] { return bytes_queued(lc.peer.get()) > 0; }));
  CHECK(read_available(lc.peer.get())[0] == '\x16');  // a handshake record
  write_text(lc.peer.get(), "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(run_until(*lc.base, [&] { return !lc.crec.events.empty(); }));
  CHECK(lc.crec.events == std::vector<short>{kError});
  CHECK_FALSE(lc.client->verify_failed());
  INFO("client error: ", lc.client->error());
  CHECK_FALSE(lc.client->error().empty());
  CHECK_FALSE(contains(lc.client->error(), "unknown error"));
}

TEST_CASE("tls: a peer that closes during the handshake is kError") {
  LoneClient lc;
  REQUIRE(run_until(*lc.base, [&] { return bytes_queued(lc.peer.get()) > 0; }));
  lc.peer.reset();
  REQUIRE(run_until(*lc.base, [&] { return !lc.crec.events.empty(); }));
  REQUIRE(lc.crec.events.size() == 1);
  CHECK((lc.crec.events[0] & kError));
  CHECK_FALSE((lc.crec.events[0] & kConnected));
  CHECK_FALSE(lc.client->handshake_done());
  CHECK_FALSE(lc.client->verify_failed());
  CHECK_FALSE(lc.client->error().empty());
}

// ---- flow control -------------------------------------------------------------

TEST_CASE("tls: read high watermark: input never exceeds it, the wire pauses, draining resumes") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  const std::size_t high = 10000;  // not a record multiple
  l.srec.drain = false;
  l.server->setwatermark(ev::kRead, 0, high);
  // Far more than loopback sockets buffer: the sender must be held back.
  const std::string sent = pattern(32 << 20);
  l.client->write(sent.data(), sent.size());
  REQUIRE(run_until(*l.base, [&] { return l.server->input().length() >= high; }));
  run_for(*l.base, std::chrono::milliseconds(300));
  CHECK(l.server->input().length() == high);
  CHECK(l.srec.most <= high);
  std::size_t pending = l.client->output().length() + l.client->underlying()->output().length();
  CHECK(pending > 0);  // backpressure reached the sender
  CHECK(l.srec.events.empty());

  // Draining resumes reading; nothing is lost or duplicated.
  std::string got = l.server->input().to_string();
  l.server->input().drain(got.size());
  l.srec.drain = true;
  REQUIRE(run_until(
      *l.base, [&] { return got.size() + l.srec.data.size() + l.server->input().length() >= sent.size(); },
      std::chrono::seconds(60)));
  got += l.srec.data + l.server->input().to_string();
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
  CHECK(l.srec.most <= high);
}

TEST_CASE("tls: close_notify arriving while input sits at the high watermark waits for the drain") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  const std::size_t high = 16 * 1024;
  l.srec.drain = false;
  l.server->setwatermark(ev::kRead, 0, high);
  const std::string sent = pattern(200000);
  l.client->write(sent.data(), sent.size());
  l.client->flush(ev::kWrite, BufferEvent::Flush::Finished);
  run_for(*l.base, std::chrono::milliseconds(200));
  CHECK(l.server->input().length() == high);
  CHECK(l.srec.events.empty());  // not the end yet: the data is still coming
  std::string got;
  // Drain a little at a time from the read callback.
  l.server->setcb(
      [&](BufferEvent& b) {
        char buf[3000];
        got.append(buf, b.read(buf, sizeof buf));
        CHECK(b.input().length() <= high);
      },
      nullptr, [&](BufferEvent&, short what) { l.srec.events.push_back(what); });
  char buf[3000];
  got.append(buf, l.server->read(buf, sizeof buf));
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }, std::chrono::seconds(20)));
  got += l.server->input().to_string();
  CHECK(l.srec.events == std::vector<short>{kReading | kEof});
  CHECK_FALSE(l.server->dirty_shutdown());
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}

TEST_CASE("tls: read low watermark holds the read callback back") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  l.server->setwatermark(ev::kRead, 10, 0);
  l.client->write("12345", 5);
  run_for(*l.base, std::chrono::milliseconds(50));
  CHECK(l.srec.reads == 0);
  CHECK(l.server->input().length() == 5);
  l.client->write("67890", 5);
  REQUIRE(run_until(*l.base, [&] { return l.srec.reads == 1; }));
  CHECK(l.srec.data == "1234567890");
}

TEST_CASE("tls: a disabled direction leaves data where it is") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  l.server->disable(ev::kRead);  // the handshake goes on regardless
  REQUIRE(l.established());

  l.client->write("held", 4);
  run_for(*l.base, std::chrono::milliseconds(50));
  CHECK(l.srec.reads == 0);
  CHECK(l.server->input().empty());
  l.server->enable(ev::kRead);
  REQUIRE(run_until(*l.base, [&] { return l.srec.data == "held"; }));

  l.client->disable(ev::kWrite);
  CHECK(l.client->enabled() == ev::kRead);
  l.client->write("out", 3);
  run_for(*l.base, std::chrono::milliseconds(50));
  CHECK(l.srec.data == "held");
  CHECK(l.client->output().length() == 3);
  l.client->enable(ev::kWrite);
  REQUIRE(run_until(*l.base, [&] { return l.srec.data == "heldout"; }));
  CHECK(l.client->output().empty());
}

TEST_CASE("tls: the end of a stream that arrives while reading is disabled is reported once re-enabled") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  l.server->disable(ev::kRead);
  l.client->write("abc", 3);
  l.client->flush(ev::kWrite, BufferEvent::Flush::Finished);
  run_for(*l.base, std::chrono::milliseconds(50));
  CHECK(l.srec.events.empty());
  CHECK(l.srec.data.empty());
  l.server->enable(ev::kRead);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(l.srec.data == "abc");
  CHECK(l.srec.events == std::vector<short>{kReading | kEof});
  CHECK_FALSE(l.server->dirty_shutdown());
}

TEST_CASE("tls: the write callback runs once the output and the wire beneath have drained") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  std::vector<std::size_t> left;  // plaintext + ciphertext still queued at each write callback
  l.client->setcb(nullptr, [&](BufferEvent& b) { left.push_back(b.output().length() + b.underlying()->output().length()); },
                  nullptr);
  const std::string big = pattern(3 << 20);
  l.client->write(big.data(), big.size());
  CHECK(l.client->flush(ev::kWrite, BufferEvent::Flush::Normal) == 1);  // data remains
  REQUIRE(run_until(*l.base, [&] { return l.srec.data.size() >= big.size(); }, std::chrono::seconds(30)));
  run_for(*l.base, std::chrono::milliseconds(20));
  CHECK(l.srec.data == big);
  REQUIRE_FALSE(left.empty());
  CHECK(left.back() == 0);
  for (std::size_t n : left) CHECK(n == 0);  // low watermark 0: only when all is out

  // With a low watermark, it runs before everything is out.
  left.clear();
  l.client->setwatermark(ev::kWrite, 1 << 20, 0);
  l.client->write(big.data(), big.size());
  REQUIRE(run_until(*l.base, [&] { return l.srec.data.size() >= 2 * big.size(); }, std::chrono::seconds(30)));
  REQUIRE_FALSE(left.empty());
  for (std::size_t n : left) CHECK(n <= 2 * (1u << 20));
}

// ---- timeouts -----------------------------------------------------------------

TEST_CASE("tls: a read timeout set on the TLS BufferEvent fires kReading|kTimedOut") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  auto start = std::chrono::steady_clock::now();
  l.server->set_timeouts(ev::Duration(50000), std::nullopt);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(elapsed_ms(start) >= 40);
  CHECK(l.srec.events == std::vector<short>{kReading | kTimedOut});
  CHECK_FALSE((l.server->enabled() & ev::kRead));  // the direction is disabled, as for any BufferEvent
  CHECK((l.server->enabled() & ev::kWrite));

  // Re-enabled, data in time keeps it quiet.
  l.server->enable(ev::kRead);
  l.client->write("in time", 7);
  REQUIRE(run_until(*l.base, [&] { return l.srec.data == "in time"; }));
  CHECK(l.srec.events.size() == 1);
}

TEST_CASE("tls: the read timeout is off while input sits at the high watermark") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  l.srec.drain = false;
  l.server->setwatermark(ev::kRead, 0, 10);
  l.server->set_timeouts(ev::Duration(40000), std::nullopt);
  l.client->write("0123456789abcdef", 16);
  run_for(*l.base, std::chrono::milliseconds(150));
  CHECK(l.srec.events.empty());  // full, not idle
  CHECK(l.server->input().length() == 10);
  l.server->input().drain(10);
  REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
  CHECK(l.srec.events[0] == (kReading | kTimedOut));
  CHECK(l.server->input().to_string() == "abcdef");
}

TEST_CASE("tls: a write timeout fires when the peer stops reading") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), server_ctx(c));
  REQUIRE(l.established());
  l.server->disable(ev::kRead);
  l.client->set_timeouts(std::nullopt, ev::Duration(50000));
  const std::string big(32 << 20, 'w');
  l.client->write(big.data(), big.size());
  REQUIRE(run_until(*l.base, [&] { return l.crec.events.size() >= 2; }, std::chrono::seconds(20)));
  CHECK(l.crec.events == std::vector<short>{kConnected, kWriting | kTimedOut});
  CHECK_FALSE((l.client->enabled() & ev::kWrite));
  CHECK(l.client->output().length() + l.client->underlying()->output().length() > 0);
}

TEST_CASE("tls: a timeout set before the handshake fires against a silent server") {
  LoneClient lc;
  lc.client->set_timeouts(ev::Duration(50000), ev::Duration(50000));
  auto start = std::chrono::steady_clock::now();
  REQUIRE(run_until(*lc.base, [&] { return !lc.crec.events.empty(); }));
  CHECK(elapsed_ms(start) >= 40);
  CHECK(lc.crec.events == std::vector<short>{kReading | kTimedOut});
  CHECK_FALSE(lc.client->handshake_done());
  CHECK(bytes_queued(lc.peer.get()) > 0);  // the ClientHello went out
}

// ---- rate limits --------------------------------------------------------------

TEST_CASE("tls: a rate limit slows a 64 KiB transfer down") {
  TestCert c({"localhost"});
  const std::string sent = pattern(64 * 1024);
  // 64 KiB/s in 100 ms ticks: the transfer needs ~1 s; allow for a burst.
  const auto cfg = ev::TokenBucketConfig::per_second(64 * 1024);
  for (bool on_client : {true, false}) {
    CAPTURE(on_client);
    Link l(client_ctx(false), server_ctx(c));
    REQUIRE(l.established());
    (on_client ? *l.client : *l.server).set_rate_limit(&cfg);  // writes on the client, reads on the server
    auto start = std::chrono::steady_clock::now();
    l.client->write(sent.data(), sent.size());
    REQUIRE(run_until(*l.base, [&] { return l.srec.data.size() >= sent.size(); }, std::chrono::seconds(20)));
    double ms = elapsed_ms(start);
    INFO("64 KiB took ", ms, " ms");
    CHECK(ms >= 600);
    CHECK(l.srec.data == sent);
    // Removing the limit: the next 1 MiB is quick.
    (on_client ? *l.client : *l.server).set_rate_limit(nullptr);
    const std::string more = pattern(1 << 20);
    start = std::chrono::steady_clock::now();
    l.client->write(more.data(), more.size());
    REQUIRE(run_until(*l.base, [&] { return l.srec.data.size() >= sent.size() + more.size(); }));
    CHECK(elapsed_ms(start) < 3000);
  }
}

// ---- sessions -----------------------------------------------------------------

TEST_CASE("tls: the server resumes a session (TLS 1.2 and 1.3)") {
  TestCert c({"localhost"});
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    auto sctx = limited(server_ctx(c), version, version);
    auto cctx = client_ctx(true, c.cert_file.string());
    SSL_SESSION* session = nullptr;
    {
      Link first(cctx, sctx);
      REQUIRE(first.established());
      CHECK_FALSE(first.client->session_reused());
      CHECK_FALSE(first.server->session_reused());
      // A round trip: TLS 1.3 tickets arrive after the handshake.
      first.client->write("one", 3);
      REQUIRE(run_until(*first.base, [&] { return first.srec.data == "one"; }));
      first.server->write("ack", 3);
      REQUIRE(run_until(*first.base, [&] { return first.crec.data == "ack"; }));
      session = SSL_get1_session(first.client->native());
      REQUIRE(session);
      CHECK(SSL_SESSION_is_resumable(session) == 1);
      first.client->flush(ev::kWrite, BufferEvent::Flush::Finished);
      REQUIRE(run_until(*first.base, [&] { return !first.srec.events.empty(); }));
    }
    Link second(cctx, sctx);
    REQUIRE(SSL_set_session(second.client->native(), session) == 1);  // before the loop starts the handshake
    SSL_SESSION_free(session);
    REQUIRE(second.established());
    CHECK(second.client->session_reused());
    CHECK(second.server->session_reused());
    CHECK(second.client->alpn() == "http/1.1");
    second.client->write("two", 3);
    REQUIRE(run_until(*second.base, [&] { return second.srec.data == "two"; }));

    // A session from another server context is not resumed: a full handshake.
    auto other = limited(server_ctx(c), version, version);
    SSL_SESSION* again = SSL_get1_session(second.client->native());
    REQUIRE(again);
    Link third(cctx, other);
    REQUIRE(SSL_set_session(third.client->native(), again) == 1);
    SSL_SESSION_free(again);
    REQUIRE(third.established());
    CHECK_FALSE(third.client->session_reused());
    CHECK_FALSE(third.server->session_reused());
  }
}

// ---- lifetime -----------------------------------------------------------------

TEST_CASE("tls: TlsBufferEvents destroyed from inside their own callbacks") {
  TestCert c({"localhost"});
  SUBCASE("the client in its kConnected callback") {
    Link l(client_ctx(false), server_ctx(c));
    bool called = false;
    l.client->setcb(nullptr, nullptr, [&](BufferEvent&, short) { called = true, l.client.reset(); });
    REQUIRE(run_until(*l.base, [&] { return called; }));
    CHECK_FALSE(l.client);
    REQUIRE(run_until(*l.base, [&] { return !l.srec.events.empty(); }));
    CHECK((l.srec.events.back() & (kEof | kError)));
  }
  SUBCASE("the server in its read callback, with more records waiting") {
    Link l(client_ctx(false), server_ctx(c));
    REQUIRE(l.established());
    int reads = 0;
    l.server->setcb([&](BufferEvent&) { ++reads, l.server.reset(); }, nullptr, nullptr);
    const std::string big = pattern(200000);
    l.client->write(big.data(), big.size());
    REQUIRE(run_until(*l.base, [&] { return !l.server; }));
    run_for(*l.base, std::chrono::milliseconds(50));
    CHECK(reads == 1);
  }
  SUBCASE("the server in its kEof callback") {
    Link l(client_ctx(false), server_ctx(c));
    REQUIRE(l.established());
    l.server->setcb(nullptr, nullptr, [&](BufferEvent&, short) { l.server.reset(); });
    l.client->write("x", 1);
    l.client->flush(ev::kWrite, BufferEvent::Flush::Finished);
    REQUIRE(run_until(*l.base, [&] { return !l.server; }));
    run_for(*l.base, std::chrono::milliseconds(20));
  }
  SUBCASE("the client in its kError callback after a failed verification") {
    Link l(client_ctx(true), server_ctx(c));
    bool failed = false;
    l.client->setcb(nullptr, nullptr, [&](BufferEvent& b, short what) {
      failed = (what & kError) && static_cast<TlsBufferEvent&>(b).verify_failed();
      l.client.reset();
    });
    REQUIRE(run_until(*l.base, [&] { return !l.client; }));
    CHECK(failed);
    run_for(*l.base, std::chrono::milliseconds(20));
  }
}

// ---- renegotiation and key updates ---------------------------------------------

TEST_CASE("tls: a TLS 1.3 key update in the middle of a transfer") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), limited(server_ctx(c), TLS1_3_VERSION, 0));
  REQUIRE(l.established());
  const std::string up = pattern(1 << 20), down = reversed_pattern(1 << 20);
  l.client->write(up.data(), up.size() / 2);
  l.server->write(down.data(), down.size() / 2);
  REQUIRE(SSL_key_update(l.server->native(), SSL_KEY_UPDATE_REQUESTED) == 1);
  REQUIRE(SSL_key_update(l.client->native(), SSL_KEY_UPDATE_NOT_REQUESTED) == 1);
  l.client->write(up.data() + up.size() / 2, up.size() - up.size() / 2);
  l.server->write(down.data() + down.size() / 2, down.size() - down.size() / 2);
  REQUIRE(l.received(up.size(), down.size(), std::chrono::seconds(30)));
  l.check_exchanged(up, down);
}

TEST_CASE("tls: a TLS 1.2 renegotiation while both sides are sending") {
  TestCert c({"localhost"});
  Link l(client_ctx(false), limited(server_ctx(c), 0, TLS1_2_VERSION));
  REQUIRE(l.established());
  REQUIRE(l.client->version() == "TLSv1.2");
  const std::string up = pattern(1 << 20), down = reversed_pattern(1 << 20);
  REQUIRE(SSL_renegotiate(l.server->native()) == 1);
  l.server->write(down.data(), down.size());  // the HelloRequest goes out first
  l.client->write(up.data(), up.size());
  bool done = l.received(up.size(), down.size(), std::chrono::seconds(30));
  INFO("server got ", l.srec.data.size(), ", client got ", l.crec.data.size(), "; errors: ", l.client->error(), " | ",
       l.server->error());
  REQUIRE(done);
  l.check_exchanged(up, down);
  CHECK(SSL_num_renegotiations(l.server->native()) >= 1);
}
