// Zone (master) files, RFC 1035 section 5: $ORIGIN, $TTL, ';' comments,
// relative names, '@', parentheses spanning lines, quoted strings, and a
// line starting with white space reusing the previous owner. Types: A,
// AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA, and any type as RFC 3597
// "\# LENGTH HEX"; class IN (optional; CH and HS are kept as given). TTLs
// may use BIND units ("1h30m"). Records get `default_ttl` unless $TTL or
// their own TTL says otherwise. $INCLUDE and $GENERATE are not supported
// (reported as errors).
//
// The parser never fails as a whole: a bad record is skipped and reported
// with its line number, so a typo in one line does not take down a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns/message.h"

namespace ev::dns {

struct ZoneParseResult {
  std::vector<ResourceRecord> records;
  std::vector<std::string> errors;  // "zone.db:12: bad MX data"
};
ZoneParseResult parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                           std::string_view file_name = "zone");
// Reads and parses `path`; nullopt with `why` when it cannot be read.
std::optional<ZoneParseResult> load_zone(const std::string& path, std::string_view origin,
                                         std::uint32_t default_ttl, std::string* why);

// One record in zone-file syntax on one line: "NAME [TTL] [IN] TYPE DATA"
// (the CLI's --record). Relative names are taken as absolute.
std::optional<ResourceRecord> parse_record_line(std::string_view line, std::uint32_t default_ttl, std::string* why);

}  // namespace ev::dns
