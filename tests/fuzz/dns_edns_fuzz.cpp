// libFuzzer target: EDNS (RFC 6891) in queries to dns::Server, the way
// `dns serve` answers them. The input is a query's OPT record (its UDP
// size, extended RCODE, version, DO and other flags, and RDATA: options or
// anything), its question (from a small zone, in any case) and a few
// shapes (no OPT, a wrong RDLENGTH, a byte after it). Each query goes over
// loopback UDP to two servers answering from the same ZoneDb, one with the
// answer cache, one without. They must send the same answer (the cached
// one has seen the plain form of the question just before; names may
// differ in case, owners and those in RDATA alike: a cached answer's names
// compress to its question, which takes the spelling of each query), and
// the answer must parse, echo the ID, carry an OPT exactly when the query parsed with
// one, fit the client's size, be BADVERS for a version other than 0 and
// FORMERR for a query that does not parse (options running past the RDATA).
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/event_base.h"
#include "engine/dns/message.h"
#include "engine/dns/server.h"
#include "engine/dns/zone_db.h"
#include "engine/util/sockaddr.h"
#include "engine/util/socket.h"

namespace {

namespace dns = ev::dns;
using Bytes = std::vector<std::uint8_t>;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr const char* kNames[] = {"www.example.com", "nothing.example.com", "sub.example.com", "big.example.com",
                                  "alias.example.com", "example.com", "elsewhere.test", ""};
constexpr std::uint16_t kTypes[] = {dns::kTypeA, dns::kTypeAAAA, dns::kTypeTXT, dns::kTypeMX,
                                    dns::kTypeANY, dns::kTypeCNAME, dns::kTypeSOA, dns::kTypeOPT};

// Two servers on 127.0.0.1 answering from one zone, and a client socket.
struct Servers {
  Servers() {
    base = ev::EventBase::create();
    check(base != nullptr);
    std::string why;
    auto add = [&](const char* name, std::uint16_t type, const std::string& data) {
      auto rr = dns::make_record(name, type, 60, data, "", &why);
      check(rr.has_value());
      db.add(*rr);
    };
    add("example.com", dns::kTypeSOA, "ns.example.com. admin.example.com. 1 7200 900 1209600 300");
    add("example.com", dns::kTypeMX, "10 www.example.com.");
    add("www.example.com", dns::kTypeA, "192.0.2.80");
    add("www.example.com", dns::kTypeAAAA, "2001:db8::80");
    add("alias.example.com", dns::kTypeCNAME, "www.example.com.");
    add("a.sub.example.com", dns::kTypeA, "192.0.2.9");
    for (int i = 0; i < 40; ++i)  // about 2,500 bytes: over 512 and 1232, truncated
      add("big.example.com", dns::kTypeTXT, "\"" + std::to_string(i) + std::string(50, 'x') + "\"");
    auto loopback = ev::parse_sockaddr_port("127.0.0.1:0", 0);
    check(loopback.has_value());
    auto handle = [this](std::unique_ptr<dns::ServerRequest> req) {  // as dns serve does
      if (db.answer(req->query().questions.front(), req->reply()) == dns::ZoneDb::Outcome::NotOurs)
        req->set_rcode(dns::kRefused);
      req->set_cacheable(true);
      req->respond();
    };
    cached = dns::Server::bind(*base, *loopback, handle, &why);
    plain = dns::Server::bind(*base, *loopback, handle, &why);
    check(cached && plain);
    cached->enable_answer_cache(1024);
    client = ev::UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    check(client && ::bind(client.get(), loopback->sa(), loopback->length) == 0);
  }

  // The answer of `server` to `query`, or nullopt if it sends none.
  std::optional<Bytes> ask(dns::Server& server, const Bytes& query) {
    std::uint8_t buf[65536];
    while (::recv(client.get(), buf, sizeof buf, 0) >= 0) {
    }  // nothing left over from an earlier query
    ev::SocketAddress to = server.address();
    check(::sendto(client.get(), query.data(), query.size(), 0, to.sa(), to.length) == static_cast<ssize_t>(query.size()));
    for (int round = 0; round < 4; ++round) {
      base->loop(ev::EventBase::kLoopOnce | ev::EventBase::kLoopNonblock);
      ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
      if (n >= 0) return Bytes(buf, buf + n);
    }
    return std::nullopt;
  }

