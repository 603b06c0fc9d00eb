// libFuzzer target: hosts(5) text, as `dns resolve` and `dns serve` read
// it. Whatever the text, parsing must not crash; every entry must have a
// valid name and an IPv4 or IPv6 address, be found again by name and by
// address, and be answered by a ZoneDb built from the file: A or AAAA
// with its address, and a PTR for the address of a canonical name.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns/hosts_file.h"
#include "engine/dns/message.h"
#include "engine/dns/zone_db.h"

namespace {

namespace dns = ev::dns;

void check(bool ok) {
  if (!ok) std::abort();
}

// The address's bytes, as A or AAAA RDATA.
std::vector<std::uint8_t> address_bytes(const ev::SocketAddress& a) {
  const auto* p = a.family() == AF_INET
                      ? reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr)
                      : reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr);
  return {p, p + (a.family() == AF_INET ? 4 : 16)};
}

bool has_answer(const dns::ZoneDb& db, std::string_view name, std::uint16_t type,
                const std::vector<std::uint8_t>* rdata) {
  dns::Message reply;
  if (db.answer({std::string(name), type, dns::kClassIN}, reply) != dns::ZoneDb::Outcome::Answered) return false;
  check(reply.header.aa && reply.header.rcode == dns::kNoError);
  return std::any_of(reply.answers.begin(), reply.answers.end(), [&](const dns::ResourceRecord& rr) {
    return rr.type == type && dns::names_equal(rr.name, name) && (!rdata || rr.rdata == *rdata);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  dns::HostsFile hosts = dns::HostsFile::parse(text, &warnings);
  for (const std::string& w : warnings) check(w.rfind("line ", 0) == 0);

  dns::ZoneDb db;
  db.add_hosts(hosts, 60);
  std::size_t checked = 0;
  for (const dns::HostsFile::Entry& e : hosts.entries()) {
    if (++checked > 16) break;
    check(dns::valid_name(e.name) && e.name != "." && !e.name.empty());
    check(e.address.family() == AF_INET || e.address.family() == AF_INET6);
    auto found = hosts.lookup(e.name, AF_UNSPEC);
    check(std::any_of(found.begin(), found.end(),
                      [&](const ev::SocketAddress& a) { return address_bytes(a) == address_bytes(e.address); }));
    check(!hosts.lookup(e.name, e.address.family()).empty());
    check(hosts.reverse(e.address).has_value() || !e.canonical);

    // Questions arrive in canonical form ("a\065" is asked as "aA").
    auto name = dns::qualify_name(e.name, "");
    check(name.has_value());
    std::vector<std::uint8_t> rdata = address_bytes(e.address);
    check(has_answer(db, *name, e.address.family() == AF_INET ? dns::kTypeA : dns::kTypeAAAA, &rdata));
    auto reverse = dns::reverse_name(e.address.host());
    check(reverse.has_value());
    if (e.canonical) check(has_answer(db, *reverse, dns::kTypePTR, nullptr));
  }
  return 0;
}
