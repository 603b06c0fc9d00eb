// The presentation side of DNS records: mnemonics, dig's text form of
// RDATA, records built from zone-file text, reverse names. The wire codec
// is in message.cpp.
#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "engine/dns/message.h"
#include "engine/util/ascii.h"
#include "engine/util/sockaddr.h"

namespace ev::dns {
namespace {

struct Mnemonic {
  std::uint16_t value;
  const char* name;
};

// Types we print by name; only some of them have a presentation format of
// their own (the others print as RFC 3597 generic data).
constexpr Mnemonic kTypes[] = {
    {kTypeA, "A"},       {kTypeNS, "NS"},     {kTypeCNAME, "CNAME"}, {kTypeSOA, "SOA"},   {kTypePTR, "PTR"},
    {13, "HINFO"},       {kTypeMX, "MX"},     {kTypeTXT, "TXT"},     {kTypeAAAA, "AAAA"}, {29, "LOC"},
    {kTypeSRV, "SRV"},   {35, "NAPTR"},       {39, "DNAME"},         {kTypeOPT, "OPT"},   {43, "DS"},
    {44, "SSHFP"},       {46, "RRSIG"},       {47, "NSEC"},          {48, "DNSKEY"},      {50, "NSEC3"},
    {52, "TLSA"},        {64, "SVCB"},        {65, "HTTPS"},         {99, "SPF"},         {251, "IXFR"},
    {252, "AXFR"},       {kTypeANY, "ANY"},   {kTypeCAA, "CAA"},
};
constexpr Mnemonic kClasses[] = {{kClassIN, "IN"}, {kClassCH, "CH"}, {4, "HS"}, {254, "NONE"}, {kClassANY, "ANY"}};
constexpr const char* kRcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                   "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};

template <typename T>
std::optional<T> parse_decimal(std::string_view text) {
  T v{};
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// "NAME123" with the given prefix (RFC 3597's TYPEnnn / CLASSnnn).
std::optional<std::uint16_t> numbered(std::string_view text, std::string_view prefix) {
  if (text.size() <= prefix.size() || !ascii_iequals(text.substr(0, prefix.size()), prefix)) return std::nullopt;
  return parse_decimal<std::uint16_t>(text.substr(prefix.size()));
}

std::optional<std::uint16_t> lookup(std::span<const Mnemonic> table, std::string_view text, std::string_view prefix) {
  for (const Mnemonic& m : table)
    if (ascii_iequals(text, m.name)) return m.value;
  return numbered(text, prefix);
}

}  // namespace

std::string type_name(std::uint16_t type) {
  for (const Mnemonic& m : kTypes)
    if (m.value == type) return m.name;
  return "TYPE" + std::to_string(type);
}

std::optional<std::uint16_t> type_from_name(std::string_view name) { return lookup(kTypes, name, "TYPE"); }

std::string class_name(std::uint16_t cls) {
  for (const Mnemonic& m : kClasses)
    if (m.value == cls) return m.name;
  return "CLASS" + std::to_string(cls);
}

std::optional<std::uint16_t> class_from_name(std::string_view name) { return lookup(kClasses, name, "CLASS"); }

std::string rcode_name(int rcode) {
  if (rcode >= 0 && rcode < static_cast<int>(std::size(kRcodes))) return kRcodes[rcode];
  if (rcode == 16) return "BADVERS";
  return "RCODE" + std::to_string(rcode);
}

std::optional<std::uint32_t> parse_ttl(std::string_view text) {
  if (auto plain = parse_decimal<std::uint64_t>(text)) {
    if (*plain > 0x7fffffff) return std::nullopt;
    return static_cast<std::uint32_t>(*plain);
  }
  std::uint64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {  // NUMBER UNIT, repeated: "1h30m"
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 10) ++i;
    auto n = parse_decimal<std::uint64_t>(text.substr(start, i - start));
    if (!n || i >= text.size()) return std::nullopt;
    std::uint64_t unit = 0;
    switch (text[i++] | 0x20) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 604800; break;
      default: return std::nullopt;
    }
    total += *n * unit;
    if (total > 0x7fffffff) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  return static_cast<std::uint32_t>(total);
}

// ---------------------------------------------------------------- RDATA reading

namespace {

// Reads the fields of uncompressed RDATA in order; every read is checked.
class RdataReader {
 public:
  explicit RdataReader(std::span<const std::uint8_t> data) : data_(data) {}
  bool at_end() const { return pos_ == data_.size(); }
  std::size_t left() const { return data_.size() - pos_; }
  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<std::uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi = 0, lo = 0;
    if (!u16(hi) || !u16(lo)) return false;
    v = std::uint32_t{hi} << 16 | lo;
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>& v) {
    if (left() < n) return false;
    v = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool string(std::span<const std::uint8_t>& v) {  // <character-string>
    std::uint8_t n = 0;
    return u8(n) && bytes(n, v);
  }
  bool name(std::string& v) {
    auto text = read_wire_name(data_, pos_);
    if (!text) return false;
    v = std::move(*text);
    return true;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

std::string fqdn(std::string_view name) { return std::string(name) + "."; }

// A <character-string> as dig prints it: quoted, \" and \\ escaped,
// bytes outside printable ASCII as \DDD.
void append_quoted(std::string& out, std::span<const std::uint8_t> s) {
  out += '"';
  for (std::uint8_t c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char esc[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                     static_cast<char>('0' + c % 10), 0};
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

std::string generic_text(std::span<const std::uint8_t> data) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "\\# " + std::to_string(data.size());
  if (!data.empty()) out += ' ';
  for (std::uint8_t c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool address_text(RdataReader& r, int family, std::string& out) {
  std::span<const std::uint8_t> raw;
  char buf[INET6_ADDRSTRLEN];
  if (!r.bytes(family == AF_INET ? 4 : 16, raw) || !inet_ntop(family, raw.data(), buf, sizeof buf)) return false;
  out = buf;
  return true;
}

bool soa_fields(RdataReader& r, SoaData& s) {
  return r.name(s.mname) && r.name(s.rname) && r.u32(s.serial) && r.u32(s.refresh) && r.u32(s.retry) &&
         r.u32(s.expire) && r.u32(s.minimum);
}

bool txt_text(RdataReader& r, std::string& out) {
  std::span<const std::uint8_t> s;
  do {
    if (!r.string(s)) return false;
    if (!out.empty()) out += ' ';
    append_quoted(out, s);
  } while (!r.at_end());
  return true;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 8659: a tag is 1..15 letters and digits. Others are well-formed on
// the wire but have no text form (they print as generic data).
bool caa_tag_presentable(std::span<const std::uint8_t> rdata) {
  if (rdata.size() < 2 || rdata[1] == 0 || rdata[1] > 15 || rdata.size() < 2u + rdata[1]) return false;
  for (std::size_t i = 0; i < rdata[1]; ++i)
    if (!is_alnum(static_cast<char>(rdata[2 + i]))) return false;
  return true;
}

bool caa_text(RdataReader& r, std::string& out) {
  std::uint8_t flags = 0, tag_len = 0;
  std::span<const std::uint8_t> tag, value;
  if (!r.u8(flags) || !r.u8(tag_len) || tag_len == 0 || !r.bytes(tag_len, tag) || !r.bytes(r.left(), value))
    return false;
  out = std::to_string(flags) + ' ';
  out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  out += ' ';
  append_quoted(out, value);
  return true;
}

// dig's text for the types that have one; false for others and for
// RDATA that does not fit the type.
bool format_rdata(std::uint16_t type, RdataReader& r, std::string& out) {
  std::uint16_t a = 0, b = 0, c = 0;
  std::string name;
  switch (type) {
    case kTypeA: return address_text(r, AF_INET, out);
    case kTypeAAAA: return address_text(r, AF_INET6, out);
    case kTypeNS: case kTypeCNAME: case kTypePTR:
      return r.name(name) && (out = fqdn(name), true);
    case kTypeMX:
      return r.u16(a) && r.name(name) && (out = std::to_string(a) + ' ' + fqdn(name), true);
    case kTypeSRV:
      if (!r.u16(a) || !r.u16(b) || !r.u16(c) || !r.name(name)) return false;
      out = std::to_string(a) + ' ' + std::to_string(b) + ' ' + std::to_string(c) + ' ' + fqdn(name);
      return true;
    case kTypeSOA: {
      SoaData s;
      if (!soa_fields(r, s)) return false;
      out = fqdn(s.mname) + ' ' + fqdn(s.rname) + ' ' + std::to_string(s.serial) + ' ' + std::to_string(s.refresh) +
            ' ' + std::to_string(s.retry) + ' ' + std::to_string(s.expire) + ' ' + std::to_string(s.minimum);
      return true;
    }
    case kTypeTXT: return txt_text(r, out);
    case kTypeCAA: return caa_text(r, out);
    default: return false;
  }
}

bool has_format(std::uint16_t type) {
  switch (type) {
    case kTypeA: case kTypeAAAA: case kTypeNS: case kTypeCNAME: case kTypePTR: case kTypeMX:
    case kTypeSRV: case kTypeSOA: case kTypeTXT: case kTypeCAA:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool rdata_well_formed(std::uint16_t type, std::span<const std::uint8_t> rdata) {
  if (!has_format(type)) return true;
  RdataReader r(rdata);
  std::string ignored;
  return format_rdata(type, r, ignored) && r.at_end();
}

std::string ResourceRecord::data_text() const {
  RdataReader r(rdata);
  std::string out;
  if (type == kTypeCAA && !caa_tag_presentable(rdata)) return generic_text(rdata);
  if (format_rdata(type, r, out) && r.at_end()) return out;
  return generic_text(rdata);
}

std::optional<std::string> ResourceRecord::target() const {
  std::size_t skip = type == kTypeMX ? 2 : type == kTypeSRV ? 6 : 0;
  if (type != kTypeCNAME && type != kTypeNS && type != kTypePTR && skip == 0) return std::nullopt;
  RdataReader r(rdata);
  std::span<const std::uint8_t> ignored;
  std::string name;
  if (!r.bytes(skip, ignored) || !r.name(name) || !r.at_end()) return std::nullopt;
  return name;
}

std::optional<SoaData> ResourceRecord::soa() const {
  if (type != kTypeSOA) return std::nullopt;
  RdataReader r(rdata);
  SoaData s;
  if (!soa_fields(r, s) || !r.at_end()) return std::nullopt;
  return s;
}

}  // namespace ev::dns

// ---------------------------------------------------------------- records from text

namespace ev::dns {
namespace {

struct Token {
  std::string_view text;  // without the quotes; escapes still in place
  bool quoted;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits presentation data into tokens: runs of non-space (a backslash
// escapes the next character) and "quoted strings". False if a quote or an
// escape is left open.
bool tokenize(std::string_view data, std::vector<Token>& out) {
  std::size_t i = 0;
  while (true) {
    while (i < data.size() && is_space(data[i])) ++i;
    if (i == data.size()) return true;
    bool quoted = data[i] == '"';
    std::size_t start = quoted ? ++i : i;
    while (i < data.size() && (quoted ? data[i] != '"' : !is_space(data[i]))) i += data[i] == '\\' ? 2 : 1;
    if (i > data.size() || (quoted && i == data.size())) return false;
    out.push_back({data.substr(start, i - start), quoted});
    if (quoted) ++i;
  }
}

// Decodes the \X and \DDD escapes of a string token, appending at most
// `max` bytes to `out`.
bool append_unescaped(std::string_view text, std::size_t max, std::vector<std::uint8_t>& out) {
  for (std::size_t i = 0, n = 0; i < text.size(); ++n) {
    if (n == max) return false;
    if (text[i] != '\\') {
      out.push_back(static_cast<std::uint8_t>(text[i++]));
      continue;
    }
    if (++i == text.size()) return false;
    if (text[i] < '0' || text[i] > '9') {
      out.push_back(static_cast<std::uint8_t>(text[i++]));
      continue;
    }
    auto v = i + 3 <= text.size() ? parse_decimal<unsigned>(text.substr(i, 3)) : std::nullopt;
    if (!v || *v > 255) return false;
    out.push_back(static_cast<std::uint8_t>(*v));
    i += 3;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Consumes tokens field by field, appending wire bytes.
class Encoder {
 public:
  Encoder(const std::vector<Token>& tokens, std::string_view origin, std::vector<std::uint8_t>& out)
      : t_(tokens), origin_(origin), out_(out) {}
  bool done() const { return i_ == t_.size(); }
  bool u8() { return number<std::uint8_t>(); }
  bool u16() { return number<std::uint16_t>(); }
  bool u32() { return number<std::uint32_t>(); }
  bool timer() {  // SOA timers: any 32-bit number, or TTL units ("2h")
    if (!plain()) return false;
    std::string_view text = t_[i_++].text;
    auto v = parse_decimal<std::uint32_t>(text);
    if (!v) v = parse_ttl(text);
    return v && (put(*v, 4), true);
  }
  bool name() {
    auto full = plain() ? qualify_name(t_[i_++].text, origin_) : std::nullopt;
    return full && append_wire_name(*full, out_);
  }
  bool address(int family);
  bool string() {  // <character-string>: a length byte, then up to 255 bytes
    if (done()) return false;
    std::size_t at = out_.size();
    out_.push_back(0);
    if (!append_unescaped(t_[i_++].text, 255, out_)) return false;
    out_[at] = static_cast<std::uint8_t>(out_.size() - at - 1);
    return true;
  }
  bool caa_tag();
  bool rest_bytes() { return !done() && append_unescaped(t_[i_++].text, 0xffff, out_); }
  bool generic();

 private:
  bool plain() const { return !done() && !t_[i_].quoted; }
  template <typename T>
  bool number() {
    auto v = plain() ? parse_decimal<T>(t_[i_++].text) : std::nullopt;
    return v && (put(*v, sizeof(T)), true);
  }
  void put(std::uint32_t v, std::size_t n) {
    for (std::size_t k = n; k-- > 0;) out_.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  }

  const std::vector<Token>& t_;
  std::string_view origin_;
  std::vector<std::uint8_t>& out_;
  std::size_t i_ = 0;
};

bool Encoder::address(int family) {
  if (!plain() || t_[i_].text.size() >= INET6_ADDRSTRLEN) return false;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, t_[i_].text.data(), t_[i_].text.size());
  ++i_;
  std::uint8_t buf[16];
  if (inet_pton(family, text, buf) != 1) return false;
  out_.insert(out_.end(), buf, buf + (family == AF_INET ? 4 : 16));
  return true;
}

bool Encoder::caa_tag() {  // RFC 8659: 1..15 letters and digits
  if (!plain()) return false;
  std::string_view tag = t_[i_++].text;
  if (tag.empty() || tag.size() > 15) return false;
  for (char c : tag)
    if (!is_alnum(c)) return false;
  out_.push_back(static_cast<std::uint8_t>(tag.size()));
  out_.insert(out_.end(), tag.begin(), tag.end());
  return true;
}

// RFC 3597: \# LENGTH HEX... (the hex may be split by spaces).
bool Encoder::generic() {
  ++i_;  // "\#"
  auto len = plain() ? parse_decimal<std::uint16_t>(t_[i_++].text) : std::nullopt;
  if (!len) return false;
  for (; !done(); ++i_) {
    std::string_view hex = t_[i_].text;
    if (t_[i_].quoted || hex.size() % 2) return false;
    for (std::size_t k = 0; k < hex.size(); k += 2) {
      int hi = hex_value(hex[k]), lo = hex_value(hex[k + 1]);
      if (hi < 0 || lo < 0) return false;
      out_.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
  }
  return out_.size() == *len;
}

bool encode_typed(std::uint16_t type, Encoder& e) {
  switch (type) {
    case kTypeA: return e.address(AF_INET) && e.done();
    case kTypeAAAA: return e.address(AF_INET6) && e.done();
    case kTypeNS: case kTypeCNAME: case kTypePTR: return e.name() && e.done();
    case kTypeMX: return e.u16() && e.name() && e.done();
    case kTypeSRV: return e.u16() && e.u16() && e.u16() && e.name() && e.done();
    case kTypeSOA:
      return e.name() && e.name() && e.u32() && e.timer() && e.timer() && e.timer() && e.timer() && e.done();
    case kTypeTXT:
      do {
        if (!e.string()) return false;
      } while (!e.done());
      return true;
    case kTypeCAA: return e.u8() && e.caa_tag() && e.rest_bytes() && e.done();
    default: return false;
  }
}

std::nullopt_t fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return std::nullopt;
}

bool meta_type(std::uint16_t type) { return type == kTypeOPT || (type >= 128 && type <= 255); }

}  // namespace

std::optional<ResourceRecord> make_record(std::string_view name, std::uint16_t type, std::uint32_t ttl,
                                          std::string_view data, std::string_view origin, std::string* why) {
  auto owner = qualify_name(name, origin);
  if (!owner) return fail(why, "bad owner name '" + std::string(name) + "'");
  if (meta_type(type)) return fail(why, type_name(type) + " cannot be a record");
  ResourceRecord rr;
  rr.name = std::move(*owner);
  rr.type = type;
  rr.ttl = ttl;
  std::vector<Token> tokens;
  if (!tokenize(data, tokens)) return fail(why, "unterminated quote or escape in '" + std::string(data) + "'");
  Encoder e(tokens, origin, rr.rdata);
  bool generic = !tokens.empty() && !tokens[0].quoted && tokens[0].text == "\\#";
  bool ok = generic ? e.generic() && rdata_well_formed(type, rr.rdata) : encode_typed(type, e);
  if (!ok && !generic && !has_format(type))
    return fail(why, "no text format for " + type_name(type) + "; use \\# LENGTH HEX");
  if (!ok) {
    while (!data.empty() && is_space(data.front())) data.remove_prefix(1);
    while (!data.empty() && is_space(data.back())) data.remove_suffix(1);
    return fail(why, "bad " + type_name(type) + " data '" + std::string(data.substr(0, 80)) + "'");
  }
  if (rr.rdata.size() > 0xffff) return fail(why, "RDATA longer than 65535 bytes");
  return rr;
}

std::optional<std::string> reverse_name(std::string_view ip) {
  auto addr = parse_ip(ip);
  if (!addr) return std::nullopt;
  std::string out;
  if (addr->family() == AF_INET) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(addr->sa())->sin_addr);
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + '.';
    return out + "in-addr.arpa";
  }
  static const char kHex[] = "0123456789abcdef";
  const auto* b = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(addr->sa())->sin6_addr);
  out.reserve(72);
  for (int i = 15; i >= 0; --i) {
    out += kHex[b[i] & 15];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace ev::dns
