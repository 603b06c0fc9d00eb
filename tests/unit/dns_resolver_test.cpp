// dns::Resolver, the lookups: A / AAAA / PTR / any type and the
// DNS_ERR_* codes, the search list and ndots (an empty name is
// CVE-2016-10197), the hosts file, reverse lookups, getaddrinfo with
// allow-skew, cancel, manual configuration, resolv.conf options, and
// destruction with requests pending. The transport side (timeouts,
// failover, spoofing, TCP, probing) is in dns_resolver_transport_test.cpp.
#include "engine/dns/resolver.h"

#include <set>
#include <string>
#include <vector>

#include "dns_test_util.h"

using namespace dnstest;

namespace {

// NXDOMAIN / NODATA / error names, everything else answered as usual.
void scripted(std::unique_ptr<dns::ServerRequest> req) {
  std::string n = dns::lower_name(req->query().questions[0].name);
  if (n.starts_with("nx.") || n.ends_with(".nx")) req->set_rcode(dns::kNxDomain);
  else if (n == "fail.test") req->set_rcode(dns::kServFail);
  else if (n == "refused.test") req->set_rcode(dns::kRefused);
  else if (n == "notimp.test") req->set_rcode(dns::kNotImp);
  else if (n == "formerr.test") req->set_rcode(dns::kFormErr);
  else if (n == "notauth.test") req->set_rcode(9);
  else if (!n.starts_with("nodata.")) add_default_answer(*req);
  req->respond();
}

}  // namespace

TEST_CASE("dns resolver: A, AAAA, PTR and any-type queries") {
  auto base = make_test_base();
  Upstream up(*base);
  Got a, aaaa, ptr, mx, txt;
  auto res = make_resolver(*base, conf_for({up.address()}));
  CHECK(res->nameserver_count() == 1);
  CHECK(res->nameservers_up() == 1);
  res->resolve_ipv4("www.example.com", a.cb());
  res->resolve_ipv6("www.example.com", aaaa.cb());
  res->query("1.2.0.192.in-addr.arpa", dns::kTypePTR, ptr.cb());
  res->query("example.com", dns::kTypeMX, mx.cb());
  res->query("example.com.", dns::kTypeTXT, txt.cb());
  CHECK(a.calls + aaaa.calls + ptr.calls + mx.calls + txt.calls == 0);  // never from inside the call
  REQUIRE(run_until(*base, [&] { return a.done() && aaaa.done() && ptr.done() && mx.done() && txt.done(); }));
  CHECK(a.err() == dns::kErrNone);
  CHECK(a.data() == std::vector<std::string>{"192.0.2.1"});
  CHECK(a.result.name == "www.example.com");
  CHECK_FALSE(a.result.from_hosts);
  CHECK(a.result.answer.header.qr);
  CHECK(aaaa.first(dns::kTypeAAAA) == "2001:db8::1");
  CHECK(ptr.first(dns::kTypePTR) == "ptr.example.");
  CHECK(mx.first(dns::kTypeMX) == "10 mx.example.");
  CHECK(txt.first(dns::kTypeTXT) == "\"hello\"");
  CHECK(txt.result.name == "example.com");
  REQUIRE(up.seen.size() == 5);
  CHECK(up.seen[0].type == dns::kTypeA);
  CHECK(up.seen[1].type == dns::kTypeAAAA);
  CHECK(up.seen[4].name == "example.com");  // "example.com." is the same name
  run_for(*base, std::chrono::milliseconds(30));
  CHECK(a.calls == 1);  // exactly once
  CHECK(res->inflight() == 0);
}

TEST_CASE("dns resolver: rcodes become DNS_ERR_* codes") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = scripted;
  auto res = make_resolver(*base, conf_for({up.address()}));
  struct Case {
    const char* name;
    int err;
    Got got;
  };
  std::vector<Case> cases = {{"nx.test", dns::kErrNotExist, {}},        {"fail.test", dns::kErrServerFailed, {}},
                             {"refused.test", dns::kErrRefused, {}},    {"notimp.test", dns::kErrNotImpl, {}},
                             {"formerr.test", dns::kErrFormat, {}},     {"nodata.test", dns::kErrNoData, {}},
                             {"notauth.test", dns::kErrUnknown, {}},    {"ok.test", dns::kErrNone, {}}};
  for (Case& c : cases) res->resolve_ipv4(c.name, c.got.cb());
  REQUIRE(run_until(*base, [&] {
    for (const Case& c : cases)
      if (!c.got.done()) return false;
    return true;
  }));
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(c.got.err() == c.err);
    CHECK(c.got.calls == 1);
  }
  CHECK(cases[0].got.result.answer.header.rcode == dns::kNxDomain);  // the answer still comes along
}

