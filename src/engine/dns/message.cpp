// The DNS wire codec: names (presentation <-> wire, compression) and
// whole messages. Presentation of RDATA and record builders live in
// rdata.cpp.
#include "engine/dns/message.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/util/ascii.h"

namespace ev::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr int kMaxJumps = 128;           // more than any valid name needs (127 labels)
constexpr std::size_t kMaxPointer = 0x3fff;

// A name in uncompressed wire form, in a fixed buffer: no allocation.
struct WireName {
  std::array<std::uint8_t, kMaxName + 1> data{};
  std::size_t len = 0;
  std::span<const std::uint8_t> bytes() const { return {data.data(), len}; }
};

constexpr bool is_special(std::uint8_t c) {
  switch (c) {
    case '.': case '\\': case '"': case '(': case ')': case ';': case '@': case '$':
      return true;
    default:
      return false;
  }
}

void append_label_text(std::string& out, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t c = p[i];
    if (is_special(c)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c <= 0x20 || c >= 0x7f) {
      char esc[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                     static_cast<char>('0' + c % 10), 0};
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
}

// `wire` must be a valid uncompressed name.
std::string wire_to_text(std::span<const std::uint8_t> wire) {
  std::string out;
  out.reserve(wire.size() + 8);
  for (std::size_t p = 0; p < wire.size() && wire[p] != 0; p += 1 + wire[p]) {
    if (p != 0) out += '.';
    append_label_text(out, wire.data() + p + 1, wire[p]);
  }
  return out;
}

// Decodes one character of presentation text at `i` (an escape or a plain
// byte) into `b`, advancing `i`. False for a bad escape.
bool next_name_byte(std::string_view text, std::size_t& i, std::uint8_t& b) {
  char c = text[i++];
  if (c != '\\') {
    b = static_cast<std::uint8_t>(c);
    return true;
  }
  if (i >= text.size()) return false;
  if (text[i] < '0' || text[i] > '9') {
    b = static_cast<std::uint8_t>(text[i++]);
    return true;
  }
  if (i + 3 > text.size()) return false;
  int v = 0;
  for (int k = 0; k < 3; ++k, ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  if (v > 255) return false;
  b = static_cast<std::uint8_t>(v);
  return true;
}

// Presentation text -> uncompressed wire form. False if not a valid name.
bool encode_name(std::string_view text, WireName& out) {
  out.len = 0;
  if (text.empty() || text == ".") {
    out.data[out.len++] = 0;
    return true;
  }
  std::size_t len_pos = 0, w = 1, label = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '.') {
      if (label == 0) return false;  // leading dot or ".."
      out.data[len_pos] = static_cast<std::uint8_t>(label);
      len_pos = w++;
      label = 0;
      ++i;
      if (w > kMaxName) return false;
      continue;
    }
    std::uint8_t b = 0;
    if (!next_name_byte(text, i, b) || label == kMaxLabel || w >= kMaxName) return false;
    out.data[w++] = b;
    ++label;
  }
  if (label > 0) {
    out.data[len_pos] = static_cast<std::uint8_t>(label);
    len_pos = w++;
  }
  if (w > kMaxName) return false;
  out.data[len_pos] = 0;
  out.len = w;
  return true;
}

bool ends_with_unescaped_dot(std::string_view s) {
  if (s.empty() || s.back() != '.') return false;
  std::size_t slashes = 0;
  for (std::size_t i = s.size() - 1; i > 0 && s[i - 1] == '\\'; --i) ++slashes;
  return slashes % 2 == 0;
}

std::string_view strip_root_dot(std::string_view s) {
  return ends_with_unescaped_dot(s) ? s.substr(0, s.size() - 1) : s;
}

// The wire length of a name whose text is already canonical (labels of
// printable bytes that need no escape, single dots, an optional final
// dot), or 0 for any other text: those take the encoding round trip.
constexpr auto kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x21; c < 0x7f; ++c) plain[c] = !is_special(static_cast<std::uint8_t>(c));
  return plain;
}();

std::size_t plain_wire_length(std::string_view text) {
  std::size_t label = 0;
  for (char ch : text) {
    if (ch == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if (!kPlainByte[static_cast<std::uint8_t>(ch)] || ++label > kMaxLabel) {
      return 0;
    }
  }
  std::size_t wire = text.size() + (label == 0 ? 1 : 2);
  return text.empty() || wire > kMaxName ? 0 : wire;
}

}  // namespace

