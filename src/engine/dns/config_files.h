// The text files a resolver and a DNS server read: resolv.conf, hosts and
// zone files (RFC 1035 master-file subset). Parsers never fail on a bad
// line; they skip it and say why (line numbers included), so a typo in one
// line does not take down a server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns/message.h"
#include "engine/util/sockaddr.h"

namespace ev::dns {

// resolv.conf(5): nameserver (with an optional port: "1.2.3.4:5353",
// "[::1]:53"), domain, search, and options ndots / timeout / attempts /
// max-inflight / max-timeouts / randomize-case / bind-to /
// initial-probe-timeout (libevent's evdns names, plus glibc's spelling
// where it differs: "rotate", "edns0", "trust-ad" and glibc's other
// options are accepted and ignored). Timeouts are seconds, fractions
// allowed, in (0, 3600]; ndots above 15 is taken as 15 (glibc); attempts
// 1..255, max-inflight 1..65535, max-timeouts 1..255, randomize-case 0/1
// (or bare). A bad value is a warning and keeps the default. "domain" and
// "search" replace each other, the last one wins.
struct ResolvConf {
  std::vector<SocketAddress> nameservers;
  std::vector<std::string> search;  // "domain" sets a one-entry list
  int ndots = 1;
  std::chrono::microseconds timeout{5000000};
  int attempts = 2;
  int max_inflight = 64;
  int max_timeouts = 3;  // failures before a nameserver is marked down
  bool randomize_case = false;
  std::optional<SocketAddress> bind_to;
  std::chrono::microseconds initial_probe_timeout{10000000};
  std::vector<std::string> warnings;  // "line 3: unknown option 'foo'"
};
ResolvConf parse_resolv_conf(std::string_view text);
// Reads and parses `path`; nullopt with `why` when it cannot be read.
std::optional<ResolvConf> load_resolv_conf(const std::string& path, std::string* why);

// hosts(5): "ADDRESS NAME [ALIAS...]" with # comments.
class HostsFile {
 public:
  struct Entry {
    SocketAddress address;
    std::string name;  // as written (canonical name first on its line)
    bool canonical;
  };
  static HostsFile parse(std::string_view text, std::vector<std::string>* warnings = nullptr);
  static std::optional<HostsFile> load(const std::string& path, std::string* why);

  // Addresses of `name` (case-insensitive), of `family` (AF_INET, AF_INET6,
  // or AF_UNSPEC for both) in file order.
  std::vector<SocketAddress> lookup(std::string_view name, int family) const;
  // The canonical name of an address, for PTR.
  std::optional<std::string> reverse(const SocketAddress& addr) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Zone (master) files: $ORIGIN, $TTL, ';' comments, relative names, '@',
// parentheses spanning lines, quoted strings, and a line starting with
// white space reusing the previous owner. Types: A, AAAA, CNAME, MX, TXT,
// NS, SOA, SRV, PTR, CAA, and any type as RFC 3597 "\# LENGTH HEX"; class
// IN (optional; CH and HS are kept as given). TTLs may use BIND units
// ("1h30m"). Records get `default_ttl` unless $TTL or their own TTL says
// otherwise. $INCLUDE and $GENERATE are not supported (reported as errors).
struct ZoneParseResult {
  std::vector<ResourceRecord> records;
  std::vector<std::string> errors;  // "zone.db:12: bad MX data"
};
ZoneParseResult parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                           std::string_view file_name = "zone");
std::optional<ZoneParseResult> load_zone(const std::string& path, std::string_view origin,
                                         std::uint32_t default_ttl, std::string* why);

// One record in zone-file syntax on one line: "NAME [TTL] [IN] TYPE DATA"
// (the CLI's --record). Relative names are taken as absolute.
std::optional<ResourceRecord> parse_record_line(std::string_view line, std::uint32_t default_ttl, std::string* why);

}  // namespace ev::dns
