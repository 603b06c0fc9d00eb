// Unix domain sockets in the engine: SocketAddress::unix_path, the
// endpoint parser of `tcp forward`, a ConnListener bound to a Unix address
// (stale files replaced, live ones and non-sockets refused, the file
// removed with the listener) and dns::Connector connecting to one.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/dns/connector.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"
#include "engine/util/socket.h"
#include "io_test_util.h"

namespace {

// A fresh directory for socket files, removed with what it holds.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/evtool-unix-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const char* name) const { return path + "/" + name; }
};

bool is_socket(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::unique_ptr<ev::ConnListener> listen_unix(ev::EventBase& base, const std::string& path, std::vector<int>& fds,
                                              std::string* why) {
  return ev::ConnListener::bind(
      base, *ev::SocketAddress::unix_path(path), ev::ConnListener::kCloseOnExec, -1,
      [&fds](ev::ConnListener&, int fd, const ev::SocketAddress&) { fds.push_back(fd); }, why);
}

}  // namespace

TEST_CASE("SocketAddress holds a Unix socket path") {
  auto a = ev::SocketAddress::unix_path("/run/evtool.sock");
  REQUIRE(a);
  CHECK(a->is_unix());
  CHECK(a->host() == "/run/evtool.sock");
  CHECK(a->to_string() == "unix:/run/evtool.sock");
  CHECK(a->port() == 0);
  std::string why;
  CHECK_FALSE(ev::SocketAddress::unix_path("", &why));
  CHECK(why == "empty socket path");
  CHECK_FALSE(ev::SocketAddress::unix_path(std::string(108, 'x'), &why));
  CHECK(ev::SocketAddress::unix_path(std::string(107, 'x')));
  CHECK_FALSE(ev::SocketAddress::unix_path(std::string("a\0b", 3)));
}

TEST_CASE("parse_endpoint: HOST:PORT, [IPv6]:PORT, unix:PATH") {
  auto e = ev::parse_endpoint("example.com:443");
  REQUIRE(e);
  CHECK((e->host == "example.com" && e->port == 443 && !e->unix));
  e = ev::parse_endpoint("[::1]:8080");
  REQUIRE(e);
  CHECK((e->host == "::1" && e->port == 8080));
  e = ev::parse_endpoint("127.0.0.1:1");
  REQUIRE(e);
  CHECK(e->host == "127.0.0.1");
  e = ev::parse_endpoint("unix:/tmp/x.sock");
  REQUIRE(e);
  CHECK((e->unix && e->unix->host() == "/tmp/x.sock"));
  for (const char* bad : {"", "host", "host:", ":80", "host:0", "host:65536", "::1:80", "[::1:80", "[1.2.3.4]:80",
                          "ho st:80", "unix:", "a:80x"}) {
    std::string why;
    CAPTURE(bad);
    CHECK_FALSE(ev::parse_endpoint(bad, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("ConnListener on a Unix socket: stale replaced, live and non-socket refused, file removed") {
  auto base = make_test_base();
  TempDir dir;
  std::string path = dir.file("s.sock");
  {  // a stale socket file: bound, never listened on, closed
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto addr = *ev::SocketAddress::unix_path(path);
    REQUIRE(::bind(fd, addr.sa(), addr.length) == 0);
    ::close(fd);
  }
  REQUIRE(is_socket(path));
  std::vector<int> fds;
  std::string why;
  auto listener = listen_unix(*base, path, fds, &why);
  REQUIRE_MESSAGE(listener, why);
  CHECK(listener->local_address().to_string() == "unix:" + path);
  CHECK(ev::unix_socket_listening(*ev::SocketAddress::unix_path(path)));

  std::vector<int> other;
  CHECK_FALSE(listen_unix(*base, path, other, &why));  // live: refused
  CHECK(why.find("another server is listening") != std::string::npos);
  CHECK(is_socket(path));

  std::string plain = dir.file("plain");
  std::ofstream(plain) << "data";
  CHECK_FALSE(listen_unix(*base, plain, other, &why));
  CHECK(why.find("not a socket") != std::string::npos);

  listener.reset();
  CHECK_FALSE(is_socket(path));  // removed with the listener
  for (int fd : fds) ::close(fd);
}

TEST_CASE("Connector connects to a Unix socket address") {
  auto base = make_test_base();
  TempDir dir;
  std::vector<int> fds;
  std::string why;
  auto listener = listen_unix(*base, dir.file("c.sock"), fds, &why);
  REQUIRE(listener);
  ev::dns::Connector connector(*base, nullptr);
  std::unique_ptr<ev::SocketBufferEvent> bev;
  int calls = 0;
  connector.connect(listener->local_address(), {}, [&](std::unique_ptr<ev::SocketBufferEvent> b, const auto&) {
    ++calls;
    bev = std::move(b);
  });
  CHECK(run_until(*base, [&] { return calls != 0 && !fds.empty(); }));
  REQUIRE(bev);
  bev->write("ping", 4);
  CHECK(run_until(*base, [&] { return bev->output().empty(); }));
  char buf[8] = {};
  CHECK(::recv(fds[0], buf, sizeof buf, MSG_DONTWAIT) == 4);
  CHECK(std::string(buf, 4) == "ping");

  listener.reset();  // nobody listens: refused
  ev::dns::Connector::Result result;
  calls = 0;
  connector.connect(*ev::SocketAddress::unix_path(dir.file("c.sock")), {},
                    [&](std::unique_ptr<ev::SocketBufferEvent> b, const ev::dns::Connector::Result& r) {
                      ++calls;
                      result = r;
                      CHECK_FALSE(b);
                    });
  CHECK(run_until(*base, [&] { return calls != 0; }));
  CHECK(result.error != ev::dns::Connector::Error::kNone);
  for (int fd : fds) ::close(fd);
}