TEST_CASE("dns resolver: dns_err_to_string") {
  CHECK(std::string(dns::dns_err_to_string(dns::kErrNone)) == "no error");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrFormat)) == "misformatted query");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrServerFailed)) == "server failed");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrNotExist)) == "name does not exist");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrNotImpl)) == "query not implemented");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrRefused)) == "refused");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrTruncated)) == "reply truncated or ill-formed");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrUnknown)) == "unknown");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrTimeout)) == "request timed out");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrShutdown)) == "dns subsystem shut down");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrCancel)) == "dns request canceled");
  CHECK(std::string(dns::dns_err_to_string(dns::kErrNoData)) == "no records in the reply");
  CHECK(std::string(dns::dns_err_to_string(1234)) == "[Unknown error code]");
  CHECK(std::string(dns::dns_err_to_string(-1)) == "[Unknown error code]");
}

TEST_CASE("dns resolver: the search list and ndots") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = [](std::unique_ptr<dns::ServerRequest> req) {
    std::string n = dns::lower_name(req->query().questions[0].name);
    if (n == "host.b.test" || n == "x.y" || n == "x.y.a.test") add_default_answer(*req);
    else if (n != "nodata.a.test") req->set_rcode(dns::kNxDomain);
    req->respond();
  };
  dns::ResolvConf conf = conf_for({up.address()});
  conf.search = {"a.test", "b.test"};
  auto res = make_resolver(*base, conf);
  auto names_seen = [&] {
    std::vector<std::string> v;
    for (const auto& s : up.seen) v.push_back(s.name);
    up.seen.clear();
    return v;
  };

  SUBCASE("fewer dots than ndots: the search list first, in order") {
    Got g;
    res->resolve_ipv4("host", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNone);
    CHECK(g.result.name == "host.b.test");
    CHECK(names_seen() == std::vector<std::string>{"host.a.test", "host.b.test"});
  }
  SUBCASE("enough dots: the name as given first") {
    Got g;
    res->resolve_ipv4("x.y", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.result.name == "x.y");
    CHECK(names_seen() == std::vector<std::string>{"x.y"});
  }
  SUBCASE("ndots:2 moves x.y behind the search list") {
    res->config().ndots = 2;
    Got g;
    res->resolve_ipv4("x.y", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.result.name == "x.y.a.test");
    CHECK(names_seen() == std::vector<std::string>{"x.y.a.test"});
  }
  SUBCASE("every candidate fails: the name as given is tried last") {
    Got g;
    res->resolve_ipv4("nope", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNotExist);
    CHECK(names_seen() == std::vector<std::string>{"nope.a.test", "nope.b.test", "nope"});
  }
  SUBCASE("NODATA somewhere beats NXDOMAIN everywhere else") {
    Got g;
    res->resolve_ipv4("nodata", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNoData);
    CHECK(g.result.name == "nodata.a.test");
    CHECK(names_seen().size() == 3);
  }
  SUBCASE("kNoSearch and a trailing dot: only the name itself") {
    Got g1, g2;
    res->resolve_ipv4("host", g1.cb(), dns::Resolver::kNoSearch);
    REQUIRE(run_until(*base, [&] { return g1.done(); }));
    res->resolve_ipv4("host.", g2.cb());
    REQUIRE(run_until(*base, [&] { return g2.done(); }));
    CHECK(g1.err() == dns::kErrNotExist);
    CHECK(g2.err() == dns::kErrNotExist);
    CHECK(names_seen() == std::vector<std::string>{"host", "host"});
  }
}