// ---------------------------------------------------------------- names

bool names_equal(std::string_view a, std::string_view b) { return ascii_iequals(strip_root_dot(a), strip_root_dot(b)); }

bool is_reply_to(const Message& reply, std::uint16_t id, const Question& asked, bool exact_case) {
  if (!reply.header.qr || reply.header.id != id || reply.header.opcode != 0 || reply.questions.size() != 1) return false;
  const Question& q = reply.questions[0];
  if (q.type != asked.type || q.qclass != asked.qclass) return false;
  return exact_case ? strip_root_dot(q.name) == strip_root_dot(asked.name) : names_equal(q.name, asked.name);
}

std::string lower_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = ascii_tolower(c);
  return out;
}

bool name_in_zone(std::string_view name, std::string_view zone) {
  name = strip_root_dot(name);
  zone = strip_root_dot(zone);
  if (zone.empty()) return true;
  if (name.size() == zone.size()) return ascii_iequals(name, zone);
  if (name.size() < zone.size() + 1) return false;
  std::string_view head = name.substr(0, name.size() - zone.size());
  // The separator must be a real label boundary, not an escaped "\.".
  return ends_with_unescaped_dot(head) && ascii_iequals(name.substr(head.size()), zone);
}

bool valid_name(std::string_view name) {
  WireName w;
  return encode_name(name, w);
}

std::optional<std::string> qualify_name(std::string_view name, std::string_view origin) {
  if (name.empty()) return std::nullopt;
  if (name == "@") return qualify_name(strip_root_dot(origin).empty() ? "." : origin, "");
  // Zone files are mostly plain names: join the texts (as the round trip
  // below would) without encoding and decoding them.
  if (std::size_t head = plain_wire_length(name)) {
    std::string_view tail = strip_root_dot(origin);
    if (name.back() == '.' || tail.empty()) return std::string(strip_root_dot(name));
    std::size_t tail_wire = plain_wire_length(tail);
    if (tail_wire && head - 1 + tail_wire > kMaxName) return std::nullopt;
    if (tail_wire) {
      std::string out;
      out.reserve(name.size() + 1 + tail.size());
      out.append(name).append(1, '.').append(tail);
      return out;
    }
  }
  WireName head, tail;
  if (!encode_name(name, head)) return std::nullopt;
  if (name == "." || ends_with_unescaped_dot(name) || strip_root_dot(origin).empty()) return wire_to_text(head.bytes());
  if (!encode_name(origin, tail)) return std::nullopt;
  std::size_t total = head.len - 1 + tail.len;
  if (total > kMaxName) return std::nullopt;
  std::memcpy(head.data.data() + head.len - 1, tail.data.data(), tail.len);
  head.len = total;
  return wire_to_text(head.bytes());
}

bool append_wire_name(std::string_view name, std::vector<std::uint8_t>& out) {
  WireName w;
  if (!encode_name(name, w)) return false;
  out.insert(out.end(), w.data.begin(), w.data.begin() + static_cast<std::ptrdiff_t>(w.len));
  return true;
}

std::optional<std::string> read_wire_name(std::span<const std::uint8_t> data, std::size_t& pos) {
  std::size_t p = pos;
  while (true) {
    if (p >= data.size()) return std::nullopt;
    std::uint8_t n = data[p];
    if (n > kMaxLabel) return std::nullopt;  // pointers and reserved label types
    if (p - pos + 1 + n > kMaxName) return std::nullopt;
    if (n == 0) break;
    p += 1 + n;
  }
  std::string text = wire_to_text(data.subspan(pos, p + 1 - pos));
  pos = p + 1;
  return text;
}

// ---------------------------------------------------------------- parsing

