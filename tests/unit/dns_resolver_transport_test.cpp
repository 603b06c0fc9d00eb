// dns::Resolver, the transport: timeouts, failover between
// nameservers, failed-server detection and probing, max-inflight queueing,
// suspend / resume, and the defences against spoofing (random IDs and
// source ports, 0x20 case randomisation, answers checked against ID,
// question and server address), and the TCP retry of a truncated answer.
#include "engine/dns/resolver.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "dns_test_util.h"
#include "engine/io/buffer_event.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/io/listener.h"

using namespace dnstest;

namespace {

// A nameserver over TCP only, which answers each query through `on_query`.
struct RawTcp {
  using Handler = std::function<void(const dns::Message& query, ev::BufferEvent& conn)>;
  RawTcp(ev::EventBase& base, Handler h) : on_query(std::move(h)) {
    std::string why;
    listener = ev::ConnListener::bind(
        base, loopback(), ev::ConnListener::kReusable | ev::ConnListener::kCloseOnFree, -1,
        [this, &base](ev::ConnListener&, int fd, const ev::SocketAddress&) {
          auto bev = ev::SocketBufferEvent::create(base, fd, ev::BufferEvent::kCloseOnFree);
          bev->setcb([this](ev::BufferEvent& b) { read(b); }, nullptr, nullptr);
          bev->enable(ev::kRead | ev::kWrite);
          conns.push_back(std::move(bev));
        },
        &why);
    INFO(why);
    REQUIRE(listener);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(listener->fd(), reinterpret_cast<sockaddr*>(&ss), &len);
    addr = ev::SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
  }
  void read(ev::BufferEvent& b) {
    while (b.input().length() >= 2) {
      std::uint8_t l[2];
      b.input().copyout(l, 2);
      std::size_t n = (static_cast<std::size_t>(l[0]) << 8) | l[1];
      if (b.input().length() < n + 2) return;
      Bytes msg(n + 2);
      b.input().remove(msg.data(), msg.size());
      on_query(parse(Bytes(msg.begin() + 2, msg.end())), b);
    }
  }
  static void send(ev::BufferEvent& b, const dns::Message& m) {
    Bytes wire = dns::build_message(m);
    std::uint8_t l[2] = {static_cast<std::uint8_t>(wire.size() >> 8), static_cast<std::uint8_t>(wire.size())};
    b.write(l, 2);
    b.write(wire.data(), wire.size());
  }
  Handler on_query;
  std::unique_ptr<ev::ConnListener> listener;
  std::vector<std::unique_ptr<ev::BufferEvent>> conns;
  ev::SocketAddress addr;
};

}  // namespace

TEST_CASE("dns resolver: timeout after every attempt") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = &Upstream::drop;
  dns::ResolvConf conf = conf_for({up.address()}, std::chrono::milliseconds(100));
  conf.attempts = 2;
  auto res = make_resolver(*base, conf);
  Got g;
  res->resolve_ipv4("slow.test", g.cb());
  REQUIRE(run_until(*base, [&] { return g.done(); }));
  CHECK(g.err() == dns::kErrTimeout);
  CHECK(up.seen.size() == 2);  // attempts x nameservers
  CHECK(res->inflight() == 0);
  run_for(*base, std::chrono::milliseconds(150));
  CHECK(g.calls == 1);
  CHECK(up.seen.size() == 2);
}

