#include "engine/http/uri.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace ev::http {
namespace {

// Longer text is refused before anything is copied: no legitimate URL or
// Location header comes near it.
constexpr std::size_t kMaxText = 64 * 1024;

void set_why(std::string* why, const char* text) {
  if (why) *why = text;
}

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(unsigned char c) { return c != '\0' && std::strchr("!$&'()*+,;=", c) != nullptr; }

// Every '%' starts a two-hex-digit escape; `allowed` decides the other bytes.
template <typename Pred>
bool all_chars(std::string_view s, Pred allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (s.size() - i < 3) return false;
      if (hex_value(static_cast<unsigned char>(s[i + 1])) < 0 || hex_value(static_cast<unsigned char>(s[i + 2])) < 0)
        return false;
      i += 2;
    } else if (!allowed(c)) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(static_cast<unsigned char>(s[0]))) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// *DIGIT in 0..65535; leading zeros are allowed ("080"), signs are not.
// Stops at the first digit past the range, so a huge number cannot overflow.
bool parse_port_digits(std::string_view s, int& port) {
  long value = 0;
  for (char c : s) {
    if (!is_digit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
    if (value > 65535) return false;
  }
  port = static_cast<int>(value);
  return true;
}

// An IPv6 literal, as inet_pton understands it. Zone ids ("%25eth0",
// RFC 6874) are refused: a zone names an interface of one machine, which
// means nothing to a server or in a redirect. IPvFuture ("v1.x") too.
bool valid_ipv6(std::string_view s) {
  char buf[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  in6_addr addr;
  return inet_pton(AF_INET6, buf, &addr) == 1;
}

bool valid_reg_name(std::string_view s) {
  return all_chars(s, [](unsigned char c) { return is_unreserved(c) || is_sub_delim(c); });
}

bool valid_userinfo(std::string_view s) {
  return all_chars(s, [](unsigned char c) { return is_unreserved(c) || is_sub_delim(c) || c == ':'; });
}

// "host", "host:port", "[v6]" or "[v6]:port" into uri.host / uri.port.
bool parse_host_port(std::string_view hp, Uri& uri, std::string* why) {
  std::string_view host = hp, port;
  bool has_port = false;
  if (!hp.empty() && hp.front() == '[') {
    std::size_t close = hp.find(']');
    if (close == std::string_view::npos) return set_why(why, "unclosed IPv6 literal"), false;
    host = hp.substr(1, close - 1);
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return set_why(why, "garbage after IPv6 literal"), false;
    if (!valid_ipv6(host)) return set_why(why, "invalid IPv6 literal"), false;
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    std::size_t colon = hp.find(':');
    if (colon != std::string_view::npos) {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
      has_port = true;
    }
    if (!valid_reg_name(host)) return set_why(why, "bad host characters"), false;
  }
  // "host:" is allowed by RFC 3986 and means no port.
  if (has_port && !port.empty() && !parse_port_digits(port, uri.port))
    return set_why(why, "port is not a number in 0..65535"), false;
  uri.host = lower(host);
  return true;
}

// The authority after "//": [userinfo "@"] host [":" port]. The last '@'
// ends the userinfo, so the host is what a connection would go to.
bool parse_authority(std::string_view auth, Uri& uri, std::string* why) {
  std::size_t at = auth.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = auth.substr(0, at);
    if (!valid_userinfo(userinfo)) return set_why(why, "bad userinfo characters"), false;
    uri.userinfo = userinfo;
    auth.remove_prefix(at + 1);
  }
  return parse_host_port(auth, uri, why);
}

// Refusals that apply to the whole text, before it is split.
bool check_text(std::string_view text, std::string* why) {
  if (text.size() > kMaxText) return set_why(why, "URI longer than 64 KiB"), false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c == 0x7f) return set_why(why, "control character or space in URI"), false;
  }
  // Path, query and fragment accept any other visible byte (real Location
  // headers carry '|', '{' or raw UTF-8; they are kept as written), but
  // never a broken escape.
  if (!all_chars(text, [](unsigned char) { return true; })) return set_why(why, "malformed percent escape"), false;
  return true;
}

// merge() of RFC 3986 5.2.3.
std::string merge_paths(const Uri& base, std::string_view ref_path) {
  std::string out;
  if (base.has_authority && base.path.empty()) return out.append("/").append(ref_path);
  std::size_t slash = base.path.rfind('/');
  if (slash == std::string::npos) return std::string(ref_path);
  return base.path.substr(0, slash + 1) + std::string(ref_path);
}

void copy_authority(const Uri& from, Uri& to) {
  to.has_authority = from.has_authority;
  to.userinfo = from.userinfo;
  to.host = from.host;
  to.port = from.port;
}

// Drops the last segment (and its '/') written to `out`: the ".." step.
void pop_segment(std::string& out) {
  std::size_t slash = out.rfind('/');
  out.erase(slash == std::string::npos ? 0 : slash);
}

