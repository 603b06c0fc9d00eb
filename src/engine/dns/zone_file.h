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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns/message.h"

namespace ev::dns {

// load_zone reads at most this much: a large zone (10 million names) fits,
// and a mistaken path cannot take all memory. Only regular files are read.
constexpr std::size_t kMaxZoneFile = std::size_t{1} << 30;  // 1 GiB

struct ZoneParseResult {
  std::vector<ResourceRecord> records;
  std::vector<std::string> errors;  // "zone.db:12: bad MX data"
};
ZoneParseResult parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                           std::string_view file_name = "zone");
// Reads and parses `path`; nullopt with `why` ("PATH: reason") when it
// cannot be read, is not a regular file or is over kMaxZoneFile.
std::optional<ZoneParseResult> load_zone(const std::string& path, std::string_view origin,
                                         std::uint32_t default_ttl, std::string* why);

// The same, handing each record to `sink` as soon as it is parsed (the
// sink may move from it) instead of keeping them all: a large zone is
// never held twice. Return the errors.
using RecordSink = std::function<void(ResourceRecord& rr)>;
std::vector<std::string> parse_zone(std::string_view text, std::string_view origin, std::uint32_t default_ttl,
                                    std::string_view file_name, const RecordSink& sink);
std::optional<std::vector<std::string>> load_zone(const std::string& path, std::string_view origin,
                                                  std::uint32_t default_ttl, const RecordSink& sink, std::string* why);

// One record in zone-file syntax on one line: "NAME [TTL] [IN] TYPE DATA"
// (the CLI's --record). Relative names are taken as absolute.
std::optional<ResourceRecord> parse_record_line(std::string_view line, std::uint32_t default_ttl, std::string* why);

}  // namespace ev::dns
