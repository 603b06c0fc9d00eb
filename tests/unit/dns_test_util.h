// Helpers for the DNS resolver, server and forwarder tests: everything runs
// in-process on 127.0.0.1. An Upstream is our own dns::Server driven by the
// test (answer, hold, drop, any rcode); a RawUdp socket plays the
// misbehaving peers a dns::Server never would (wrong ID, wrong question,
// TC, answers from elsewhere).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/message.h"
#include "engine/dns/resolver.h"
#include "engine/dns/server.h"
#include "engine/util/sockaddr.h"
#include "engine/util/socket.h"
#include "io_test_util.h"
#include "test_base.h"

namespace dnstest {

namespace dns = ev::dns;
using Bytes = std::vector<std::uint8_t>;

inline ev::SocketAddress loopback(int port = 0, const char* ip = "127.0.0.1") {
  auto a = ev::parse_ip(ip, port);
  REQUIRE(a);
  return *a;
}

inline dns::ResourceRecord record(std::string_view name, std::uint16_t type, std::string_view data,
                                  std::uint32_t ttl = 60) {
  std::string why;
  auto rr = dns::make_record(name, type, ttl, data, "", &why);
  INFO("make_record: ", why);
  REQUIRE(rr);
  return *rr;
}

// The usual answer for each type, so tests can tell which question got it.
inline void add_default_answer(dns::ServerRequest& req) {
  const dns::Question& q = req.query().questions.at(0);
  switch (q.type) {
    case dns::kTypeA: req.add_record(dns::Section::Answer, record(q.name, q.type, "192.0.2.1")); break;
    case dns::kTypeAAAA: req.add_record(dns::Section::Answer, record(q.name, q.type, "2001:db8::1")); break;
    case dns::kTypePTR: req.add_record(dns::Section::Answer, record(q.name, q.type, "ptr.example.")); break;
    case dns::kTypeMX: req.add_record(dns::Section::Answer, record(q.name, q.type, "10 mx.example.")); break;
    case dns::kTypeTXT: req.add_record(dns::Section::Answer, record(q.name, q.type, "\"hello\"")); break;
    default: break;
  }
}

// A scriptable nameserver: records every query, then hands it to `handler`
// (default: the usual answer at once).
struct Upstream {
  struct Seen {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t id = 0;
    ev::SocketAddress peer;
    bool tcp = false;
  };
  using Handler = std::function<void(std::unique_ptr<dns::ServerRequest>)>;

  explicit Upstream(ev::EventBase& base, const ev::SocketAddress& at = loopback()) {
    std::string why;
    server = dns::Server::bind(
        base, at,
        [this](std::unique_ptr<dns::ServerRequest> req) {
          const dns::Question& q = req->query().questions.at(0);
          seen.push_back({q.name, q.type, req->query().header.id, req->peer(), req->over_tcp()});
          handler(std::move(req));
        },
        &why);
    INFO("Server::bind: ", why);
    REQUIRE(server);
  }
  ev::SocketAddress address() const { return server->address(); }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const Seen& s : seen) n += dns::names_equal(s.name, name);
    return n;
  }

  // Handlers.
  static void answer(std::unique_ptr<dns::ServerRequest> req) {
    add_default_answer(*req);
    req->respond();
  }
  static Handler rcode(std::uint8_t rc) {
    return [rc](std::unique_ptr<dns::ServerRequest> req) {
      req->set_rcode(rc);
      req->respond();
    };
  }
  static void drop(std::unique_ptr<dns::ServerRequest> req) { req->drop(); }
  Handler hold() {
    return [this](std::unique_ptr<dns::ServerRequest> req) { held.push_back(std::move(req)); };
  }

  std::unique_ptr<dns::Server> server;
  Handler handler = &Upstream::answer;
  std::vector<Seen> seen;
  std::vector<std::unique_ptr<dns::ServerRequest>> held;
};

// A bare UDP socket on 127.0.0.1 whose datagrams go to `on_packet`.
struct RawUdp {
  using Handler = std::function<void(const Bytes& packet, const ev::SocketAddress& from)>;