TEST_CASE("dns resolver: empty and invalid names are kErrFormat, never sent (CVE-2016-10197)") {
  auto base = make_test_base();
  Upstream up(*base);
  dns::ResolvConf conf = conf_for({up.address()});
  conf.search = {"example.com", "example.org"};
  auto res = make_resolver(*base, conf);
  Got empty, dot, long_label, empty_label, ptr;
  GotAddrs gai;
  res->resolve_ipv4("", empty.cb());
  res->resolve_ipv6(".", dot.cb());
  res->resolve_ipv4(std::string(64, 'a') + ".example", long_label.cb());
  res->resolve_ipv4("a..b", empty_label.cb());
  res->query("", dns::kTypePTR, ptr.cb());
  res->getaddrinfo("", 80, AF_UNSPEC, gai.cb());
  CHECK(empty.calls == 0);  // from the loop, not from inside the call
  REQUIRE(run_until(*base, [&] {
    return empty.done() && dot.done() && long_label.done() && empty_label.done() && ptr.done() && gai.done();
  }));
  for (Got* g : {&empty, &dot, &long_label, &empty_label, &ptr}) CHECK(g->err() == dns::kErrFormat);
  CHECK(gai.err == dns::kErrFormat);
  CHECK(gai.addrs.empty());
  run_for(*base, std::chrono::milliseconds(30));
  CHECK(up.seen.empty());
  CHECK(empty.calls == 1);
}

TEST_CASE("dns resolver: the hosts file") {
  auto base = make_test_base();
  Upstream up(*base);
  dns::ResolvConf conf = conf_for({up.address()});
  conf.search = {"corp.test"};
  auto res = make_resolver(*base, conf);
  res->set_hosts(dns::HostsFile::parse("192.0.2.7 myhost alias\n2001:db8::7 myhost\n192.0.2.8 www.example\n"));

  Got v4, v6, alias, upper, dotted, nohosts;
  res->resolve_ipv4("myhost", v4.cb());
  res->resolve_ipv6("myhost", v6.cb());
  res->resolve_ipv4("alias", alias.cb());
  res->resolve_ipv4("MyHost.", upper.cb());
  res->resolve_ipv4("www.example", dotted.cb());  // dots >= ndots: searched as given first
  res->resolve_ipv4("myhost", nohosts.cb(), dns::Resolver::kNoHosts | dns::Resolver::kNoSearch);
  CHECK(v4.calls == 0);
  REQUIRE(run_until(*base, [&] {
    return v4.done() && v6.done() && alias.done() && upper.done() && dotted.done() && nohosts.done();
  }));
  CHECK(v4.err() == dns::kErrNone);
  CHECK(v4.result.from_hosts);
  CHECK(v4.data() == std::vector<std::string>{"192.0.2.7"});
  CHECK(v6.data(dns::kTypeAAAA) == std::vector<std::string>{"2001:db8::7"});
  CHECK(alias.first() == "192.0.2.7");
  CHECK(upper.first() == "192.0.2.7");
  CHECK(dotted.result.from_hosts);
  CHECK(dotted.first() == "192.0.2.8");
  CHECK_FALSE(nohosts.result.from_hosts);
  CHECK(nohosts.first() == "192.0.2.1");
  REQUIRE(up.seen.size() == 1);  // only the kNoHosts one went out
  CHECK(up.seen[0].name == "myhost");

  Got mx;  // other types are not in the hosts file
  res->query("myhost", dns::kTypeMX, mx.cb(), dns::Resolver::kNoSearch);
  REQUIRE(run_until(*base, [&] { return mx.done(); }));
  CHECK(mx.first(dns::kTypeMX) == "10 mx.example.");
  CHECK(up.seen.size() == 2);
}

