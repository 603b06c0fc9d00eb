// dns::Server (RFC 1035 4.2, RFC 7766) and the Forwarder: UDP and TCP on
// one port, inspecting a request (questions, flags, peer, transport),
// records in every section, respond now or later, drop, truncation, TCP
// framing, and malformed packets that must neither crash the server nor
// stop it answering; the forwarder relays to an upstream dns::Server and
// guards against spoofed answers. The zone logic is in dns_zone_db_test.cpp.
#include "engine/dns/server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "dns_test_util.h"
#include "engine/dns/forwarder.h"

using namespace dnstest;

namespace {

ev::SocketAddress local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ev::SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

// A client on its own socket; poll() collects whatever has arrived.
struct UdpClient {
  explicit UdpClient(const ev::SocketAddress& server) {
    fd = ev::UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::connect(fd.get(), server.sa(), server.length) == 0);
    addr = local_address(fd.get());
  }
  void send(const Bytes& wire) { REQUIRE(::send(fd.get(), wire.data(), wire.size(), 0) == static_cast<ssize_t>(wire.size())); }
  void send(const dns::Message& m) { send(dns::build_message(m)); }
  std::size_t poll() {
    std::uint8_t buf[65536];
    ssize_t n;
    while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) >= 0) replies.emplace_back(buf, buf + n);
    return replies.size();
  }
  ev::UniqueFd fd;
  ev::SocketAddress addr;
  std::vector<Bytes> replies;
};

Bytes framed(const Bytes& wire) {
  Bytes out = {static_cast<std::uint8_t>(wire.size() >> 8), static_cast<std::uint8_t>(wire.size())};
  out.insert(out.end(), wire.begin(), wire.end());
  return out;
}

// Length-prefixed messages over a connected TCP socket.
struct TcpClient {
  explicit TcpClient(const ev::SocketAddress& server) {
    fd = ev::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::connect(fd.get(), server.sa(), server.length) == 0);  // the kernel completes it before accept()
    REQUIRE(ev::make_socket_nonblocking(fd.get()) == 0);
    addr = local_address(fd.get());
  }
  void send(const Bytes& bytes) { REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size())); }
  void send(const dns::Message& m) { send(framed(dns::build_message(m))); }
  std::size_t poll() {
    std::uint8_t buf[65536];
    ssize_t n;
    while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) stream.insert(stream.end(), buf, buf + n);
    while (stream.size() >= 2) {
      std::size_t len = (static_cast<std::size_t>(stream[0]) << 8) | stream[1];
      if (stream.size() < len + 2) break;
      replies.emplace_back(stream.begin() + 2, stream.begin() + 2 + static_cast<std::ptrdiff_t>(len));
      stream.erase(stream.begin(), stream.begin() + 2 + static_cast<std::ptrdiff_t>(len));
    }
    return replies.size();
  }
  ev::UniqueFd fd;
  ev::SocketAddress addr;
  Bytes stream;
  std::vector<Bytes> replies;
};

// A server whose requests are kept for the test to look at and answer.
struct Held {
  explicit Held(ev::EventBase& base) {
    std::string why;
    server = dns::Server::bind(
        base, loopback(), [this](std::unique_ptr<dns::ServerRequest> req) { reqs.push_back(std::move(req)); }, &why);
    INFO(why);
    REQUIRE(server);
  }
  std::unique_ptr<dns::Server> server;
  std::vector<std::unique_ptr<dns::ServerRequest>> reqs;
};

std::vector<std::string> texts_of(const std::vector<dns::ResourceRecord>& rrs) {
  std::vector<std::string> out;
  for (const dns::ResourceRecord& rr : rrs) out.push_back(rr.data_text());
  return out;
}

Bytes header_only(std::uint16_t id, std::uint16_t flags, std::uint16_t qd) {
  return {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), static_cast<std::uint8_t>(flags >> 8),
          static_cast<std::uint8_t>(flags), 0, static_cast<std::uint8_t>(qd), 0, 0, 0, 0, 0, 0};
}

}  // namespace

