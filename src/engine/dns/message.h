// DNS messages (RFC 1035, 3596, 2782, 6891, 8659): parsing and building,
// with name compression (RFC 1035 4.1.4), every section and EDNS0. The
// common record types have their own RDATA formats; unknown ones are kept
// as raw RDATA (RFC 3597).
//
// Parsing is bounds-checked everywhere: labels over 63 bytes, names over
// 255, compression pointers that loop or point forward, counts larger than
// the packet and truncated RDATA are errors, never reads past the end
// (libevent's CVE-2016-10195 was a 2-byte packet whose label ran past it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ev::dns {

// Record types and classes (numbers as on the wire).
enum Type : std::uint16_t {
  kTypeA = 1,
  kTypeNS = 2,
  kTypeCNAME = 5,
  kTypeSOA = 6,
  kTypePTR = 12,
  kTypeMX = 15,
  kTypeTXT = 16,
  kTypeAAAA = 28,
  kTypeSRV = 33,
  kTypeOPT = 41,
  kTypeANY = 255,
  kTypeCAA = 257,
};
enum Class : std::uint16_t { kClassIN = 1, kClassCH = 3, kClassANY = 255 };
enum Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// "A", "AAAA", ... or "TYPE65280" (RFC 3597) for others; and back
// (case-insensitive; "TYPEnnn" accepted).
std::string type_name(std::uint16_t type);
std::optional<std::uint16_t> type_from_name(std::string_view name);
std::string class_name(std::uint16_t cls);
// "IN", "CH", "HS", "NONE", "ANY" or "CLASSn" (case-insensitive).
std::optional<std::uint16_t> class_from_name(std::string_view name);
// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
// "YXDOMAIN" .. "NOTZONE", "BADVERS", else "RCODEn".
std::string rcode_name(int rcode);

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 255;  // wire length, including the root label

// Names are kept in presentation form without the trailing dot ("" is the
// root), escaped as dig does: '.', '\\', '"', '(', ')', ';', '@' and '$'
// inside a label as \. \\ ..., bytes outside 0x21..0x7e as \DDD. Names
// from parse_message, make_record and qualify_name are in this canonical
// form. Comparison is case-insensitive (ASCII only) and ignores a trailing
// dot.
bool names_equal(std::string_view a, std::string_view b);
// "www.Example.COM" -> "www.example.com" (ASCII only).
std::string lower_name(std::string_view name);
// True if `name` is `zone` or below it.
bool name_in_zone(std::string_view name, std::string_view zone);
// Validates presentation text ("a.b.c", "a.b.c.", "@" is not handled here);
// false for empty labels, labels over 63, names over 255, bad escapes.
// "" and "." are the root and valid.
bool valid_name(std::string_view name);
// `name` completed with `origin` unless it ends in an unescaped '.'; "@" is
// the origin itself. Returns the canonical form, nullopt if invalid.
std::optional<std::string> qualify_name(std::string_view name, std::string_view origin);

// Wire form of names (uncompressed labels, the root label last), for code
// that assembles RDATA by hand. append_wire_name appends presentation-form
// `name` (trailing dot optional) and returns false, leaving `out` as it
// was, if the name is not valid. read_wire_name reads an uncompressed name
// at `pos`, advances `pos` past it and returns it in presentation form;
// nullopt for compression pointers, bad labels or a name running past the
// end.
bool append_wire_name(std::string_view name, std::vector<std::uint8_t>& out);
std::optional<std::string> read_wire_name(std::span<const std::uint8_t> data, std::size_t& pos);

// A zone-file TTL: decimal seconds or BIND units ("1h30m", "2W", "1d"), at
// most 2^31-1 (RFC 2181). nullopt for anything else.
std::optional<std::uint32_t> parse_ttl(std::string_view text);

struct Question {
  std::string name;
  std::uint16_t type = kTypeA;
  std::uint16_t qclass = kClassIN;
};

struct SoaData {
  std::string mname, rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

struct ResourceRecord {
  std::string name;
  std::uint16_t type = kTypeA;
  std::uint16_t rclass = kClassIN;
  std::uint32_t ttl = 0;
  // The RDATA in wire form with every name uncompressed, so a record can be
  // re-encoded into another message (and compressed there).
  std::vector<std::uint8_t> rdata;