TEST_CASE("dns resolver: failover to the next nameserver") {
  auto base = make_test_base();
  Upstream first(*base), second(*base);
  dns::ResolvConf conf = conf_for({first.address(), second.address()}, std::chrono::milliseconds(250));
  conf.max_timeouts = 10;  // stays up: this is failover, not failure detection

  SUBCASE("the first is silent") {
    first.handler = &Upstream::drop;
    auto res = make_resolver(*base, conf);
    Got g;
    res->resolve_ipv4("a.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNone);
    CHECK(g.first() == "192.0.2.1");
    CHECK(first.count("a.test") == 1);
    CHECK(second.count("a.test") == 1);
  }
  SUBCASE("the first says SERVFAIL or REFUSED") {
    first.handler = Upstream::rcode(dns::kServFail);
    auto res = make_resolver(*base, conf);
    Got g1, g2;
    res->resolve_ipv4("a.test", g1.cb());
    REQUIRE(run_until(*base, [&] { return g1.done(); }));
    CHECK(g1.first() == "192.0.2.1");
    first.handler = Upstream::rcode(dns::kRefused);
    res->resolve_ipv4("b.test", g2.cb());
    REQUIRE(run_until(*base, [&] { return g2.done(); }));
    CHECK(g2.first() == "192.0.2.1");
    CHECK(second.seen.size() == 2);
    CHECK(res->nameservers_up() == 2);  // an answer, even a refusal, is not a failure
  }
  SUBCASE("both fail: the last error is reported") {
    first.handler = Upstream::rcode(dns::kServFail);
    second.handler = Upstream::rcode(dns::kServFail);
    auto res = make_resolver(*base, conf);
    Got g;
    res->resolve_ipv4("a.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrServerFailed);
    CHECK(first.seen.size() + second.seen.size() == 2);
  }
}

TEST_CASE("dns resolver: failed nameservers are detected and probed back") {
  auto base = make_test_base();
  Upstream first(*base), second(*base);

  SUBCASE("a lone server goes down after max_timeouts and comes back when it answers") {
    first.handler = &Upstream::drop;
    dns::ResolvConf conf = conf_for({first.address()}, std::chrono::milliseconds(100));
    conf.max_timeouts = 2;
    auto res = make_resolver(*base, conf);
    Got g1, g2;
    res->resolve_ipv4("a.test", g1.cb());
    REQUIRE(run_until(*base, [&] { return g1.done(); }));
    CHECK(g1.err() == dns::kErrTimeout);
    CHECK(res->nameservers_up() == 1);
    res->resolve_ipv4("b.test", g2.cb());
    REQUIRE(run_until(*base, [&] { return g2.done(); }));
    CHECK(res->nameservers_up() == 0);

    first.handler = &Upstream::answer;  // answers the probe
    REQUIRE(run_until(*base, [&] { return res->nameservers_up() == 1; }));
    bool probed = std::any_of(first.seen.begin(), first.seen.end(),
                              [](const Upstream::Seen& s) { return s.type == dns::kTypeNS && s.name.empty(); });
    CHECK(probed);  // the root's NS
    Got g3;
    res->resolve_ipv4("c.test", g3.cb());
    REQUIRE(run_until(*base, [&] { return g3.done(); }));
    CHECK(g3.first() == "192.0.2.1");
  }
  SUBCASE("only the probe's own answer brings a server back") {
    RawUdp ns(*base);
    int probes = 0;
    bool honest = false;
    ns.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
      dns::Message q = parse(packet);
      if (q.questions.at(0).type != dns::kTypeNS) return;  // the queries time out
      ++probes;
      dns::Message wrong_id = reply_to(q, {}), wrong_opcode = reply_to(q, {}), wrong_question = reply_to(q, {});
      wrong_id.header.id ^= 0x0101;
      wrong_opcode.header.opcode = 2;
      wrong_question.questions[0].type = dns::kTypeSOA;
      if (!honest) {
        for (const dns::Message* m : {&wrong_id, &wrong_opcode, &wrong_question}) ns.send_to(*m, from);
        ns.send_to(Bytes(12, 0), from);
      } else {
        ns.send_to(reply_to(q, {}), from);
      }
    };
    dns::ResolvConf conf = conf_for({ns.addr}, std::chrono::milliseconds(100));
    conf.max_timeouts = 1;
    auto res = make_resolver(*base, conf);
    Got g;
    res->resolve_ipv4("a.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    REQUIRE(res->nameservers_up() == 0);
    REQUIRE(run_until(*base, [&] { return probes >= 2; }));
    CHECK(res->nameservers_up() == 0);
    honest = true;
    REQUIRE(run_until(*base, [&] { return res->nameservers_up() == 1; }));
  }
  SUBCASE("a down server is skipped while another is up") {
    first.handler = &Upstream::drop;
    dns::ResolvConf conf = conf_for({first.address(), second.address()}, std::chrono::milliseconds(250));
    conf.max_timeouts = 1;
    conf.initial_probe_timeout = std::chrono::seconds(60);
    auto res = make_resolver(*base, conf);
    Got g1;
    res->resolve_ipv4("a.test", g1.cb());
    REQUIRE(run_until(*base, [&] { return g1.done(); }));
    CHECK(g1.first() == "192.0.2.1");
    CHECK(res->nameservers_up() == 1);
    for (int i = 0; i < 3; ++i) {
      Got g;
      res->resolve_ipv4("b.test", g.cb());
      REQUIRE(run_until(*base, [&] { return g.done(); }));
      CHECK(g.first() == "192.0.2.1");
    }
    CHECK(first.count("b.test") == 0);
    CHECK(second.count("b.test") == 3);
  }
}

TEST_CASE("dns resolver: max-inflight queues the rest") {
  auto base = make_test_base();
  Upstream up(*base);
  std::size_t most = 0;
  up.handler = [&](std::unique_ptr<dns::ServerRequest> req) {
    up.held.push_back(std::move(req));
    most = std::max(most, up.held.size());
  };
  ev::Event answerer(*base, -1, ev::kPersist, [&](int, short) {
    for (auto& req : up.held) Upstream::answer(std::move(req));
    up.held.clear();
  });
  answerer.add(std::chrono::milliseconds(10));
  dns::ResolvConf conf = conf_for({up.address()}, std::chrono::seconds(10));
  conf.max_inflight = 2;
  auto res = make_resolver(*base, conf);
  std::vector<Got> got(10);
  for (int i = 0; i < 10; ++i) res->resolve_ipv4("q" + std::to_string(i) + ".test", got[i].cb());
  CHECK(res->inflight() == 2);
  CHECK(res->waiting() == 8);
  REQUIRE(run_until(*base, [&] { return std::all_of(got.begin(), got.end(), [](const Got& g) { return g.done(); }); }));
  CHECK(most == 2);
  CHECK(up.seen.size() == 10);
  for (const Got& g : got) CHECK(g.first() == "192.0.2.1");
  CHECK(res->inflight() == 0);
  CHECK(res->waiting() == 0);
}

TEST_CASE("dns resolver: suspend and resume") {
  auto base = make_test_base();
  Upstream up(*base);
  auto res = make_resolver(*base, conf_for({up.address()}));
  res->suspend();
  Got g1, g2;
  res->resolve_ipv4("a.test", g1.cb());
  res->resolve_ipv6("a.test", g2.cb());
  CHECK(res->waiting() == 2);
  run_for(*base, std::chrono::milliseconds(50));
  CHECK(up.seen.empty());
  CHECK(g1.calls == 0);
  res->resume();
  CHECK(res->waiting() == 0);
  REQUIRE(run_until(*base, [&] { return g1.done() && g2.done(); }));
  CHECK(g1.first() == "192.0.2.1");
  CHECK(g2.first(dns::kTypeAAAA) == "2001:db8::1");
}

TEST_CASE("dns resolver: spoofed answers are dropped") {
  auto base = make_test_base();
  RawUdp ns(*base);
  auto res = make_resolver(*base, conf_for({ns.addr}, std::chrono::seconds(5)));

  SUBCASE("wrong ID, wrong question, not an answer, garbage: the real answer that follows is used") {
    ns.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
      dns::Message q = parse(packet);
      const std::string& name = q.questions.at(0).name;
      dns::Message fake = reply_to(q, {record(name, dns::kTypeA, "192.0.2.66")});
      dns::Message wrong_id = fake;
      wrong_id.header.id ^= 0x5a5a;
      dns::Message wrong_name = fake;
      wrong_name.questions[0].name = "evil.test";
      dns::Message wrong_type = fake;
      wrong_type.questions[0].type = dns::kTypeAAAA;
      dns::Message no_question = fake;
      no_question.questions.clear();
      dns::Message two_questions = fake;
      two_questions.questions.push_back(q.questions[0]);
      dns::Message not_answer = fake;
      not_answer.header.qr = false;
      dns::Message wrong_opcode = fake;
      wrong_opcode.header.opcode = 4;  // NOTIFY
      dns::Message wrong_class = fake;
      wrong_class.questions[0].qclass = 3;  // CH
      for (const dns::Message* m :
           {&wrong_id, &wrong_name, &wrong_type, &no_question, &two_questions, &not_answer, &wrong_opcode, &wrong_class})
        ns.send_to(*m, from);
      ns.send_to(Bytes{0x12, 0x34, 0x81}, from);
      ns.send_to(reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")}), from);
    };
    Got g;
    res->resolve_ipv4("www.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNone);
    CHECK(g.data() == std::vector<std::string>{"192.0.2.99"});
  }
  SUBCASE("answers from another port or another address are ignored") {
    RawUdp other_port(*base);
    RawUdp other_addr(*base, loopback(ns.addr.port(), "127.0.0.2"));
    ns.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
      dns::Message q = parse(packet);
      const std::string& name = q.questions.at(0).name;
      dns::Message fake = reply_to(q, {record(name, dns::kTypeA, "192.0.2.66")});  // right ID and question
      other_port.send_to(fake, from);
      other_addr.send_to(fake, from);
      ns.send_to(reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")}), from);
    };
    Got g;
    res->resolve_ipv4("www.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.data() == std::vector<std::string>{"192.0.2.99"});
  }
}

TEST_CASE("dns resolver: IDs and source ports are random") {
  auto base = make_test_base();
  Upstream up(*base);
  auto res = make_resolver(*base, conf_for({up.address()}));
  for (int i = 0; i < 6; ++i) {
    Got g;
    res->resolve_ipv4("a.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
  }
  REQUIRE(up.seen.size() == 6);
  std::set<int> ports;
  std::set<std::uint16_t> ids;
  for (const auto& s : up.seen) {
    ports.insert(s.peer.port());
    ids.insert(s.id);
  }
  CHECK(ports.size() >= 2);  // six equal by chance: 2^-80
  CHECK(ids.size() >= 2);
}

TEST_CASE("dns resolver: 0x20 case randomisation") {
  auto base = make_test_base();
  const std::string name = "abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz.test";

  SUBCASE("the question goes out in mixed case; an exact echo is accepted") {
    Upstream up(*base);
    dns::ResolvConf conf = conf_for({up.address()});
    conf.randomize_case = true;
    auto res = make_resolver(*base, conf);
    Got g;
    res->resolve_ipv4(name, g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNone);
    CHECK(g.result.name == name);
    REQUIRE(up.seen.size() == 1);
    CHECK(up.seen[0].name != name);  // all 56 letters lower case by chance: 2^-56
    CHECK(dns::names_equal(up.seen[0].name, name));
  }
  SUBCASE("an answer echoing another case is rejected") {
    RawUdp ns(*base);
    dns::ResolvConf conf = conf_for({ns.addr}, std::chrono::seconds(5));
    conf.randomize_case = true;
    auto res = make_resolver(*base, conf);
    ns.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
      dns::Message q = parse(packet);
      dns::Message lower = reply_to(q, {record(name, dns::kTypeA, "192.0.2.66")});
      lower.questions[0].name = dns::lower_name(q.questions[0].name);
      ns.send_to(lower, from);
      ns.send_to(reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")}), from);
    };
    Got g;
    res->resolve_ipv4(name, g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.data() == std::vector<std::string>{"192.0.2.99"});
  }
  SUBCASE("off: the name goes out as given and any case is accepted") {
    RawUdp ns(*base);
    auto res = make_resolver(*base, conf_for({ns.addr}, std::chrono::seconds(5)));
    std::string sent;
    ns.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
      dns::Message q = parse(packet);
      sent = q.questions[0].name;
      dns::Message upper = reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")});
      std::transform(upper.questions[0].name.begin(), upper.questions[0].name.end(), upper.questions[0].name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      ns.send_to(upper, from);
    };
    Got g;
    res->resolve_ipv4(name, g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(sent == name);
    CHECK(g.first() == "192.0.2.99");
  }
}

TEST_CASE("dns resolver: a truncated answer is retried over TCP") {
  auto base = make_test_base();
  Upstream up(*base);
  auto res = make_resolver(*base, conf_for({up.address()}, std::chrono::seconds(5)));

  SUBCASE("too big for UDP: the server truncates, TCP brings all of it") {
    up.handler = [](std::unique_ptr<dns::ServerRequest> req) {
      const std::string name = req->query().questions[0].name;
      for (int i = 0; i < 200; ++i)
        req->add_record(dns::Section::Answer,
                        record(name, dns::kTypeA, "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
      req->respond();
    };
    Got g;
    res->resolve_ipv4("big.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.err() == dns::kErrNone);
    CHECK(g.data().size() == 200);
    CHECK_FALSE(g.result.answer.header.tc);
    REQUIRE(up.seen.size() == 2);
    CHECK_FALSE(up.seen[0].tcp);
    CHECK(up.seen[1].tcp);
    CHECK(up.seen[1].name == "big.test");
  }
  SUBCASE("TC set on a small UDP answer") {
    up.handler = [](std::unique_ptr<dns::ServerRequest> req) {
      const std::string name = req->query().questions[0].name;
      if (!req->over_tcp()) {
        req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.66"));
        req->reply().header.tc = true;
      } else {
        req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.99"));
        req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.100"));
      }
      req->respond();
    };
    Got g;
    res->resolve_ipv4("tc.test", g.cb());
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.data() == std::vector<std::string>{"192.0.2.99", "192.0.2.100"});
  }
  SUBCASE("kUseTcp: TCP from the start") {
    Got g;
    res->resolve_ipv4("a.test", g.cb(), dns::Resolver::kUseTcp);
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.first() == "192.0.2.1");
    REQUIRE(up.seen.size() == 1);
    CHECK(up.seen[0].tcp);
  }
  SUBCASE("over TCP too, answers with a wrong ID or question are ignored") {
    RawTcp ns(*base, [](const dns::Message& q, ev::BufferEvent& conn) {
      const std::string name = q.questions.at(0).name;
      dns::Message fake = reply_to(q, {record(name, dns::kTypeA, "192.0.2.66")});
      dns::Message wrong_id = fake;
      wrong_id.header.id ^= 0x0001;
      dns::Message wrong_name = fake;
      wrong_name.questions[0].name = "evil.test";
      for (const dns::Message* m : {&wrong_id, &wrong_name}) RawTcp::send(conn, *m);
      RawTcp::send(conn, reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")}));  // in the same segment
    });
    res->clear_nameservers();
    res->add_nameserver(ns.addr);
    Got g;
    res->resolve_ipv4("a.test", g.cb(), dns::Resolver::kUseTcp);
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.data() == std::vector<std::string>{"192.0.2.99"});
  }
  SUBCASE("TCP answers with SERVFAIL, then the next server") {
    Upstream second(*base);
    res->add_nameserver(second.address());
    up.handler = Upstream::rcode(dns::kServFail);
    Got g;
    res->resolve_ipv4("a.test", g.cb(), dns::Resolver::kUseTcp);
    REQUIRE(run_until(*base, [&] { return g.done(); }));
    CHECK(g.first() == "192.0.2.1");
    REQUIRE(second.seen.size() == 1);
    CHECK(second.seen[0].tcp);
  }
}