namespace {

// Where the names sit inside the RDATA of the types that carry them:
// `prefix` fixed bytes, `names` names, then exactly `suffix` fixed bytes.
struct NameLayout {
  std::size_t prefix;
  int names;
  std::size_t suffix;
  bool compress;  // RFC 3597: only RFC 1035 types; RFC 2782: never SRV
};

std::optional<NameLayout> name_layout(std::uint16_t type) {
  switch (type) {
    case kTypeNS: case kTypeCNAME: case kTypePTR:
      return NameLayout{0, 1, 0, true};
    case kTypeMX:
      return NameLayout{2, 1, 0, true};
    case kTypeSOA:
      return NameLayout{0, 2, 20, true};
    case kTypeSRV:
      return NameLayout{6, 1, 0, false};
    default:
      return std::nullopt;
  }
}

enum class Section { Answer, Authority, Additional };

class Parser {
 public:
  explicit Parser(std::span<const std::uint8_t> packet) : pkt_(packet) {}

  void header(Header& h, std::uint16_t counts[4]);
  const char* question(Question& q);
  const char* record(Section section, Message& msg);

 private:
  const char* name(std::size_t& pos, std::size_t limit, WireName& out) const;
  const char* rdata(std::uint16_t type, std::size_t begin, std::size_t end, std::vector<std::uint8_t>& out);
  const char* opt(Section section, std::uint16_t cls, std::uint32_t ttl, std::size_t begin, std::size_t end,
                  Message& msg) const;
  std::uint16_t u16(std::size_t at) const { return static_cast<std::uint16_t>(pkt_[at] << 8 | pkt_[at + 1]); }
  std::uint32_t u32(std::size_t at) const { return std::uint32_t{u16(at)} << 16 | u16(at + 2); }

