// dns::Connector: the name goes through the engine's own resolver (here its
// hosts file, so no query leaves the machine) and every address is tried in
// turn, each with its own timeout, until one accepts.
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/dns/hosts_file.h"
#include "engine/dns/resolv_conf.h"
#include "engine/dns/connector.h"
#include "engine/dns/resolver.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"
#include "io_test_util.h"

namespace {

using ev::BufferEvent;
using ev::SocketBufferEvent;
using Connector = ev::dns::Connector;

// A resolver that answers from `hosts` and has a nameserver nobody listens
// on (loopback port 1), so a name missing from the hosts file fails fast.
std::unique_ptr<ev::dns::Resolver> hosts_resolver(ev::EventBase& base, const std::string& hosts) {
  ev::dns::ResolvConf conf;
  conf.nameservers.push_back(*ev::parse_sockaddr_port("127.0.0.1:1"));
  conf.timeout = std::chrono::milliseconds(200);
  conf.attempts = 1;
  std::string why;
  auto r = ev::dns::Resolver::create(base, conf, &why);
  r->set_hosts(ev::dns::HostsFile::parse(hosts));
  return r;
}

struct Accepted {
  std::vector<int> fds;
  ~Accepted() {
    for (int fd : fds) ::close(fd);
  }
};

std::unique_ptr<ev::ConnListener> listen_on(ev::EventBase& base, const char* addr, Accepted& accepted) {
  std::string why;
  return ev::ConnListener::bind(
      base, *ev::parse_sockaddr_port(addr), ev::ConnListener::kReusable, -1,
      [&accepted](ev::ConnListener&, int fd, const ev::SocketAddress&) { accepted.fds.push_back(fd); }, &why);
}

// What one connect() delivered.
struct Outcome {
  int calls = 0;
  std::unique_ptr<SocketBufferEvent> bev;
  Connector::Result result;
  Connector::Callback callback() {
    return [this](std::unique_ptr<SocketBufferEvent> b, const Connector::Result& r) {
      ++calls;
      bev = std::move(b);
      result = r;
    };
  }
};

}  // namespace

TEST_CASE("Connector resolves through the engine and connects") {
  auto base = make_test_base();
  Accepted accepted;
  auto listener = listen_on(*base, "127.0.0.1:0", accepted);
  REQUIRE(listener);
  auto resolver = hosts_resolver(*base, "127.0.0.1 service.test\n");
  Connector connector(*base, resolver.get());
  Outcome out;
  connector.connect("service.test", listener->local_address().port(), {AF_INET, {}, BufferEvent::kCloseOnFree},
                    out.callback());
  CHECK(out.calls == 0);  // nothing happens inside the call
  CHECK(connector.running());
  CHECK(run_until(*base, [&] { return out.calls != 0 && !accepted.fds.empty(); }));
  CHECK(out.calls == 1);
  CHECK_FALSE(connector.running());
  REQUIRE(out.bev);
  CHECK(out.result.error == Connector::Error::kNone);
  CHECK(out.result.dns_error == ev::dns::kErrNone);
  auto peer = out.bev->peer_address();
  REQUIRE(peer);
  CHECK(peer->port() == listener->local_address().port());
  // The connection is the caller's now, with no callbacks of the connector.
  out.bev->write("x", 1);
  CHECK(run_until(*base, [&] { return out.bev->output().empty(); }));
}

TEST_CASE("Connector tries each address until one accepts") {
  auto base = make_test_base();
  Accepted accepted;
  // Listen on 127.0.0.2 only; 127.0.0.3 (listed first) refuses the port.
  auto listener = listen_on(*base, "127.0.0.2:0", accepted);
  REQUIRE(listener);
  auto resolver = hosts_resolver(*base, "127.0.0.3 multi.test\n127.0.0.2 multi.test\n");
  Connector connector(*base, resolver.get());
  std::vector<std::string> trace;
  connector.set_trace([&](const std::string& line) { trace.push_back(line); });
  Outcome out;
  connector.connect("multi.test", listener->local_address().port(), {AF_INET, {}, BufferEvent::kCloseOnFree},
                    out.callback());
  CHECK(run_until(*base, [&] { return out.calls != 0 && !accepted.fds.empty(); }));
  CHECK(out.calls == 1);  // the refused first address is not reported
  REQUIRE(out.bev);
  CHECK(out.bev->peer_address()->host() == "127.0.0.2");
  CHECK(out.result.address->host() == "127.0.0.2");
  REQUIRE(trace.size() >= 3);
  CHECK(trace[0] == "resolving multi.test");
  CHECK(trace[1].find("127.0.0.3") != std::string::npos);
}