TEST_CASE("dns server: UDP and TCP on one port; what a request shows") {
  auto base = make_test_base();
  Held h(*base);
  ev::SocketAddress at = h.server->address();
  CHECK(at.port() != 0);
  CHECK(at.host() == "127.0.0.1");

  UdpClient udp(at);
  dns::Message q = make_query("WWW.Example.com", dns::kTypeAAAA, 0xbeef);
  q.header.cd = true;
  udp.send(q);
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 1; }));
  dns::ServerRequest& r = *h.reqs[0];
  CHECK(r.query().header.id == 0xbeef);
  CHECK(r.query().header.rd);
  CHECK(r.query().header.cd);
  REQUIRE(r.query().questions.size() == 1);
  CHECK(r.query().questions[0].name == "WWW.Example.com");
  CHECK(r.query().questions[0].type == dns::kTypeAAAA);
  CHECK(r.peer().to_string() == udp.addr.to_string());
  CHECK_FALSE(r.over_tcp());
  CHECK(r.max_udp_size() == 512);
  CHECK_FALSE(r.done());
  // The reply is started: ID, QR, RD and the question.
  CHECK(r.reply().header.id == 0xbeef);
  CHECK(r.reply().header.qr);
  CHECK(r.reply().header.rd);
  REQUIRE(r.reply().questions.size() == 1);
  CHECK(r.reply().questions[0].name == "WWW.Example.com");
  CHECK_FALSE(r.reply().edns);

  for (std::uint16_t size : {1400, 100, 65000}) {
    dns::Message e = make_query("edns.test", dns::kTypeA, size);
    e.edns = dns::Edns{size, 0, 0, false};
    udp.send(e);
  }
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 4; }));
  CHECK(h.reqs[1]->max_udp_size() == 1400);
  CHECK(h.reqs[2]->max_udp_size() == 512);  // below 512 counts as 512
  CHECK(h.reqs[3]->max_udp_size() == 4096);
  CHECK(h.reqs[1]->reply().edns);

  TcpClient tcp(at);
  tcp.send(make_query("tcp.test", dns::kTypeA, 7));
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 5; }));
  CHECK(h.reqs[4]->over_tcp());
  CHECK(h.reqs[4]->peer().to_string() == tcp.addr.to_string());
  CHECK(h.reqs[4]->query().questions[0].name == "tcp.test");
  CHECK(h.server->queries() == 5);
  CHECK(h.server->malformed() == 0);
}

TEST_CASE("dns server: records in every section, rcode and AA") {
  auto base = make_test_base();
  Held h(*base);
  UdpClient udp(h.server->address());
  udp.send(make_query("www.example.com", dns::kTypeA, 0x1111));
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 1; }));
  dns::ServerRequest& r = *h.reqs[0];
  r.add_record(dns::Section::Answer, record("www.example.com", dns::kTypeCNAME, "web.example.com."));
  r.add_record(dns::Section::Answer, record("web.example.com", dns::kTypeA, "192.0.2.1"));
  r.add_record(dns::Section::Answer, record("web.example.com", dns::kTypeAAAA, "2001:db8::1"));
  r.add_record(dns::Section::Authority, record("example.com", dns::kTypeNS, "ns.example.com."));
  r.add_record(dns::Section::Additional, record("ns.example.com", dns::kTypeA, "192.0.2.53"));
  r.add_record(dns::Section::Additional, record("1.2.0.192.in-addr.arpa", dns::kTypePTR, "web.example.com."));
  r.set_rcode(dns::kNxDomain);
  r.set_authoritative(true);
  CHECK(r.respond() == 0);
  CHECK(r.done());
  CHECK(r.respond() == -1);  // once only
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 1; }));
  dns::Message m = parse(udp.replies[0]);
  CHECK(m.header.id == 0x1111);
  CHECK(m.header.qr);
  CHECK(m.header.aa);
  CHECK(m.header.rcode == dns::kNxDomain);
  REQUIRE(m.questions.size() == 1);
  CHECK(m.questions[0].name == "www.example.com");
  REQUIRE(m.answers.size() == 3);
  CHECK(m.answers[0].type == dns::kTypeCNAME);
  CHECK(m.answers[0].data_text() == "web.example.com.");
  CHECK(m.answers[2].data_text() == "2001:db8::1");
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].type == dns::kTypeNS);
  REQUIRE(m.additional.size() == 2);
  CHECK(m.additional[0].data_text() == "192.0.2.53");
  CHECK(m.additional[1].type == dns::kTypePTR);
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(udp.poll() == 1);
}