  std::span<const std::uint8_t> pkt_;
  std::size_t pos_ = kHeaderSize;
  WireName name_;
};

void Parser::header(Header& h, std::uint16_t counts[4]) {
  h.id = u16(0);
  std::uint8_t b2 = pkt_[2], b3 = pkt_[3];
  h.qr = b2 & 0x80;
  h.opcode = (b2 >> 3) & 0x0f;
  h.aa = b2 & 0x04;
  h.tc = b2 & 0x02;
  h.rd = b2 & 0x01;
  h.ra = b3 & 0x80;
  h.ad = b3 & 0x20;
  h.cd = b3 & 0x10;
  h.rcode = b3 & 0x0f;
  for (int i = 0; i < 4; ++i) counts[i] = u16(4 + 2 * static_cast<std::size_t>(i));
}

// Reads a possibly compressed name at `pos`; its in-place part must end
// before `limit`. Every pointer must go strictly below the previous one
// (and below itself), so the walk always terminates; the jump count is
// bounded as well.
const char* Parser::name(std::size_t& pos, std::size_t limit, WireName& out) const {
  std::size_t p = pos, ceiling = pos, resume = 0;
  int jumps = 0;
  out.len = 0;
  while (true) {
    if (p >= limit) return "name runs past the end";
    std::uint8_t n = pkt_[p];
    if ((n & 0xc0) == 0xc0) {
      if (p + 1 >= limit) return "compression pointer runs past the end";
      std::size_t target = u16(p) & kMaxPointer;
      if (target >= std::min(p, ceiling)) return "compression pointer points forward";
      if (target < kHeaderSize) return "compression pointer into the header";
      if (++jumps > kMaxJumps) return "too many compression pointers";
      if (jumps == 1) resume = p + 2;
      ceiling = p = target;
      limit = pkt_.size();
      continue;
    }
    if (n > kMaxLabel) return "unsupported label type";
    if (out.len + 1 + n + (n ? 1 : 0) > kMaxName) return "name longer than 255 bytes";
    if (p + 1 + n > limit) return "label runs past the end";
    std::memcpy(out.data.data() + out.len, pkt_.data() + p, 1 + std::size_t{n});
    out.len += 1 + std::size_t{n};
    p += 1 + std::size_t{n};
    if (n == 0) break;
  }
  pos = jumps ? resume : p;
  return nullptr;
}

const char* Parser::question(Question& q) {
  if (const char* e = name(pos_, pkt_.size(), name_)) return e;
  if (pkt_.size() - pos_ < 4) return "question runs past the end";
  q.name = wire_to_text(name_.bytes());
  q.type = u16(pos_);
  q.qclass = u16(pos_ + 2);
  pos_ += 4;
  return nullptr;
}

const char* Parser::record(Section section, Message& msg) {
  if (const char* e = name(pos_, pkt_.size(), name_)) return e;
  if (pkt_.size() - pos_ < 10) return "record runs past the end";
  std::uint16_t type = u16(pos_), cls = u16(pos_ + 2), rdlen = u16(pos_ + 8);
  std::uint32_t ttl = u32(pos_ + 4);
  std::size_t begin = pos_ + 10, end = begin + rdlen;
  if (end > pkt_.size()) return "truncated RDATA";
  pos_ = end;
  if (type == kTypeOPT) return opt(section, cls, ttl, begin, end, msg);
  auto& list = section == Section::Answer ? msg.answers : section == Section::Authority ? msg.authority : msg.additional;
  ResourceRecord& rr = list.emplace_back();
  rr.name = wire_to_text(name_.bytes());
  rr.type = type;
  rr.rclass = cls;
  rr.ttl = ttl;
  return rdata(type, begin, end, rr.rdata);
}

const char* Parser::rdata(std::uint16_t type, std::size_t begin, std::size_t end, std::vector<std::uint8_t>& out) {
  auto layout = name_layout(type);
  if (!layout) {
    auto raw = pkt_.subspan(begin, end - begin);
    if (!rdata_well_formed(type, raw)) return "RDATA does not match its type";
    out.assign(raw.begin(), raw.end());
    return nullptr;
  }
  if (end - begin < layout->prefix) return "RDATA does not match its type";
  out.reserve(end - begin + 32);
  out.assign(pkt_.begin() + static_cast<std::ptrdiff_t>(begin),
             pkt_.begin() + static_cast<std::ptrdiff_t>(begin + layout->prefix));
  std::size_t p = begin + layout->prefix;
  for (int i = 0; i < layout->names; ++i) {
    if (const char* e = name(p, end, name_)) return e;
    out.insert(out.end(), name_.data.begin(), name_.data.begin() + static_cast<std::ptrdiff_t>(name_.len));
  }
  if (end - p != layout->suffix) return "RDATA does not match its type";
  out.insert(out.end(), pkt_.begin() + static_cast<std::ptrdiff_t>(p), pkt_.begin() + static_cast<std::ptrdiff_t>(end));
  return nullptr;
}

const char* Parser::opt(Section section, std::uint16_t cls, std::uint32_t ttl, std::size_t begin, std::size_t end,
                        Message& msg) const {
  if (section != Section::Additional) return "OPT outside the additional section";
  if (msg.edns) return "more than one OPT record";
  if (name_.len != 1) return "OPT not owned by the root";
  if (!edns_options_well_formed(pkt_.subspan(begin, end - begin))) return "bad EDNS option";
  Edns& e = msg.edns.emplace();
  e.udp_size = cls;
  e.extended_rcode = static_cast<std::uint8_t>(ttl >> 24);
  e.version = static_cast<std::uint8_t>(ttl >> 16);
  e.dnssec_ok = ttl & 0x8000;
  return nullptr;
}

ParseResult malformed(std::string what) { return {ParseStatus::Malformed, std::move(what)}; }

}  // namespace

bool edns_options_well_formed(std::span<const std::uint8_t> rdata) {
  for (std::size_t p = 0; p < rdata.size();) {  // code, length, data
    std::size_t left = rdata.size() - p;
    if (left < 4 || left - 4 < ((std::size_t{rdata[p + 2]} << 8) | rdata[p + 3])) return false;
    p += 4 + ((std::size_t{rdata[p + 2]} << 8) | rdata[p + 3]);
  }
  return true;
}

ParseResult parse_message(std::span<const std::uint8_t> packet, Message& out) {
  out = Message{};
  if (packet.size() < kHeaderSize) return {ParseStatus::ShortHeader, "shorter than a DNS header"};
  Parser parser(packet);
  std::uint16_t counts[4];
  parser.header(out.header, counts);
  // Every question takes at least 5 bytes, every record 11: refuse counts
  // the packet cannot hold before reserving anything.
  std::size_t least = kHeaderSize + 5 * std::size_t{counts[0]} +
                      11 * (std::size_t{counts[1]} + counts[2] + counts[3]);
  if (least > packet.size()) return malformed("counts larger than the packet");
  out.questions.resize(counts[0]);
  for (std::size_t i = 0; i < out.questions.size(); ++i)
    if (const char* e = parser.question(out.questions[i])) return malformed("question " + std::to_string(i + 1) + ": " + e);
  out.answers.reserve(counts[1]);
  out.authority.reserve(counts[2]);
  out.additional.reserve(counts[3]);
  const Section sections[3] = {Section::Answer, Section::Authority, Section::Additional};
  static const char* const names[3] = {"answer ", "authority ", "additional "};
  for (int s = 0; s < 3; ++s)
    for (std::size_t i = 0; i < counts[s + 1]; ++i)
      if (const char* e = parser.record(sections[s], out))
        return malformed(names[s] + std::to_string(i + 1) + ": " + e);
  return {};
}