// Moves "#fragment" and "?query" from the end of `text` into `uri`;
// returns what is left before them.
std::string_view split_query_and_fragment(std::string_view text, Uri& uri) {
  if (std::size_t hash = text.find('#'); hash != std::string_view::npos) {
    uri.fragment = text.substr(hash + 1);
    uri.has_fragment = true;
    text = text.substr(0, hash);
  }
  if (std::size_t q = text.find('?'); q != std::string_view::npos) {
    uri.query = text.substr(q + 1);
    uri.has_query = true;
    text = text.substr(0, q);
  }
  return text;
}

}  // namespace

std::optional<Uri> Uri::parse_origin_form(std::string_view text, std::string* why) {
  if (!text.starts_with('/')) return set_why(why, "not an absolute path"), std::nullopt;
  if (!check_text(text, why)) return std::nullopt;
  Uri uri;
  uri.path = split_query_and_fragment(text, uri);
  return uri;
}

std::optional<Uri> Uri::parse(std::string_view text, std::string* why) {
  if (!check_text(text, why)) return std::nullopt;
  Uri uri;
  std::size_t end_scheme = text.find_first_of(":/?#");
  if (end_scheme != std::string_view::npos && text[end_scheme] == ':') {
    // A ':' before any '/', '?', '#' ends a scheme: a relative reference
    // cannot have one in its first segment (RFC 3986 4.2).
    std::string_view scheme = text.substr(0, end_scheme);
    if (!valid_scheme(scheme)) return set_why(why, "bad scheme"), std::nullopt;
    uri.scheme = lower(scheme);
    text.remove_prefix(end_scheme + 1);
  }
  text = split_query_and_fragment(text, uri);
  if (text.starts_with("//")) {
    text.remove_prefix(2);
    std::size_t slash = text.find('/');
    uri.has_authority = true;
    if (!parse_authority(text.substr(0, slash), uri, why)) return std::nullopt;
    text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
  }
  uri.path = text;
  return uri;
}

int Uri::effective_port() const {
  if (port >= 0) return port;
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  return -1;  // no port written and no default known
}

std::string Uri::host_header() const {
  std::string out;
  // (appended piece by piece: GCC 12 misreads "[" + std::string&& as overlapping)
  if (host.find(':') != std::string::npos) out.append("[").append(host).append("]");
  else out = host;
  if (port >= 0) out.append(":").append(std::to_string(port));
  return out;
}

std::string Uri::request_target() const {
  std::string out = path.empty() ? "/" : path;
  if (has_query) out += "?" + query;
  return out;
}

std::string Uri::to_string() const {
  std::string out;
  if (!scheme.empty()) out += scheme + ":";
  if (has_authority) {
    out += "//";
    if (!userinfo.empty()) out += userinfo + "@";
    out += host_header();
  } else if (path.starts_with("//")) {
    out += "/.";  // a resolved "//x" path must not read back as an authority
  }
  out += path;
  if (has_query) out += "?" + query;
  if (has_fragment) out += "#" + fragment;
  return out;
}

// RFC 3986 5.2.2, the strict variant ("http:g" keeps its own scheme).
std::optional<Uri> Uri::resolve(std::string_view reference) const {
  auto ref = Uri::parse(reference);
  if (!ref) return std::nullopt;
  Uri t = *ref;
  if (!ref->scheme.empty() || ref->has_authority) {
    t.path = remove_dot_segments(ref->path);
    if (ref->scheme.empty()) t.scheme = scheme;
    return t;
  }
  copy_authority(*this, t);
  t.scheme = scheme;
  if (ref->path.empty()) {
    t.path = path;
    if (!ref->has_query) {
      t.query = query;
      t.has_query = has_query;
    }
  } else {
    t.path = remove_dot_segments(ref->path.starts_with('/') ? ref->path : merge_paths(*this, ref->path));
  }
  return t;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3) return std::nullopt;
      int hi = hex_value(static_cast<unsigned char>(text[i + 1]));
      int lo = hex_value(static_cast<unsigned char>(text[i + 2]));
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);  // may be NUL: callers that care check
      i += 2;
    } else {
      out += plus_as_space && c == '+' ? ' ' : c;
    }
  }
  return out;
}

std::string percent_encode(std::string_view text, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || keep.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;  // "a=1&&b": nothing between the '&'s
    std::size_t eq = item.find('=');
    auto name = percent_decode(item.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);  // "/./x" keeps its second '/'
    } else if (in == "/.") {
      out += '/';
      in = {};
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop_segment(out);
    } else if (in == "/..") {
      pop_segment(out);
      out += '/';
      in = {};
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      std::size_t next = in.find('/', 1);
      out += in.substr(0, next);
      in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
    }
  }
  return out;
}

}  // namespace ev::http