TEST_CASE("dns server: drop, and answers given later") {
  auto base = make_test_base();
  Held h(*base);
  UdpClient udp(h.server->address());
  udp.send(make_query("drop.test", dns::kTypeA, 1));
  udp.send(make_query("later.test", dns::kTypeA, 2));
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 2; }));
  h.reqs[0]->drop();
  CHECK(h.reqs[0]->done());
  CHECK(h.reqs[0]->respond() == -1);  // dropped stays dropped
  ev::Event later(*base, -1, 0, [&](int, short) {
    add_default_answer(*h.reqs[1]);
    h.reqs[1]->respond();
  });
  later.add(std::chrono::milliseconds(50));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 1; }));
  run_for(*base, std::chrono::milliseconds(20));
  REQUIRE(udp.poll() == 1);
  dns::Message m = parse(udp.replies[0]);
  CHECK(m.header.id == 2);
  REQUIRE(m.answers.size() == 1);
  CHECK(m.answers[0].data_text() == "192.0.2.1");
}

TEST_CASE("dns server: UDP answers are truncated to the client's size, TCP's are not") {
  auto base = make_test_base();
  std::string why;
  auto server = dns::Server::bind(
      *base, loopback(),
      [](std::unique_ptr<dns::ServerRequest> req) {
        for (int i = 0; i < 100; ++i)
          req->add_record(dns::Section::Answer, record("big.test", dns::kTypeA, "10.0.0." + std::to_string(i)));
        req->respond();
      },
      &why);
  REQUIRE(server);
  UdpClient udp(server->address());
  TcpClient tcp(server->address());
  udp.send(make_query("big.test", dns::kTypeA, 1));
  dns::Message big_edns = make_query("big.test", dns::kTypeA, 2);
  big_edns.edns = dns::Edns{4096, 0, 0, false};
  udp.send(big_edns);
  tcp.send(make_query("big.test", dns::kTypeA, 3));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 2 && tcp.poll() >= 1; }));
  CHECK(udp.replies[0].size() <= 512);
  dns::Message small = parse(udp.replies[0]);
  CHECK(small.header.tc);
  CHECK(small.answers.size() < 100);
  dns::Message edns = parse(udp.replies[1]);
  CHECK_FALSE(edns.header.tc);
  CHECK(edns.answers.size() == 100);
  CHECK(edns.edns);
  dns::Message full = parse(tcp.replies[0]);
  CHECK_FALSE(full.header.tc);
  CHECK(full.answers.size() == 100);
}

TEST_CASE("dns server: TCP framing") {
  auto base = make_test_base();
  std::string why;
  auto server = dns::Server::bind(*base, loopback(), &Upstream::answer, &why);
  REQUIRE(server);
  TcpClient tcp(server->address());

  Bytes two = framed(dns::build_message(make_query("one.test", dns::kTypeA, 1)));
  Bytes second = framed(dns::build_message(make_query("two.test", dns::kTypeAAAA, 2)));
  two.insert(two.end(), second.begin(), second.end());
  tcp.send(two);  // two queries in one write
  REQUIRE(run_until(*base, [&] { return tcp.poll() >= 2; }));
  dns::Message a = parse(tcp.replies[0]), b = parse(tcp.replies[1]);
  CHECK(a.header.id == 1);
  CHECK(a.answers.at(0).data_text() == "192.0.2.1");
  CHECK(b.header.id == 2);
  CHECK(b.answers.at(0).data_text() == "2001:db8::1");

  Bytes slow = framed(dns::build_message(make_query("three.test", dns::kTypeA, 3)));
  for (std::uint8_t byte : slow) {  // one byte at a time, the length too
    tcp.send(Bytes{byte});
    run_for(*base, std::chrono::milliseconds(1));
  }
  REQUIRE(run_until(*base, [&] { return tcp.poll() >= 3; }));
  CHECK(parse(tcp.replies[2]).header.id == 3);
  CHECK(server->queries() == 3);
}