TEST_CASE("dns resolver: resolve_reverse") {
  auto base = make_test_base();
  Upstream up(*base);
  dns::ResolvConf conf = conf_for({up.address()});
  conf.search = {"corp.test"};  // never applied to reverse names
  auto res = make_resolver(*base, conf);
  res->set_hosts(dns::HostsFile::parse("192.0.2.7 myhost alias\n"));
  Got v4, v6, hosts;
  res->resolve_reverse(*ev::parse_ip("192.0.2.1"), v4.cb());
  res->resolve_reverse(*ev::parse_ip("2001:db8::1"), v6.cb());
  res->resolve_reverse(*ev::parse_ip("192.0.2.7"), hosts.cb());
  REQUIRE(run_until(*base, [&] { return v4.done() && v6.done() && hosts.done(); }));
  CHECK(v4.err() == dns::kErrNone);
  CHECK(v4.first(dns::kTypePTR) == "ptr.example.");
  CHECK(v4.result.name == "1.2.0.192.in-addr.arpa");
  CHECK(v6.first(dns::kTypePTR) == "ptr.example.");
  CHECK(v6.result.name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK(hosts.result.from_hosts);
  CHECK(hosts.first(dns::kTypePTR) == "myhost.");
  REQUIRE(up.seen.size() == 2);
  CHECK(up.seen[0].type == dns::kTypePTR);
  CHECK(up.seen[0].name == "1.2.0.192.in-addr.arpa");
}

TEST_CASE("dns resolver: getaddrinfo") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = scripted;
  auto res = make_resolver(*base, conf_for({up.address()}));
  res->set_hosts(dns::HostsFile::parse("192.0.2.7 myhost\n2001:db8::7 both\n192.0.2.9 both\n"));

  SUBCASE("literals, answered without a query") {
    GotAddrs v4, v6;
    res->getaddrinfo("192.0.2.5", 80, AF_UNSPEC, v4.cb());
    res->getaddrinfo("2001:db8::5", 443, AF_UNSPEC, v6.cb());
    CHECK(v4.calls == 0);
    REQUIRE(run_until(*base, [&] { return v4.done() && v6.done(); }));
    CHECK(v4.err == dns::kErrNone);
    CHECK(v4.addrs == std::vector<std::string>{"192.0.2.5:80"});
    CHECK(v6.addrs == std::vector<std::string>{"[2001:db8::5]:443"});
  }
  SUBCASE("the hosts file, at once, even when only one family is there") {
    GotAddrs one, two;
    res->getaddrinfo("myhost", 22, AF_UNSPEC, one.cb());
    res->getaddrinfo("both", 22, AF_UNSPEC, two.cb());
    REQUIRE(run_until(*base, [&] { return one.done() && two.done(); }, std::chrono::milliseconds(1000)));
    CHECK(one.err == dns::kErrNone);
    CHECK(one.addrs == std::vector<std::string>{"192.0.2.7:22"});
    CHECK(two.addrs == std::vector<std::string>{"192.0.2.9:22", "[2001:db8::7]:22"});  // IPv4 first
  }
  SUBCASE("A and AAAA from the nameserver, IPv4 first") {
    GotAddrs both, v4only, v6only;
    res->getaddrinfo("www.test", 80, AF_UNSPEC, both.cb());
    REQUIRE(run_until(*base, [&] { return both.done(); }));
    CHECK(both.err == dns::kErrNone);
    CHECK(both.addrs == std::vector<std::string>{"192.0.2.1:80", "[2001:db8::1]:80"});
    up.seen.clear();
    res->getaddrinfo("www.test", 80, AF_INET, v4only.cb());
    res->getaddrinfo("www.test", 80, AF_INET6, v6only.cb());
    REQUIRE(run_until(*base, [&] { return v4only.done() && v6only.done(); }));
    CHECK(v4only.addrs == std::vector<std::string>{"192.0.2.1:80"});
    CHECK(v6only.addrs == std::vector<std::string>{"[2001:db8::1]:80"});
    REQUIRE(up.seen.size() == 2);
    CHECK(up.seen[0].type == dns::kTypeA);
    CHECK(up.seen[1].type == dns::kTypeAAAA);
  }
  SUBCASE("NXDOMAIN") {
    GotAddrs g;
    res->getaddrinfo("nx.test", 80, AF_UNSPEC, g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err == dns::kErrNotExist);
    CHECK(g.addrs.empty());
  }
  SUBCASE("allow-skew: an AAAA that never comes does not hold up the IPv4 answer") {
    res->config().timeout = std::chrono::seconds(30);
    up.handler = [](std::unique_ptr<dns::ServerRequest> req) {
      if (req->query().questions[0].type == dns::kTypeA) Upstream::answer(std::move(req));
    };
    res->set_allow_skew(std::chrono::milliseconds(100));
    GotAddrs g;
    res->getaddrinfo("www.test", 80, AF_UNSPEC, g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }, std::chrono::milliseconds(10000)));
    CHECK(g.err == dns::kErrNone);
    CHECK(g.addrs == std::vector<std::string>{"192.0.2.1:80"});
    CHECK(res->inflight() == 0);  // the AAAA query was given up
    run_for(*base, std::chrono::milliseconds(50));
    CHECK(g.calls == 1);
  }
}

