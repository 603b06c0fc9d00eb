// URIs (RFC 3986): parsing "scheme://user:pass@host:port/path?query#frag"
// with IPv6 literals and range-checked ports, resolving relative
// references (for redirects), query strings and percent coding. What
// libevent's evhttp_uri_* functions do, with every length and number
// checked.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ev::http {

struct Uri {
  std::string scheme;    // lower-cased; empty for a relative reference
  std::string userinfo;  // as written (still percent-encoded)
  std::string host;      // lower-cased; IPv6 without its brackets
  int port = -1;         // -1: none written
  std::string path;      // as written (percent-encoded); may be empty
  std::string query;     // without the '?'
  std::string fragment;  // without the '#'
  bool has_authority = false;  // "//" was present
  bool has_query = false;
  bool has_fragment = false;

  // Parses an absolute URI or a relative reference. nullopt with a reason
  // in `why` for: bad scheme characters, a port outside 0..65535 or with
  // non-digits, an unclosed or invalid IPv6 literal, control characters,
  // spaces, malformed percent escapes, or text over 64 KiB.
  static std::optional<Uri> parse(std::string_view text, std::string* why = nullptr);
  // A request target in origin form (RFC 9112 3.2.1): an absolute path and
  // an optional query, never an authority, so "//f.txt" is the path
  // "//f.txt". Checked as parse() checks.
  static std::optional<Uri> parse_origin_form(std::string_view text, std::string* why = nullptr);

  // The port to connect to: port, else 80 for http, 443 for https.
  int effective_port() const;
  // "host", "host:8080" or "[::1]:8080": the Host header.
  std::string host_header() const;
  // path (or "/") plus "?query": the request target sent to a server.
  std::string request_target() const;
  // The URI written back (round-trips what parse accepted).
  std::string to_string() const;
  // RFC 3986 section 5.2: the target of `reference` (e.g. a Location
  // header) relative to this URI. nullopt if reference does not parse.
  std::optional<Uri> resolve(std::string_view reference) const;
};

// "%41b+c" -> "Ab+c" (or "Ab c" with plus_as_space). nullopt for a '%'
// not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space = false);
// Encodes every byte except the unreserved ones (A-Z a-z 0-9 - . _ ~) and
// those in `keep` (e.g. "/" for paths).
std::string percent_encode(std::string_view text, std::string_view keep = {});
// "a=1&b=x%20y&c" -> {{"a","1"},{"b","x y"},{"c",""}} in order ('+' is a
// space). nullopt for a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);
// RFC 3986 5.2.4: "/a/./b/../c" -> "/a/c"; never climbs above "/".
std::string remove_dot_segments(std::string_view path);

}  // namespace ev::http