TEST_CASE("dns server: malformed packets") {
  auto base = make_test_base();
  Held h(*base);
  std::vector<std::string> errors;
  h.server->set_error_callback([&](const ev::SocketAddress&, const std::string& why) { errors.push_back(why); });
  UdpClient udp(h.server->address());

  Bytes truncated_question = header_only(0xabcd, 0x0100, 1);
  truncated_question.insert(truncated_question.end(), {3, 'w', 'w'});
  Bytes response = dns::build_message(reply_to(make_query("x.test", dns::kTypeA, 0x2222)));
  udp.send(Bytes{0x12, 0x34, 0x01});        // short: dropped
  udp.send(Bytes{});                         // empty: dropped
  udp.send(response);                        // an answer, not a query: dropped
  udp.send(truncated_question);              // FORMERR, same ID
  udp.send(header_only(0x3333, 0x0100, 0));  // no question: FORMERR
  dns::Message two = make_query("a.test", dns::kTypeA, 0x4444);
  two.questions.push_back(two.questions[0]);
  udp.send(two);  // two questions: FORMERR
  dns::Message status = make_query("a.test", dns::kTypeA, 0x5555);
  status.header.opcode = 2;
  udp.send(status);  // STATUS: NOTIMP
  udp.send(make_query("fine.test", dns::kTypeA, 0x6666));
  REQUIRE(run_until(*base, [&] { return h.reqs.size() == 1 && udp.poll() >= 4; }));
  CHECK(h.reqs[0]->query().header.id == 0x6666);
  run_for(*base, std::chrono::milliseconds(20));
  REQUIRE(udp.poll() == 4);
  struct Expect {
    std::uint16_t id;
    std::uint8_t rcode;
  };
  const Expect expect[] = {{0xabcd, dns::kFormErr}, {0x3333, dns::kFormErr}, {0x4444, dns::kFormErr}, {0x5555, dns::kNotImp}};
  for (std::size_t i = 0; i < 4; ++i) {
    dns::Message m;
    REQUIRE(dns::parse_message(udp.replies[i], m).status == dns::ParseStatus::Ok);
    CHECK(m.header.id == expect[i].id);
    CHECK(m.header.qr);
    CHECK(m.header.rcode == expect[i].rcode);
  }
  CHECK(h.server->malformed() >= 4);
  CHECK(errors.size() >= 4);

  TcpClient tcp(h.server->address());  // the same over TCP; the connection stays usable
  tcp.send(framed(truncated_question));
  tcp.send(framed(Bytes{1, 2, 3}));
  tcp.send(make_query("tcp.test", dns::kTypeA, 0x7777));
  REQUIRE(run_until(*base, [&] { return tcp.poll() >= 1 && h.reqs.size() == 2; }));
  CHECK(parse(tcp.replies[0]).header.rcode == dns::kFormErr);
  CHECK(parse(tcp.replies[0]).header.id == 0xabcd);
  add_default_answer(*h.reqs[1]);
  CHECK(h.reqs[1]->respond() == 0);
  REQUIRE(run_until(*base, [&] { return tcp.poll() >= 2; }));
  CHECK(parse(tcp.replies[1]).header.id == 0x7777);
}

TEST_CASE("dns server: a request outliving its client or its server") {
  auto base = make_test_base();
  auto h = std::make_unique<Held>(*base);
  {
    TcpClient tcp(h->server->address());
    tcp.send(make_query("gone.test", dns::kTypeA, 1));
    REQUIRE(run_until(*base, [&] { return h->reqs.size() == 1; }));
  }  // the client hangs up
  run_for(*base, std::chrono::milliseconds(50));
  CHECK(h->reqs[0]->respond() == -1);

  UdpClient udp(h->server->address());
  udp.send(make_query("late.test", dns::kTypeA, 2));
  REQUIRE(run_until(*base, [&] { return h->reqs.size() == 2; }));
  std::unique_ptr<dns::ServerRequest> kept = std::move(h->reqs[1]);
  h->server.reset();
  CHECK(kept->respond() == -1);  // nobody to send it
  run_for(*base, std::chrono::milliseconds(20));
  CHECK(udp.poll() == 0);
}