// ---------------------------------------------------------------- building

namespace {

class Builder {
 public:
  explicit Builder(std::size_t reserve) { out_.reserve(std::min<std::size_t>(reserve, 4096)); }

  void header(const Header& h);
  void question(const Question& q);
  bool record(const ResourceRecord& rr);
  void opt(const Edns& e);
  void set_count(int index, std::uint16_t n) { put16_at(4 + 2 * static_cast<std::size_t>(index), n); }
  std::size_t size() const { return out_.size(); }
  std::vector<std::uint8_t> take() { return std::move(out_); }
  void truncate_to(std::size_t n) {
    out_.resize(n);
    out_[2] |= 0x02;  // TC
  }

 private:
  struct Suffix {
    std::uint32_t hash;
    std::uint32_t store_pos;
    std::uint16_t offset;
    std::uint8_t len;
  };
  void put16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void put32(std::uint32_t v) {
    put16(static_cast<std::uint16_t>(v >> 16));
    put16(static_cast<std::uint16_t>(v));
  }
  void put16_at(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  void name_text(std::string_view text);
  void name(std::span<const std::uint8_t> wire, bool compress);
  std::optional<std::uint16_t> find(std::span<const std::uint8_t> suffix, std::uint32_t hash) const;
  bool rdata_with_names(const ResourceRecord& rr, const NameLayout& layout);

  std::vector<std::uint8_t> out_;
  std::vector<Suffix> suffixes_;
  std::vector<std::uint8_t> store_;  // the wire bytes of every name written
  WireName scratch_;
};

void Builder::header(const Header& h) {
  put16(h.id);
  out_.push_back(static_cast<std::uint8_t>((h.qr ? 0x80 : 0) | (h.opcode & 0x0f) << 3 | (h.aa ? 0x04 : 0) |
                                           (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0)));
  out_.push_back(static_cast<std::uint8_t>((h.ra ? 0x80 : 0) | (h.ad ? 0x20 : 0) | (h.cd ? 0x10 : 0) | (h.rcode & 0x0f)));
  for (int i = 0; i < 4; ++i) put16(0);
}

void Builder::question(const Question& q) {
  name_text(q.name);
  put16(q.type);
  put16(q.qclass);
}

void Builder::name_text(std::string_view text) {
  if (!encode_name(text, scratch_)) {
    scratch_.data[0] = 0;
    scratch_.len = 1;
  }
  name(scratch_.bytes(), true);
}

std::optional<std::uint16_t> Builder::find(std::span<const std::uint8_t> suffix, std::uint32_t hash) const {
  for (const Suffix& s : suffixes_)
    if (s.hash == hash && s.len == suffix.size() && std::memcmp(store_.data() + s.store_pos, suffix.data(), s.len) == 0)
      return s.offset;
  return std::nullopt;
}

// Writes an uncompressed wire name, replacing its longest suffix already
// in the message (same bytes exactly) by a pointer, and remembers the
// suffixes it wrote for later names.
void Builder::name(std::span<const std::uint8_t> wire, bool compress) {
  std::array<std::uint32_t, kMaxName + 1> hash{};  // FNV-1a over wire[i..], built from the end
  std::uint32_t h = 2166136261u;
  for (std::size_t i = wire.size(); i-- > 0;) hash[i] = h = (h ^ wire[i]) * 16777619u;
  auto store_pos = static_cast<std::uint32_t>(store_.size());
  store_.insert(store_.end(), wire.begin(), wire.end());
  std::size_t p = 0;
  for (; wire[p] != 0; p += 1 + wire[p]) {
    auto suffix = wire.subspan(p);
    if (compress) {
      if (auto at = find(suffix, hash[p])) {
        put16(static_cast<std::uint16_t>(0xc000 | *at));
        return;
      }
    }
    if (out_.size() <= kMaxPointer)
      suffixes_.push_back({hash[p], store_pos + static_cast<std::uint32_t>(p), static_cast<std::uint16_t>(out_.size()),
                           static_cast<std::uint8_t>(suffix.size())});
    out_.insert(out_.end(), wire.begin() + static_cast<std::ptrdiff_t>(p),
                wire.begin() + static_cast<std::ptrdiff_t>(p + 1 + wire[p]));
  }
  out_.push_back(0);
}

// RDATA whose names are checked first, then written (compressed where the
// type allows). False if the RDATA does not have the type's layout.
bool Builder::rdata_with_names(const ResourceRecord& rr, const NameLayout& layout) {
  std::span<const std::uint8_t> data(rr.rdata);
  std::size_t spans[2][2] = {};
  std::size_t p = layout.prefix;
  if (data.size() < p) return false;
  for (int i = 0; i < layout.names; ++i) {
    std::size_t start = p;
    if (!read_wire_name(data, p)) return false;
    spans[i][0] = start;
    spans[i][1] = p - start;
  }
  if (data.size() - p != layout.suffix) return false;
  out_.insert(out_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(layout.prefix));
  for (int i = 0; i < layout.names; ++i) name(data.subspan(spans[i][0], spans[i][1]), layout.compress);
  out_.insert(out_.end(), data.begin() + static_cast<std::ptrdiff_t>(p), data.end());
  return true;
}

bool Builder::record(const ResourceRecord& rr) {
  if (rr.rdata.size() > 0xffff) return false;  // cannot be encoded at all
  name_text(rr.name);
  put16(rr.type);
  put16(rr.rclass);
  put32(rr.ttl);
  std::size_t len_at = out_.size();
  put16(0);
  auto layout = name_layout(rr.type);
  if (!layout || !rdata_with_names(rr, *layout)) out_.insert(out_.end(), rr.rdata.begin(), rr.rdata.end());
  std::size_t rdlen = out_.size() - len_at - 2;
  put16_at(len_at, static_cast<std::uint16_t>(rdlen));
  return true;
}

void Builder::opt(const Edns& e) {
  out_.push_back(0);
  put16(kTypeOPT);
  put16(e.udp_size);
  put32(std::uint32_t{e.extended_rcode} << 24 | std::uint32_t{e.version} << 16 | (e.dnssec_ok ? 0x8000u : 0u));
  put16(0);
}

constexpr std::size_t kOptSize = 11;

}  // namespace

std::vector<std::uint8_t> build_message(const Message& msg, std::size_t max_size, bool truncate) {
  Builder b(max_size);
  b.header(msg.header);
  std::size_t nq = std::min<std::size_t>(msg.questions.size(), 0xffff);
  for (std::size_t i = 0; i < nq; ++i) b.question(msg.questions[i]);
  b.set_count(0, static_cast<std::uint16_t>(nq));

  const std::vector<ResourceRecord>* sections[3] = {&msg.answers, &msg.authority, &msg.additional};
  std::vector<std::size_t> ends;  // message size after each record written, in order
  ends.push_back(b.size());
  std::size_t written[3] = {};
  const std::size_t limit[3] = {0xffff, 0xffff, msg.edns ? std::size_t{0xfffe} : std::size_t{0xffff}};
  for (int s = 0; s < 3; ++s)
    for (const ResourceRecord& rr : *sections[s])
      if (written[s] < limit[s] && b.record(rr)) {
        ++written[s];
        ends.push_back(b.size());
      }

  std::size_t opt_size = msg.edns ? kOptSize : 0;
  if (truncate && b.size() + opt_size > max_size) {
    std::size_t keep = ends.size() - 1;
    while (keep > 0 && ends[keep] + opt_size > max_size) --keep;
    b.truncate_to(ends[keep]);
    for (std::size_t& w : written) {
      w = std::min(w, keep);
      keep -= w;
    }
  }
  for (int s = 0; s < 3; ++s) b.set_count(s + 1, static_cast<std::uint16_t>(written[s] + (s == 2 && msg.edns)));
  if (msg.edns) b.opt(*msg.edns);
  return b.take();
}

}  // namespace ev::dns
