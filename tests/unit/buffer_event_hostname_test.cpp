// BufferEvent::connect_hostname: the name goes through the engine's own
// resolver (here its hosts file, so no query leaves the machine) and every
// address is tried in turn until one accepts.
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/dns/hosts_file.h"
#include "engine/dns/resolv_conf.h"
#include "engine/dns/resolver.h"
#include "engine/io/buffer_event.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"
#include "io_test_util.h"

namespace {

using ev::BufferEvent;

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

}  // namespace

TEST_CASE("BufferEvent connect_hostname resolves through the engine and connects") {
  auto base = make_test_base();
  Accepted accepted;
  std::string why;
  auto listener = ev::ConnListener::bind(*base, *ev::parse_sockaddr_port("127.0.0.1:0"), ev::ConnListener::kReusable, -1,
                                         [&](ev::ConnListener&, int fd, const ev::SocketAddress&) { accepted.fds.push_back(fd); },
                                         &why);
  REQUIRE(listener);
  auto resolver = hosts_resolver(*base, "127.0.0.1 service.test\n");
  auto bev = BufferEvent::socket(*base, -1, BufferEvent::kCloseOnFree);
  short got = 0;
  bev->setcb(nullptr, nullptr, [&](BufferEvent&, short what) { got |= what; });
  REQUIRE(bev->connect_hostname(*resolver, AF_INET, "service.test", listener->local_address().port()) == 0);
  CHECK(got == 0);  // nothing happens inside the call
  CHECK(run_until(*base, [&] { return got != 0 && !accepted.fds.empty(); }));
  CHECK((got & BufferEvent::kConnected) != 0);
  CHECK(bev->dns_error() == ev::dns::kErrNone);
  auto peer = bev->peer_address();
  REQUIRE(peer);
  CHECK(peer->port() == listener->local_address().port());
}

TEST_CASE("BufferEvent connect_hostname tries each address until one accepts") {
  auto base = make_test_base();
  Accepted accepted;
  std::string why;
  // Listen on 127.0.0.2 only; 127.0.0.3 (listed first) refuses the port.
  auto listener = ev::ConnListener::bind(*base, *ev::parse_sockaddr_port("127.0.0.2:0"), ev::ConnListener::kReusable, -1,
                                         [&](ev::ConnListener&, int fd, const ev::SocketAddress&) { accepted.fds.push_back(fd); },
                                         &why);
  REQUIRE(listener);
  auto resolver = hosts_resolver(*base, "127.0.0.3 multi.test\n127.0.0.2 multi.test\n");
  auto bev = BufferEvent::socket(*base, -1, BufferEvent::kCloseOnFree);
  std::vector<short> events;
  bev->setcb(nullptr, nullptr, [&](BufferEvent&, short what) { events.push_back(what); });
  bev->connect_hostname(*resolver, AF_INET, "multi.test", listener->local_address().port());
  CHECK(run_until(*base, [&] { return !events.empty() && !accepted.fds.empty(); }));
  REQUIRE(events.size() == 1);  // the refused first address is not reported
  CHECK(events[0] == BufferEvent::kConnected);
  CHECK(bev->peer_address()->host() == "127.0.0.2");
}

TEST_CASE("BufferEvent connect_hostname reports kError when the name does not resolve") {
  auto base = make_test_base();
  auto resolver = hosts_resolver(*base, "");
  auto bev = BufferEvent::socket(*base, -1, BufferEvent::kCloseOnFree);
  short got = 0;
  bev->setcb(nullptr, nullptr, [&](BufferEvent&, short what) { got |= what; });
  bev->connect_hostname(*resolver, AF_UNSPEC, "nowhere.test", 80);
  CHECK(run_until(*base, [&] { return got != 0; }));
  CHECK((got & BufferEvent::kError) != 0);
  CHECK(bev->dns_error() != ev::dns::kErrNone);
}