TEST_CASE("dns server: the answer cache") {
  auto base = make_test_base();
  int calls = 0;
  std::string why;
  auto server = dns::Server::bind(
      *base, loopback(),
      [&](std::unique_ptr<dns::ServerRequest> req) {
        ++calls;
        add_default_answer(*req);
        req->set_cacheable(req->query().questions[0].type == dns::kTypeA);
        req->respond();
      },
      &why);
  REQUIRE(server);
  server->enable_answer_cache(100);
  UdpClient udp(server->address());
  auto ask = [&](std::string_view name, std::uint16_t type, std::uint16_t id) {
    std::size_t before = udp.replies.size();
    udp.send(make_query(name, type, id));
    REQUIRE(run_until(*base, [&] { return udp.poll() > before; }));
    return parse(udp.replies.back());
  };
  dns::Message first = ask("Www.Test", dns::kTypeA, 1);
  CHECK(first.answers.at(0).name == "Www.Test");
  dns::Message hit = ask("wWW.test", dns::kTypeA, 2);  // same question, another spelling
  CHECK(calls == 1);
  CHECK(server->cache_hits() == 1);
  CHECK(hit.header.id == 2);
  CHECK(hit.questions.at(0).name == "wWW.test");
  REQUIRE(hit.answers.size() == 1);
  CHECK(hit.answers[0].name == "wWW.test");
  CHECK(hit.answers[0].data_text() == "192.0.2.1");
  ask("www.test", dns::kTypeAAAA, 3);  // not cacheable: asked each time
  ask("www.test", dns::kTypeAAAA, 4);
  CHECK(calls == 3);
  server->clear_answer_cache();
  ask("www.test", dns::kTypeA, 5);
  CHECK(calls == 4);
  TcpClient tcp(server->address());  // TCP is never answered from the cache
  tcp.send(make_query("www.test", dns::kTypeA, 6));
  REQUIRE(run_until(*base, [&] { return tcp.poll() >= 1; }));
  CHECK(calls == 5);
  CHECK(parse(tcp.replies[0]).header.id == 6);
}

TEST_CASE("dns server: binding a port in use fails with a reason") {
  auto base = make_test_base();
  Held h(*base);
  std::string why;
  auto second = dns::Server::bind(*base, h.server->address(), &Upstream::answer, &why);
  CHECK_FALSE(second);
  CHECK_FALSE(why.empty());
}

// ---- the forwarder ----------------------------------------------------------

namespace {

// A front server that forwards everything to `upstream`.
struct Front {
  Front(ev::EventBase& base, const ev::SocketAddress& upstream, ev::Duration timeout) {
    std::string why;
    forwarder = dns::Forwarder::create(base, upstream, timeout, &why);
    INFO(why);
    REQUIRE(forwarder);
    server = dns::Server::bind(
        base, loopback(), [this](std::unique_ptr<dns::ServerRequest> req) { forwarder->forward(std::move(req)); },
        &why);
    REQUIRE(server);
  }
  std::unique_ptr<dns::Forwarder> forwarder;
  std::unique_ptr<dns::Server> server;
};

}  // namespace

TEST_CASE("dns forwarder: relays to the upstream and restores the ID") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = [](std::unique_ptr<dns::ServerRequest> req) {
    if (req->query().questions[0].name == "nx.test") req->set_rcode(dns::kNxDomain);
    else add_default_answer(*req);
    req->set_authoritative(true);
    req->respond();
  };
  Front front(*base, up.address(), std::chrono::seconds(5));
  UdpClient udp(front.server->address());
  udp.send(make_query("Www.Test", dns::kTypeA, 0x4242));
  udp.send(make_query("nx.test", dns::kTypeAAAA, 0x4343));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 2; }));
  dns::Message a = parse(udp.replies[0]), b = parse(udp.replies[1]);
  if (a.header.id != 0x4242) std::swap(a, b);
  CHECK(a.header.id == 0x4242);
  CHECK(a.header.rcode == dns::kNoError);
  CHECK_FALSE(a.header.aa);  // not authoritative: we only relayed it
  CHECK(a.questions.at(0).name == "Www.Test");
  REQUIRE(a.answers.size() == 1);
  CHECK(a.answers[0].data_text() == "192.0.2.1");
  CHECK(b.header.id == 0x4343);
  CHECK(b.header.rcode == dns::kNxDomain);
  CHECK(front.forwarder->pending() == 0);
  REQUIRE(up.seen.size() == 2);
  CHECK(up.seen[0].peer.to_string() != udp.addr.to_string());  // from the forwarder's own socket
}