  std::unique_ptr<ev::EventBase> base;
  dns::ZoneDb db;
  std::unique_ptr<dns::Server> cached, plain;
  ev::UniqueFd client;
};

void put16(Bytes& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// The fields the input controls.
struct QueryShape {
  std::string name;
  std::uint16_t type = dns::kTypeA;
  std::uint16_t udp_size = 512;
  std::uint8_t extended_rcode = 0, version = 0;
  std::uint16_t flags = 0;  // DO and the rest
  bool with_opt = true, wrong_length = false, trailing_byte = false, rd = false;
  std::uint16_t length_xor = 0;
  Bytes rdata;
};

Bytes build_query(const QueryShape& s) {
  Bytes q = {0x12, 0x34, static_cast<std::uint8_t>(s.rd ? 1 : 0), 0, 0, 1, 0, 0, 0, 0, 0,
             static_cast<std::uint8_t>(s.with_opt ? 1 : 0)};
  check(dns::append_wire_name(s.name, q));
  put16(q, s.type);
  put16(q, dns::kClassIN);
  if (s.with_opt) {
    q.push_back(0);  // the root
    put16(q, dns::kTypeOPT);
    put16(q, s.udp_size);
    q.push_back(s.extended_rcode);
    q.push_back(s.version);
    put16(q, s.flags);
    put16(q, static_cast<unsigned>(s.rdata.size()) ^ (s.wrong_length ? s.length_xor : 0));
    q.insert(q.end(), s.rdata.begin(), s.rdata.end());
  }
  if (s.trailing_byte) q.push_back(0);
  return q;
}

QueryShape shape_of(const std::uint8_t* data, std::size_t size) {
  QueryShape s;
  if (size < 12) return s;
  std::string name = kNames[data[0] % std::size(kNames)];
  for (std::size_t i = 0; i < name.size() && i < 8; ++i)
    if ((data[1] >> i) & 1) name[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
  s.name = name;
  s.type = kTypes[data[2] % std::size(kTypes)];
  s.udp_size = static_cast<std::uint16_t>((data[3] << 8) | data[4]);
  s.extended_rcode = data[5];
  s.version = data[6] < 0xe0 ? 0 : data[6] & 0x1f;  // mostly 0, the version servers speak
  s.flags = static_cast<std::uint16_t>((data[7] << 8) | data[8]);
  s.with_opt = !(data[9] & 0x01);
  s.wrong_length = data[9] & 0x02;
  s.trailing_byte = data[9] & 0x04;
  s.rd = data[9] & 0x08;
  s.length_xor = static_cast<std::uint16_t>((data[10] << 8) | data[11]);
  s.rdata.assign(data + 12, data + size);
  return s;
}

// RDATA with the letters of the types that hold names lower-cased (their
// other fields may fold too: good enough to compare answers).
Bytes folded(const dns::ResourceRecord& rr) {
  Bytes out = rr.rdata;
  if (rr.target() || rr.soa())
    for (std::uint8_t& c : out) c = static_cast<std::uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

bool same_records(const std::vector<dns::ResourceRecord>& a, const std::vector<dns::ResourceRecord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const dns::ResourceRecord& x, const dns::ResourceRecord& y) {
    return dns::names_equal(x.name, y.name) && x.type == y.type && x.rclass == y.rclass && x.ttl == y.ttl &&
           folded(x) == folded(y);
  });
}

// The same answer, but for the case of names.
bool same_answer(const std::optional<Bytes>& a, const std::optional<Bytes>& b) {
  if (!a || !b) return !a && !b;
  if (*a == *b) return true;
  dns::Message x, y;
  if (dns::parse_message(*a, x).status != dns::ParseStatus::Ok || dns::parse_message(*b, y).status != dns::ParseStatus::Ok)
    return false;
  const dns::Header &h = x.header, &k = y.header;
  return h.id == k.id && h.qr == k.qr && h.aa == k.aa && h.tc == k.tc && h.rd == k.rd && h.ra == k.ra &&
         h.opcode == k.opcode && h.rcode == k.rcode && x.questions.size() == y.questions.size() &&
         std::equal(x.questions.begin(), x.questions.end(), y.questions.begin(),
                    [](const dns::Question& p, const dns::Question& q) {
                      return p.name == q.name && p.type == q.type && p.qclass == q.qclass;
                    }) &&
         x.edns.has_value() == y.edns.has_value() &&
         (!x.edns || (x.edns->udp_size == y.edns->udp_size && x.edns->extended_rcode == y.edns->extended_rcode)) &&
         same_records(x.answers, y.answers) && same_records(x.authority, y.authority) &&
         same_records(x.additional, y.additional);
}

int rcode_of(const dns::Message& m) { return m.header.rcode | (m.edns ? m.edns->extended_rcode << 4 : 0); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 12 || size > 12 + 4096) return 0;
  static Servers servers;
  QueryShape shape = shape_of(data, size);
  Bytes query = build_query(shape);

  // The plain form of the question first: its answer is what the cache
  // may reuse for the query.
  QueryShape warm = shape;
  warm.extended_rcode = warm.version = 0;
  warm.flags = 0;
  warm.wrong_length = warm.trailing_byte = false;
  warm.rdata.clear();
  check(servers.ask(*servers.cached, build_query(warm)).has_value());

  std::optional<Bytes> from_cache = servers.ask(*servers.cached, query);
  std::optional<Bytes> fresh = servers.ask(*servers.plain, query);
  check(same_answer(from_cache, fresh));
  check(fresh.has_value());  // a readable header and QR clear: always answered

  dns::Message q, reply;
  dns::ParseStatus parsed = dns::parse_message(query, q).status;
  check(dns::parse_message(*fresh, reply).status == dns::ParseStatus::Ok);
  check(reply.header.id == 0x1234 && reply.header.qr && reply.header.rd == shape.rd);
  if (parsed != dns::ParseStatus::Ok) {
    check(rcode_of(reply) == dns::kFormErr && reply.answers.empty());
    return 0;
  }
  check(reply.edns.has_value() == q.edns.has_value());
  std::size_t limit = q.edns ? std::clamp<std::size_t>(q.edns->udp_size, 512, 4096) : 512;
  check(fresh->size() <= limit);
  if (q.edns && q.edns->version != 0) check(rcode_of(reply) == 16 && reply.answers.empty());  // BADVERS
  else check(rcode_of(reply) != dns::kFormErr);
  return 0;
}