TEST_CASE("Connector tells a name that does not resolve from a refused connect") {
  auto base = make_test_base();
  auto resolver = hosts_resolver(*base, "127.0.0.1 refused.test\n");
  Connector connector(*base, resolver.get());
  Outcome out;
  connector.connect("nowhere.test", 80, {}, out.callback());
  CHECK(run_until(*base, [&] { return out.calls != 0; }));
  CHECK_FALSE(out.bev);
  CHECK((out.result.error == Connector::Error::kResolve || out.result.error == Connector::Error::kResolveTimeout));
  CHECK(out.result.dns_error != ev::dns::kErrNone);
  CHECK(out.result.message.find("cannot resolve 'nowhere.test'") == 0);

  // Port 1 on loopback: nobody listens, the kernel refuses at once.
  Outcome refused;
  connector.connect("refused.test", 1, {AF_INET, {}, BufferEvent::kCloseOnFree}, refused.callback());
  CHECK(run_until(*base, [&] { return refused.calls != 0; }));
  CHECK_FALSE(refused.bev);
  CHECK(refused.result.error == Connector::Error::kRefused);
  CHECK(refused.result.dns_error == ev::dns::kErrNone);
  CHECK(refused.result.sys_errno == ECONNREFUSED);
  CHECK(refused.result.message == "connect to 127.0.0.1:1: Connection refused");
}

TEST_CASE("Connector connects to literals and localhost without a resolver") {
  auto base = make_test_base();
  Accepted accepted;
  auto listener = listen_on(*base, "127.0.0.1:0", accepted);
  REQUIRE(listener);
  Connector connector(*base, nullptr);
  Outcome literal;
  connector.connect("127.0.0.1", listener->local_address().port(), {}, literal.callback());
  CHECK(literal.calls == 0);  // even a literal answers from the loop
  CHECK(run_until(*base, [&] { return literal.calls != 0; }));
  CHECK(literal.bev);
  CHECK(literal.result.dns == ev::Duration(0));

  Outcome local;
  connector.connect("localhost", listener->local_address().port(), {AF_INET, {}, BufferEvent::kCloseOnFree},
                    local.callback());
  CHECK(run_until(*base, [&] { return local.calls != 0; }));
  CHECK(local.bev);

  Outcome name;
  connector.connect("example.test", 80, {}, name.callback());
  CHECK(run_until(*base, [&] { return name.calls != 0; }));
  CHECK(name.result.error == Connector::Error::kResolve);
  CHECK(name.result.message == "cannot resolve 'example.test': no resolver");
}

TEST_CASE("Connector gives each address its own timeout, and cancel() stops it") {
  auto base = make_test_base();
  // A listener whose backlog is full does not answer SYNs: connects to it
  // hang until the timeout. Fill a backlog of 1 with sockets never accepted.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(lfd >= 0);
  auto addr = *ev::parse_sockaddr_port("127.0.0.1:0");
  REQUIRE(::bind(lfd, addr.sa(), addr.length) == 0);
  REQUIRE(::listen(lfd, 0) == 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len);
  auto bound = ev::SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, bound.sa(), bound.length);
    fillers.push_back(fd);
  }
  Connector connector(*base, nullptr);
  Outcome out;
  Connector::Options opts;
  opts.timeout = std::chrono::milliseconds(100);
  connector.connect("127.0.0.1", bound.port(), opts, out.callback());
  CHECK(run_until(*base, [&] { return out.calls != 0; }));
  CHECK_FALSE(out.bev);
  CHECK(out.result.error == Connector::Error::kTimeout);
  CHECK(out.result.message == "connect to " + bound.to_string() + ": timed out");

  Outcome cancelled;
  connector.connect("127.0.0.1", bound.port(), opts, cancelled.callback());
  connector.cancel();
  run_for(*base, std::chrono::milliseconds(150));
  CHECK(cancelled.calls == 0);
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}
