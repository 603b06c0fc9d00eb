// dns::Resolver::system and from_files: the resolver configured from
// resolv.conf(5) and hosts(5). A missing or unreadable file is never an
// error: resolv.conf falls back to the defaults, hosts to none.
#include <string>
#include <vector>

#include "dns_file_test_util.h"
#include "dns_test_util.h"
#include "engine/dns/resolver.h"

using namespace dnstest;
using dnsfiles::TempFile;

TEST_CASE("dns resolver from_files: nameservers, options and hosts from the files") {
  auto base = make_test_base();
  Upstream up(*base);
  TempFile conf("nameserver " + up.address().to_string() + "\nsearch example.test\noptions ndots:2 attempts:1\n");
  TempFile hosts("192.0.2.7 myhost alias\n2001:db8::7 myhost\n");
  std::string why = "untouched";
  auto res = dns::Resolver::from_files(*base, conf.path, hosts.path, &why);
  REQUIRE(res);
  CHECK(why == "untouched");  // only a failure says why
  CHECK(res->nameserver_count() == 1);
  CHECK(res->config().ndots == 2);
  CHECK(res->config().attempts == 1);
  CHECK(res->config().search == std::vector<std::string>{"example.test"});

  GotAddrs from_hosts;
  Got from_server;
  res->getaddrinfo("alias", 80, AF_UNSPEC, from_hosts.cb());
  res->resolve_ipv4("www.test", from_server.cb(), dns::Resolver::kNoSearch);
  REQUIRE(run_until(*base, [&] { return from_hosts.done() && from_server.done(); }));
  CHECK(from_hosts.err == dns::kErrNone);
  CHECK(from_hosts.addrs == std::vector<std::string>{"192.0.2.7:80"});
  CHECK(from_server.err() == dns::kErrNone);
  CHECK(from_server.first() == "192.0.2.1");
  CHECK(up.count("www.test") == 1);
}

TEST_CASE("dns resolver from_files: missing files give the defaults, no hosts") {
  auto base = make_test_base();
  std::string why;
  auto res = dns::Resolver::from_files(*base, "/nonexistent/resolv.conf", "/nonexistent/hosts", &why);
  REQUIRE(res);
  CHECK(why.empty());
  CHECK(res->nameserver_count() == 0);
  dns::ResolvConf defaults;
  CHECK(res->config().ndots == defaults.ndots);
  CHECK(res->config().timeout == defaults.timeout);
  CHECK(res->config().attempts == defaults.attempts);
  CHECK(res->config().search.empty());

  Got hosted, local;
  res->resolve_ipv4("myhost", hosted.cb());
  res->resolve_ipv4("localhost", local.cb());  // RFC 6761, with or without a hosts file
  REQUIRE(run_until(*base, [&] { return hosted.done() && local.done(); }));
  CHECK(hosted.err() == dns::kErrUnknown);  // no hosts entry and nobody to ask
  CHECK(local.err() == dns::kErrNone);
  CHECK(local.first() == "127.0.0.1");

  auto no_why = dns::Resolver::from_files(*base, "/nonexistent/resolv.conf", "/nonexistent/hosts");
  CHECK(no_why);
}

TEST_CASE("dns resolver from_files: a directory is unreadable, not fatal") {
  auto base = make_test_base();
  auto res = dns::Resolver::from_files(*base, "/", "/");
  REQUIRE(res);
  CHECK(res->nameserver_count() == 0);
}

TEST_CASE("dns resolver system: /etc/resolv.conf and /etc/hosts") {
  auto base = make_test_base();
  std::string why;
  auto res = dns::Resolver::system(*base, &why);
  REQUIRE(res);
  CHECK(why.empty());
  std::string ignored;
  dns::ResolvConf expected = dns::load_resolv_conf("/etc/resolv.conf", &ignored).value_or(dns::ResolvConf{});
  CHECK(res->nameserver_count() == expected.nameservers.size());
  CHECK(res->config().ndots == expected.ndots);
  CHECK(res->config().search == expected.search);
  CHECK(res->config().timeout == expected.timeout);

  // A name only the hosts file can know, when the machine has one.
  auto hosts = dns::HostsFile::load("/etc/hosts", &ignored);
  if (!hosts || hosts->entries().empty()) return;
  const dns::HostsFile::Entry& e = hosts->entries().front();
  Got g;
  res->query(e.name, e.address.family() == AF_INET ? dns::kTypeA : dns::kTypeAAAA, g.cb(), dns::Resolver::kNoSearch);
  REQUIRE(run_until(*base, [&] { return g.done(); }));
  CHECK(g.result.from_hosts);
  CHECK(g.err() == dns::kErrNone);
}