  // dig's presentation of the RDATA: "192.0.2.1", "10 mail.example.com.",
  // "\"text\"", ...; unknown types (and known ones whose RDATA is
  // malformed) as "\# len hex" (RFC 3597).
  std::string data_text() const;
  // Parsed accessors (nullopt if the type differs or RDATA is malformed).
  std::optional<std::string> target() const;  // CNAME, NS, PTR target; MX exchange; SRV target
  std::optional<SoaData> soa() const;
};

// True if `rdata` (names uncompressed) has the structure `type` requires:
// A 4 bytes, AAAA 16, whole names where NS, CNAME, PTR, MX, SOA and SRV
// have them, TXT one or more strings filling it, CAA flags, a non-empty tag
// and a value. Other types: always true.
bool rdata_well_formed(std::uint16_t type, std::span<const std::uint8_t> rdata);

// Builders for records from presentation data ("192.0.2.1", "10 mail",
// "\"a\" \"b\"", ...), relative names (the owner and those in the data)
// completed with `origin`, "@" meaning `origin`. Every type also accepts
// RFC 3597's "\# len hex". The class is IN. nullopt and a reason for
// malformed data.
std::optional<ResourceRecord> make_record(std::string_view name, std::uint16_t type, std::uint32_t ttl,
                                          std::string_view data, std::string_view origin, std::string* why);

struct Header {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;  // low 4 bits; EDNS adds the high 8
};

struct Edns {
  std::uint16_t udp_size = 512;
  std::uint8_t extended_rcode = 0;
  std::uint8_t version = 0;
  bool dnssec_ok = false;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers, authority, additional;  // OPT is not kept here
  std::optional<Edns> edns;
};

enum class ParseStatus {
  Ok,
  ShortHeader,  // fewer than 12 bytes: nothing can be answered
  Malformed,    // header readable, the rest is not: FORMERR
};

struct ParseResult {
  ParseStatus status = ParseStatus::Ok;
  std::string error;  // what was wrong, for logs
};

// Parses a whole message. On Malformed, `out.header` holds the readable
// header (so a server can answer FORMERR with the query's ID). Names in
// RDATA of CNAME, NS, PTR, MX, SOA and SRV are decompressed, and RDATA of
// every type rdata_well_formed() knows must have its structure; OPT must be
// in the additional section, once, owned by the root. Edns::udp_size is
// the value sent (RFC 6891 says to treat values below 512 as 512). Bytes
// after the last record are ignored.
ParseResult parse_message(std::span<const std::uint8_t> packet, Message& out);

// Encodes `msg` with name compression. If it would exceed `max_size`,
// records are dropped from the end (additional, then authority, then
// answers) and TC is set, unless `truncate` is false, in which case the
// whole message is returned regardless. The OPT record is appended when
// msg.edns is set (and kept when truncating). Owner names and the names in
// CNAME, NS, PTR, MX and SOA RDATA are compressed, against earlier names
// with exactly the same bytes (so the case of each name is kept); SRV
// targets are not (RFC 2782 forbids it). Names must be valid: an invalid
// one is written as the root. The header's rcode is written modulo 16.
// When even the header and questions exceed `max_size`, they are returned
// alone, with TC.
std::vector<std::uint8_t> build_message(const Message& msg, std::size_t max_size = 65535, bool truncate = true);

// True if `reply` answers a query with `id`, opcode QUERY and exactly the
// one question `asked` (class IN): QR set, the same ID, opcode and
// question, the name compared case-sensitively when `exact_case` (0x20
// randomization) and ignoring ASCII case otherwise. Anything else is a
// stale or spoofed packet, to be ignored rather than taken.
bool is_reply_to(const Message& reply, std::uint16_t id, const Question& asked, bool exact_case);

// True if the RDATA of an OPT record is whole options one after the other
// (code, length, data: RFC 6891 6.1.2), as parse_message requires.
bool edns_options_well_formed(std::span<const std::uint8_t> rdata);

// Reverse-lookup name of an address: "1.2.0.192.in-addr.arpa" or the ip6.arpa
// nibble form. nullopt if `ip` is not an IP literal.
std::optional<std::string> reverse_name(std::string_view ip);

}  // namespace ev::dns