TEST_CASE("dns resolver: cancel") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = up.hold();
  auto res = make_resolver(*base, conf_for({up.address()}, std::chrono::milliseconds(300)));

  SUBCASE("in flight: the late answer is ignored") {
    Got g;
    auto* req = res->resolve_ipv4("a.test", g.cb());
    REQUIRE(run_until(*base, [&] { return up.held.size() == 1; }));
    res->cancel(req);
    CHECK(res->inflight() == 0);
    add_default_answer(*up.held[0]);
    up.held[0]->respond();
    run_for(*base, std::chrono::milliseconds(400));  // past the timeout too
    CHECK(g.calls == 0);
  }
  SUBCASE("waiting, answered at once, and getaddrinfo") {
    res->set_hosts(dns::HostsFile::parse("192.0.2.7 myhost\n"));
    Got waiting, hosts, bad, after;
    GotAddrs gai, literal;
    res->suspend();
    auto* w = res->resolve_ipv4("w.test", waiting.cb());
    CHECK(res->waiting() == 1);
    res->cancel(w);
    CHECK(res->waiting() == 0);
    res->resume();
    res->cancel(res->resolve_ipv4("myhost", hosts.cb()));
    res->cancel(res->resolve_ipv4("", bad.cb()));
    res->cancel(res->getaddrinfo("g.test", 80, AF_UNSPEC, gai.cb()));
    res->cancel(res->getaddrinfo("192.0.2.1", 80, AF_UNSPEC, literal.cb()));
    res->cancel(nullptr);
    run_for(*base, std::chrono::milliseconds(100));
    CHECK(waiting.calls + hosts.calls + bad.calls + gai.calls + literal.calls == 0);
    CHECK(res->inflight() == 0);
    res->resolve_ipv4("myhost", after.cb());  // still works
    REQUIRE(run_until(*base, [&] { return after.done(); }));
    CHECK(after.first() == "192.0.2.7");
  }
  SUBCASE("from inside another request's callback") {
    Got second;
    dns::Resolver::Request* other = nullptr;
    int first_calls = 0;
    res->resolve_ipv4("first.test", [&](const dns::Resolver::Result&) {
      ++first_calls;
      res->cancel(other);
    });
    up.handler = [&](std::unique_ptr<dns::ServerRequest> req) {
      if (req->query().questions[0].name == "first.test") Upstream::answer(std::move(req));
      else up.held.push_back(std::move(req));
    };
    other = res->resolve_ipv4("second.test", second.cb());
    run_for(*base, std::chrono::milliseconds(100));
    CHECK(first_calls == 1);
    CHECK(second.calls == 0);
  }
}

TEST_CASE("dns resolver: destroying it delivers kErrShutdown to pending requests") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = up.hold();
  Got inflight, waiting;
  GotAddrs gai;
  int cancelled_calls = 0;
  {
    dns::ResolvConf conf = conf_for({up.address()}, std::chrono::seconds(10));
    conf.max_inflight = 3;
    auto res = make_resolver(*base, conf);
    res->resolve_ipv4("a.test", inflight.cb());
    res->getaddrinfo("b.test", 80, AF_UNSPEC, gai.cb());
    res->resolve_ipv4("c.test", waiting.cb());
    res->cancel(res->resolve_ipv4("d.test", [&](const dns::Resolver::Result&) { ++cancelled_calls; }));
    CHECK(res->waiting() == 1);
    REQUIRE(run_until(*base, [&] { return up.held.size() == 3; }));
  }
  CHECK(inflight.calls == 1);
  CHECK(inflight.err() == dns::kErrShutdown);
  CHECK(waiting.calls == 1);
  CHECK(waiting.err() == dns::kErrShutdown);
  CHECK(gai.calls == 1);
  CHECK(gai.err == dns::kErrShutdown);
  CHECK(cancelled_calls == 0);
  for (auto& req : up.held) {  // late answers reach nobody
    add_default_answer(*req);
    req->respond();
  }
  run_for(*base, std::chrono::milliseconds(50));
  CHECK(inflight.calls == 1);
  CHECK(gai.calls == 1);
}