TEST_CASE("dns forwarder: spoofed upstream answers are dropped") {
  auto base = make_test_base();
  RawUdp up(*base);
  RawUdp other(*base);
  Front front(*base, up.addr, std::chrono::seconds(5));
  up.on_packet = [&](const Bytes& packet, const ev::SocketAddress& from) {
    dns::Message q = parse(packet);
    const std::string name = q.questions.at(0).name;
    dns::Message fake = reply_to(q, {record(name, dns::kTypeA, "192.0.2.66")});
    other.send_to(fake, from);  // right ID, wrong port
    dns::Message wrong_id = fake;
    wrong_id.header.id ^= 0x0101;
    up.send_to(wrong_id, from);
    dns::Message wrong_name = fake;
    wrong_name.questions[0].name = "evil.test";
    up.send_to(wrong_name, from);
    dns::Message wrong_type = fake;
    wrong_type.questions[0].type = dns::kTypeMX;
    up.send_to(wrong_type, from);
    dns::Message wrong_opcode = fake;
    wrong_opcode.header.opcode = 5;  // UPDATE
    up.send_to(wrong_opcode, from);
    dns::Message not_answer = fake;
    not_answer.header.qr = false;
    up.send_to(not_answer, from);
    up.send_to(Bytes{1, 2, 3, 4, 5}, from);
    up.send_to(reply_to(q, {record(name, dns::kTypeA, "192.0.2.99")}), from);
  };
  UdpClient udp(front.server->address());
  udp.send(make_query("www.test", dns::kTypeA, 0x1010));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 1; }));
  run_for(*base, std::chrono::milliseconds(20));
  REQUIRE(udp.poll() == 1);
  dns::Message m = parse(udp.replies[0]);
  CHECK(m.header.id == 0x1010);
  REQUIRE(m.answers.size() == 1);
  CHECK(m.answers[0].data_text() == "192.0.2.99");
}

TEST_CASE("dns forwarder: SERVFAIL when the upstream does not answer") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = &Upstream::drop;
  Front front(*base, up.address(), std::chrono::milliseconds(100));
  UdpClient udp(front.server->address());
  udp.send(make_query("slow.test", dns::kTypeA, 0x5150));
  REQUIRE(run_until(*base, [&] { return up.seen.size() == 1; }));
  CHECK(front.forwarder->pending() == 1);
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 1; }));
  dns::Message m = parse(udp.replies[0]);
  CHECK(m.header.id == 0x5150);
  CHECK(m.header.rcode == dns::kServFail);
  CHECK(front.forwarder->pending() == 0);
}

TEST_CASE("dns forwarder: a truncated upstream answer is asked again over TCP") {
  auto base = make_test_base();
  Upstream up(*base);
  bool tc_over_tcp = false;
  up.handler = [&](std::unique_ptr<dns::ServerRequest> req) {
    const std::string name = req->query().questions[0].name;
    if (req->over_tcp()) {
      req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.99"));
      req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.100"));
    } else {
      req->add_record(dns::Section::Answer, record(name, dns::kTypeA, "192.0.2.66"));
    }
    req->reply().header.tc = !req->over_tcp() || tc_over_tcp;
    req->respond();
  };
  Front front(*base, up.address(), std::chrono::seconds(5));
  UdpClient udp(front.server->address());
  udp.send(make_query("tc.test", dns::kTypeA, 9));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 1; }));
  dns::Message m = parse(udp.replies[0]);
  CHECK(m.header.id == 9);
  CHECK_FALSE(m.header.tc);
  CHECK(texts_of(m.answers) == std::vector<std::string>{"192.0.2.99", "192.0.2.100"});
  REQUIRE(up.seen.size() == 2);
  CHECK(up.seen[1].tcp);

  tc_over_tcp = true;  // still truncated over TCP: the client must hear TC
  udp.send(make_query("tc.test", dns::kTypeA, 10));
  REQUIRE(run_until(*base, [&] { return udp.poll() >= 2; }));
  CHECK(parse(udp.replies[1]).header.tc);
  CHECK(front.forwarder->pending() == 0);
}

TEST_CASE("dns forwarder: a request outliving the forwarder's answer or the forwarder") {
  auto base = make_test_base();
  Upstream up(*base);
  up.handler = up.hold();
  auto front = std::make_unique<Front>(*base, up.address(), std::chrono::seconds(5));
  UdpClient udp(front->server->address());
  udp.send(make_query("a.test", dns::kTypeA, 1));
  REQUIRE(run_until(*base, [&] { return up.held.size() == 1; }));
  CHECK(front->forwarder->pending() == 1);
  front->forwarder.reset();  // pending requests go unanswered, nothing crashes
  Upstream::answer(std::move(up.held[0]));
  run_for(*base, std::chrono::milliseconds(30));
  CHECK(udp.poll() == 0);
}