  RawUdp(ev::EventBase& base, const ev::SocketAddress& at = loopback()) {
    fd = ev::UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::bind(fd.get(), at.sa(), at.length) == 0);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    addr = ev::SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
    read_ev.assign(base, fd.get(), ev::kRead | ev::kPersist, [this](int, short) { drain(); });
    REQUIRE(read_ev.add() == 0);
  }
  void drain() {
    std::uint8_t buf[65536];
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&ss), &len);
      if (n < 0) return;
      Bytes packet(buf, buf + n);
      ev::SocketAddress from = ev::SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
      packets.push_back(packet);
      if (on_packet) on_packet(packet, from);
    }
  }
  void send_to(const Bytes& wire, const ev::SocketAddress& to) const {
    REQUIRE(::sendto(fd.get(), wire.data(), wire.size(), 0, to.sa(), to.length) == static_cast<ssize_t>(wire.size()));
  }
  void send_to(const dns::Message& m, const ev::SocketAddress& to) const { send_to(dns::build_message(m), to); }

  ev::UniqueFd fd;
  ev::SocketAddress addr;
  ev::Event read_ev;
  Handler on_packet;
  std::vector<Bytes> packets;
};

inline dns::Message parse(const Bytes& wire) {
  dns::Message m;
  auto r = dns::parse_message(wire, m);
  INFO("parse_message: ", r.error);
  REQUIRE(r.status == dns::ParseStatus::Ok);
  return m;
}

// The reply a correct server would send to `query`, with `answers`.
inline dns::Message reply_to(const dns::Message& query, std::vector<dns::ResourceRecord> answers = {}) {
  dns::Message r;
  r.header.id = query.header.id;
  r.header.qr = true;
  r.header.rd = query.header.rd;
  r.questions = query.questions;
  r.answers = std::move(answers);
  return r;
}

inline dns::Message make_query(std::string_view name, std::uint16_t type, std::uint16_t id = 0x1234) {
  dns::Message q;
  q.header.id = id;
  q.header.rd = true;
  q.questions.push_back({std::string(name), type, dns::kClassIN});
  return q;
}

// A resolver over `servers` with one attempt each. Tests that expect
// silence pass a short timeout; the default leaves a loaded machine time
// to answer.
inline dns::ResolvConf conf_for(std::initializer_list<ev::SocketAddress> servers,
                                ev::Duration timeout = std::chrono::milliseconds(1000)) {
  dns::ResolvConf conf;
  conf.nameservers.assign(servers.begin(), servers.end());
  conf.timeout = timeout;
  conf.attempts = 1;
  conf.initial_probe_timeout = std::chrono::milliseconds(100);
  return conf;
}

inline std::unique_ptr<dns::Resolver> make_resolver(ev::EventBase& base, const dns::ResolvConf& conf) {
  std::string why;
  auto r = dns::Resolver::create(base, conf, &why);
  REQUIRE(r);
  return r;
}

// What a query's callback got (and how often).
struct Got {
  int calls = 0;
  dns::Resolver::Result result;
  dns::Resolver::QueryCallback cb() {
    return [this](const dns::Resolver::Result& r) {
      ++calls;
      result = r;
    };
  }
  bool done() const { return calls > 0; }
  int err() const { return result.err; }
  // The data of the answers of `type`, in order.
  std::vector<std::string> data(std::uint16_t type = dns::kTypeA) const {
    std::vector<std::string> out;
    for (const dns::ResourceRecord& rr : result.answer.answers)
      if (rr.type == type) out.push_back(rr.data_text());
    return out;
  }
  std::string first(std::uint16_t type = dns::kTypeA) const {
    auto d = data(type);
    return d.empty() ? "" : d.front();
  }
};

// What a getaddrinfo callback got.
struct GotAddrs {
  int calls = 0;
  int err = -1;
  std::vector<std::string> addrs;  // "192.0.2.1:80", in order
  dns::Resolver::AddrCallback cb() {
    return [this](int e, const std::vector<ev::SocketAddress>& v) {
      ++calls;
      err = e;
      addrs.clear();
      for (const ev::SocketAddress& a : v) addrs.push_back(a.to_string());
    };
  }
  bool done() const { return calls > 0; }
};

}  // namespace dnstest