TEST_CASE("dns resolver: manual configuration") {
  auto base = make_test_base();
  Upstream up(*base);
  std::string why;
  auto res = dns::Resolver::create(*base, dns::ResolvConf{}, &why);
  REQUIRE(res);
  CHECK(why == "no nameservers configured");
  CHECK(res->nameserver_count() == 0);

  Got none;
  res->resolve_ipv4("a.test", none.cb());
  CHECK(none.calls == 0);  // not from inside the call, even with nothing to ask
  REQUIRE(run_until(*base, [&] { return none.done(); }));
  CHECK(none.err() != dns::kErrNone);

  res->add_nameserver(up.address());
  CHECK(res->nameserver_count() == 1);
  Got g;
  res->resolve_ipv4("a.test", g.cb());
  REQUIRE(run_until(*base, [&] { return g.done(); }));
  CHECK(g.first() == "192.0.2.1");

  SUBCASE("cleared while a query waits for its answer") {
    up.handler = up.hold();
    res->config().timeout = std::chrono::milliseconds(100);
    Got pending;
    res->resolve_ipv4("b.test", pending.cb());
    REQUIRE(run_until(*base, [&] { return up.held.size() == 1; }));
    res->clear_nameservers();
    CHECK(res->nameserver_count() == 0);
    REQUIRE(run_until(*base, [&] { return pending.done(); }));
    CHECK(pending.err() != dns::kErrNone);
  }
  SUBCASE("replaced while a query waits for its answer") {
    Upstream second(*base);
    up.handler = up.hold();
    res->config().timeout = std::chrono::milliseconds(250);
    res->config().attempts = 3;
    Got pending;
    res->resolve_ipv4("b.test", pending.cb());
    REQUIRE(run_until(*base, [&] { return up.held.size() == 1; }));
    res->clear_nameservers();
    res->add_nameserver(second.address());
    REQUIRE(run_until(*base, [&] { return pending.done(); }));
    CHECK(pending.err() == dns::kErrNone);
    CHECK(second.count("b.test") == 1);
  }
}

TEST_CASE("dns resolver: resolv.conf options take effect") {
  auto base = make_test_base();
  Upstream up(*base);
  dns::ResolvConf conf = dns::parse_resolv_conf(
      "nameserver 127.0.0.1:" + std::to_string(up.address().port()) +
      "\nsearch a.test\noptions ndots:2 timeout:1 attempts:1 max-inflight:1 randomize-case:1 bind-to:127.0.0.2"
      "\noptions max-timeouts:4 initial-probe-timeout:2\n");
  CHECK(conf.warnings.empty());
  auto res = make_resolver(*base, conf);
  CHECK(res->nameserver_count() == 1);
  CHECK(res->config().ndots == 2);
  CHECK(res->config().max_inflight == 1);
  CHECK(res->config().max_timeouts == 4);
  CHECK(res->config().initial_probe_timeout == std::chrono::seconds(2));
  Got g1, g2;
  res->resolve_ipv4("www.example", g1.cb());
  res->resolve_ipv4("www.example", g2.cb());
  CHECK(res->inflight() == 1);  // max-inflight:1
  CHECK(res->waiting() == 1);
  REQUIRE(run_until(*base, [&] { return g1.done() && g2.done(); }));
  CHECK(g1.result.name == "www.example.a.test");  // ndots:2 puts the search list first
  REQUIRE_FALSE(up.seen.empty());
  CHECK(up.seen[0].peer.host() == "127.0.0.2");  // bind-to
  CHECK(dns::names_equal(up.seen[0].name, "www.example.a.test"));
}
