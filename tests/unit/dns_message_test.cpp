// DNS messages (RFC 1035, 3596, 2782, 6891: every section, compression,
// EDNS0): round trips for each record type, dig's presentation form, and
// the malformed packets a server must survive (CVE-2016-10195 and friends).
#include "engine/dns/message.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

namespace dns = ev::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

Bytes header(std::uint16_t id, std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ns = 0, std::uint16_t ar = 0) {
  Bytes b;
  put16(b, id);
  put16(b, 0x0100);  // RD
  for (std::uint16_t n : {qd, an, ns, ar}) put16(b, n);
  return b;
}

void labels(Bytes& b, std::initializer_list<std::string_view> parts, bool root = true) {
  for (std::string_view p : parts) {
    b.push_back(static_cast<std::uint8_t>(p.size()));
    b.insert(b.end(), p.begin(), p.end());
  }
  if (root) b.push_back(0);
}

void pointer(Bytes& b, std::uint16_t offset) { put16(b, static_cast<std::uint16_t>(0xc000 | offset)); }

// Type, class IN, TTL 60, RDLENGTH.
void rr_fixed(Bytes& b, std::uint16_t type, std::uint16_t rdlength) {
  put16(b, type);
  put16(b, dns::kClassIN);
  put16(b, 0);
  put16(b, 60);
  put16(b, rdlength);
}

// A query for www.example.com A: the question name starts at offset 12.
Bytes query_www() {
  Bytes b = header(0x1234, 1);
  labels(b, {"www", "example", "com"});
  put16(b, dns::kTypeA);
  put16(b, dns::kClassIN);
  return b;
}

dns::ParseResult parse(const Bytes& b, dns::Message& m) { return dns::parse_message(b, m); }

dns::ResourceRecord record(std::string_view name, std::uint16_t type, std::string_view data,
                           std::string_view origin = "") {
  std::string why;
  auto rr = dns::make_record(name, type, 300, data, origin, &why);
  INFO("make_record: ", why);
  REQUIRE(rr);
  return *rr;
}

void check_malformed(const Bytes& b, std::string_view what_contains = "") {
  dns::Message m;
  auto r = parse(b, m);
  CAPTURE(r.error);
  CHECK(r.status == dns::ParseStatus::Malformed);
  CHECK(m.header.id == 0x1234);
  if (!what_contains.empty()) CHECK(r.error.find(what_contains) != std::string::npos);
}

}  // namespace

TEST_CASE("DNS type, class and rcode mnemonics") {
  CHECK(dns::type_name(dns::kTypeA) == "A");
  CHECK(dns::type_name(dns::kTypeAAAA) == "AAAA");
  CHECK(dns::type_name(dns::kTypeCAA) == "CAA");
  CHECK(dns::type_name(65280) == "TYPE65280");
  CHECK(dns::type_from_name("mx") == dns::kTypeMX);
  CHECK(dns::type_from_name("SRV") == dns::kTypeSRV);
  CHECK(dns::type_from_name("type65280") == 65280);
  CHECK(dns::type_from_name("TYPE65536") == std::nullopt);
  CHECK(dns::type_from_name("TYPE") == std::nullopt);
  CHECK(dns::type_from_name("BOGUS") == std::nullopt);
  CHECK(dns::class_name(dns::kClassIN) == "IN");
  CHECK(dns::class_name(dns::kClassCH) == "CH");
  CHECK(dns::class_name(77) == "CLASS77");
  CHECK(dns::class_from_name("in") == dns::kClassIN);
  CHECK(dns::class_from_name("CLASS3") == dns::kClassCH);
  CHECK(dns::rcode_name(dns::kNoError) == "NOERROR");
  CHECK(dns::rcode_name(dns::kFormErr) == "FORMERR");
  CHECK(dns::rcode_name(dns::kServFail) == "SERVFAIL");
  CHECK(dns::rcode_name(dns::kNxDomain) == "NXDOMAIN");
  CHECK(dns::rcode_name(dns::kNotImp) == "NOTIMP");
  CHECK(dns::rcode_name(dns::kRefused) == "REFUSED");
  CHECK(dns::rcode_name(16) == "BADVERS");
  CHECK(dns::rcode_name(12) == "RCODE12");
}

TEST_CASE("DNS names: comparison, zones, validity") {
  CHECK(dns::names_equal("www.Example.COM", "WWW.example.com"));
  CHECK(dns::names_equal("example.com.", "example.com"));
  CHECK_FALSE(dns::names_equal("example.com", "example.org"));
  CHECK_FALSE(dns::names_equal("a\\.", "a"));  // an escaped dot is part of the label
  CHECK(dns::lower_name("www.Example.COM") == "www.example.com");
  CHECK(dns::name_in_zone("www.example.com", "example.com"));
  CHECK(dns::name_in_zone("EXAMPLE.com", "example.COM."));
  CHECK(dns::name_in_zone("anything", ""));
  CHECK_FALSE(dns::name_in_zone("wwwexample.com", "example.com"));
  CHECK_FALSE(dns::name_in_zone("com", "example.com"));
  CHECK_FALSE(dns::name_in_zone("a\\.example.com", "example.com"));  // labels "a.example", "com"
  CHECK(dns::name_in_zone("a\\\\.example.com", "example.com"));     // labels "a\", "example", "com"

  std::string l63(63, 'a'), l64(64, 'a');
  CHECK(dns::valid_name(l63 + ".com"));
  CHECK_FALSE(dns::valid_name(l64 + ".com"));
  CHECK(dns::valid_name("a.b.c."));
  CHECK(dns::valid_name(""));
  CHECK(dns::valid_name("."));
  CHECK_FALSE(dns::valid_name("a..b"));
  CHECK_FALSE(dns::valid_name(".a"));
  CHECK_FALSE(dns::valid_name("a\\"));
  CHECK_FALSE(dns::valid_name("a\\256"));
  CHECK(dns::valid_name("a\\065b"));
  // 255 wire bytes is the limit: 3 labels of 63 + one of 61 = 4*64-2+1 = 255.
  std::string n255 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  CHECK(dns::valid_name(n255));
  CHECK_FALSE(dns::valid_name(n255 + "b"));
  CHECK_FALSE(dns::valid_name(n255 + ".c"));
}

TEST_CASE("DNS names: qualify_name and the canonical form") {
  CHECK(dns::qualify_name("www", "example.com") == "www.example.com");
  CHECK(dns::qualify_name("www", "example.com.") == "www.example.com");
  CHECK(dns::qualify_name("www.example.org.", "example.com") == "www.example.org");
  CHECK(dns::qualify_name("@", "example.com") == "example.com");
  CHECK(dns::qualify_name("www", "") == "www");
  CHECK(dns::qualify_name(".", "example.com") == "");
  CHECK(dns::qualify_name("a\\065", "") == "aA");          // \DDD of a letter is just the letter
  CHECK(dns::qualify_name("a\\032b", "") == "a\\032b");    // a space stays escaped
  CHECK(dns::qualify_name("a\\.b", "") == "a\\.b");
  CHECK_FALSE(dns::qualify_name("", "example.com"));
  CHECK_FALSE(dns::qualify_name("a..b", "example.com"));
  CHECK_FALSE(dns::qualify_name(std::string(200, 'a').insert(60, ".").insert(120, ".").insert(180, "."),
                                std::string(60, 'x') + ".com"));
  // Plain names take a shortcut; its bounds are the round trip's.
  std::string l63(63, 'a'), l61(61, 'b');
  CHECK(dns::qualify_name(l63, "") == l63);
  CHECK_FALSE(dns::qualify_name(l63 + "a", ""));
  CHECK(dns::qualify_name(l63 + "." + l63 + "." + l63 + "." + l61 + ".", "x") == l63 + "." + l63 + "." + l63 + "." + l61);
  CHECK_FALSE(dns::qualify_name(l63 + "." + l63 + "." + l63 + "." + l61 + "b.", "x"));  // 256 bytes of wire
  CHECK(dns::qualify_name(l63 + "." + l63, l63 + "." + l61) == l63 + "." + l63 + "." + l63 + "." + l61);
  CHECK_FALSE(dns::qualify_name(l63 + "." + l63, l63 + "." + l61 + "b"));
  CHECK(dns::qualify_name("Www", "Example.COM.") == "Www.Example.COM");  // the case is kept
  CHECK(dns::qualify_name("a-b_c*", "") == "a-b_c*");
}

TEST_CASE("DNS names: wire form helpers") {
  Bytes w;
  REQUIRE(dns::append_wire_name("www.Example.com.", w));
  CHECK(w == Bytes{3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0});
  CHECK_FALSE(dns::append_wire_name("a..b", w));
  CHECK(w.size() == 17);  // untouched on failure
  std::size_t pos = 0;
  CHECK(dns::read_wire_name(w, pos) == "www.Example.com");
  CHECK(pos == w.size());
  Bytes root{0};
  pos = 0;
  CHECK(dns::read_wire_name(root, pos) == "");
  Bytes ptr{0xc0, 0x0c};
  pos = 0;
  CHECK_FALSE(dns::read_wire_name(ptr, pos));
  Bytes runs_off{5, 'a', 'b'};
  pos = 0;
  CHECK_FALSE(dns::read_wire_name(runs_off, pos));
  Bytes odd{3, 'a', '.', ' ', 0};
  pos = 0;
  CHECK(dns::read_wire_name(odd, pos) == "a\\.\\032");
}

TEST_CASE("DNS EDNS options: whole options only") {
  CHECK(dns::edns_options_well_formed(Bytes{}));
  CHECK(dns::edns_options_well_formed(Bytes{0, 10, 0, 2, 1, 2, 0, 3, 0, 0}));  // a cookie's start, then NSID
  CHECK_FALSE(dns::edns_options_well_formed(Bytes{0, 10, 0}));                // half a header
  CHECK_FALSE(dns::edns_options_well_formed(Bytes{0, 10, 0, 8, 1, 2}));       // data cut short
  CHECK_FALSE(dns::edns_options_well_formed(Bytes{0, 3, 0, 0, 0}));          // a stray byte after
}

TEST_CASE("DNS reverse_name") {
  CHECK(dns::reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa");
  CHECK(dns::reverse_name("2001:db8::567:89ab") ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK(dns::reverse_name("::1") == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  CHECK_FALSE(dns::reverse_name("www.example.com"));
  CHECK_FALSE(dns::reverse_name("1.2.3"));
  CHECK_FALSE(dns::reverse_name(""));
}

TEST_CASE("DNS data_text matches dig's presentation for every type") {
  struct Case {
    std::uint16_t type;
    const char* data;
    const char* text;
  };
  const Case cases[] = {
      {dns::kTypeA, "192.0.2.1", "192.0.2.1"},
      {dns::kTypeAAAA, "2001:0db8:0:0:0:0:0:0001", "2001:db8::1"},
      {dns::kTypeAAAA, "::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {dns::kTypeCNAME, "target.example.com.", "target.example.com."},
      {dns::kTypeNS, "ns1", "ns1.example.com."},
      {dns::kTypePTR, "host.example.net.", "host.example.net."},
      {dns::kTypeMX, "10 mail.example.com.", "10 mail.example.com."},
      {dns::kTypeMX, "0 .", "0 ."},
      {dns::kTypeTXT, "\"hello world\"", "\"hello world\""},
      {dns::kTypeTXT, "\"a\" \"b c\" plain", "\"a\" \"b c\" \"plain\""},
      {dns::kTypeTXT, R"("quote \" and \\ backslash")", R"("quote \" and \\ backslash")"},
      {dns::kTypeTXT, R"("tab\009bell\007 high\200")", R"("tab\009bell\007 high\200")"},
      {dns::kTypeTXT, R"("semi; colon")", R"("semi; colon")"},
      {dns::kTypeTXT, "\"\"", "\"\""},
      {dns::kTypeSOA, "ns1 hostmaster 2024010101 7200 3600 1209600 300",
       "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
      {dns::kTypeSOA, "ns1 hostmaster 1 2h 1h 2w 5m", "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"},
      {dns::kTypeSRV, "10 60 5060 sip.example.com.", "10 60 5060 sip.example.com."},
      {dns::kTypeCAA, "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""},
      {dns::kTypeCAA, "128 iodef \"mailto:security@example.com\"", "128 iodef \"mailto:security@example.com\""},
      {dns::kTypeCAA, "0 issue \";\"", "0 issue \";\""},
      {65280, "\\# 3 0a0B0c", "\\# 3 0A0B0C"},
      {65280, "\\# 0", "\\# 0"},
      {dns::kTypeA, "\\# 4 C0000201", "192.0.2.1"},  // RFC 3597 form of a known type
  };
  for (const Case& c : cases) {
    CAPTURE(c.data);
    dns::ResourceRecord rr = record("x", c.type, c.data, "example.com");
    CHECK(rr.data_text() == c.text);
  }
}

TEST_CASE("DNS data_text of malformed RDATA falls back to the generic form") {
  dns::ResourceRecord rr;
  rr.type = dns::kTypeA;
  rr.rdata = {1, 2, 3};
  CHECK(rr.data_text() == "\\# 3 010203");
  rr.type = dns::kTypeMX;
  rr.rdata = {0, 10, 5, 'a'};
  CHECK(rr.data_text() == "\\# 4 000A0561");
  CHECK_FALSE(rr.target());
  CHECK_FALSE(dns::rdata_well_formed(dns::kTypeMX, rr.rdata));
  CHECK(dns::rdata_well_formed(65280, rr.rdata));
  // A CAA tag outside RFC 8659's letters and digits is well-formed on the
  // wire but has no text form: generic, so the text still reads back.
  rr.type = dns::kTypeCAA;
  rr.rdata = {0, 2, 'a', ' ', 'x'};
  CHECK(dns::rdata_well_formed(dns::kTypeCAA, rr.rdata));
  CHECK(rr.data_text() == "\\# 5 0002612078");
  std::string why;
  auto again = dns::make_record("x.", dns::kTypeCAA, 1, rr.data_text(), "", &why);
  REQUIRE(again);
  CHECK(again->rdata == rr.rdata);
  // SOA timers use all 32 bits (only TTLs stop at 2^31-1).
  auto soa = dns::make_record("x.", dns::kTypeSOA, 1, "a. b. 4294967295 4294967295 1 1 1", "", &why);
  REQUIRE(soa);
  CHECK(soa->data_text() == "a. b. 4294967295 4294967295 1 1 1");
}

TEST_CASE("DNS make_record: names, origin and errors") {
  dns::ResourceRecord mx = record("@", dns::kTypeMX, "10 mail", "Example.com.");
  CHECK(mx.name == "Example.com");
  CHECK(mx.target() == "mail.Example.com");
  CHECK(mx.rclass == dns::kClassIN);
  CHECK(mx.ttl == 300);
  CHECK(record("www.example.org.", dns::kTypeA, "192.0.2.1", "example.com").name == "www.example.org");
  CHECK(record("www", dns::kTypeCNAME, "@", "example.com").target() == "example.com");
  dns::ResourceRecord srv = record("_sip._tcp", dns::kTypeSRV, "1 2 3 sip", "example.com");
  CHECK(srv.name == "_sip._tcp.example.com");
  CHECK(srv.target() == "sip.example.com");
  dns::ResourceRecord soa = record("@", dns::kTypeSOA, "ns1 admin.mail 5 6 7 8 9", "example.com");
  auto s = soa.soa();
  REQUIRE(s);
  CHECK(s->mname == "ns1.example.com");
  CHECK(s->rname == "admin.mail.example.com");
  CHECK((s->serial == 5 && s->refresh == 6 && s->retry == 7 && s->expire == 8 && s->minimum == 9));
  CHECK_FALSE(record("a", dns::kTypeA, "192.0.2.1").soa());
  CHECK_FALSE(record("a", dns::kTypeA, "192.0.2.1").target());

  struct Bad {
    std::uint16_t type;
    const char* data;
  };
  const Bad bad[] = {
      {dns::kTypeA, "192.0.2"},
      {dns::kTypeA, "192.0.2.1 extra"},
      {dns::kTypeA, ""},
      {dns::kTypeA, "\"192.0.2.1\""},
      {dns::kTypeAAAA, "192.0.2.1"},
      {dns::kTypeMX, "10"},
      {dns::kTypeMX, "70000 mail"},
      {dns::kTypeMX, "mail 10"},
      {dns::kTypeCNAME, "a..b"},
      {dns::kTypeTXT, ""},
      {dns::kTypeTXT, "\"unterminated"},
      {dns::kTypeTXT, "\"bad escape \\999\""},
      {dns::kTypeSOA, "ns1 admin 1 2 3 4"},
      {dns::kTypeSRV, "1 2 sip"},
      {dns::kTypeCAA, "0 is-sue \"x\""},
      {dns::kTypeCAA, "0 issue"},
      {dns::kTypeCAA, "256 issue \"x\""},
      {65280, "\\# 2 01"},
      {65280, "\\# 1 0G"},
      {65280, "anything"},
      {dns::kTypeA, "\\# 3 010203"},
      {dns::kTypeOPT, "\\# 0"},
      {dns::kTypeANY, "\\# 0"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.data);
    CAPTURE(b.type);
    std::string why;
    CHECK_FALSE(dns::make_record("x", b.type, 1, b.data, "example.com", &why));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  CHECK_FALSE(dns::make_record("a..b", dns::kTypeA, 1, "192.0.2.1", "", &why));
  CHECK(why.find("owner") != std::string::npos);
  CHECK_FALSE(dns::make_record("x", dns::kTypeTXT, 1, "\"" + std::string(256, 'a') + "\"", "", &why));
  CHECK(dns::make_record("x", dns::kTypeTXT, 1, "\"" + std::string(255, 'a') + "\"", "", &why));
}

TEST_CASE("DNS parse_ttl") {
  CHECK(dns::parse_ttl("0") == 0u);
  CHECK(dns::parse_ttl("3600") == 3600u);
  CHECK(dns::parse_ttl("1h30m") == 5400u);
  CHECK(dns::parse_ttl("2W") == 1209600u);
  CHECK(dns::parse_ttl("1d") == 86400u);
  CHECK(dns::parse_ttl("2147483647") == 2147483647u);
  CHECK_FALSE(dns::parse_ttl("2147483648"));
  CHECK_FALSE(dns::parse_ttl(""));
  CHECK_FALSE(dns::parse_ttl("1h30"));
  CHECK_FALSE(dns::parse_ttl("h"));
  CHECK_FALSE(dns::parse_ttl("-1"));
  CHECK_FALSE(dns::parse_ttl("IN"));
  CHECK_FALSE(dns::parse_ttl("99999999999999999999s"));
}

TEST_CASE("DNS round trip of every record type in every section") {
  dns::Message m;
  m.header.id = 0xbeef;
  m.header.qr = m.header.aa = m.header.rd = m.header.ra = m.header.ad = m.header.cd = true;
  m.header.opcode = 2;
  m.header.rcode = dns::kNxDomain;
  m.questions.push_back({"www.Example.com", dns::kTypeANY, dns::kClassIN});
  const std::pair<std::uint16_t, const char*> data[] = {
      {dns::kTypeA, "192.0.2.1"},
      {dns::kTypeAAAA, "2001:db8::1"},
      {dns::kTypeCNAME, "www.example.com."},
      {dns::kTypeNS, "ns1.example.com."},
      {dns::kTypePTR, "host.example.com."},
      {dns::kTypeMX, "10 mail.example.com."},
      {dns::kTypeTXT, "\"v=spf1 -all\" \"second\""},
      {dns::kTypeSOA, "ns1.example.com. hostmaster.example.com. 1 2 3 4 5"},
      {dns::kTypeSRV, "0 5 443 www.example.com."},
      {dns::kTypeCAA, "0 issue \"letsencrypt.org\""},
      {65280, "\\# 2 abcd"},
  };
  for (const auto& [type, text] : data) {
    m.answers.push_back(record("www.example.com", type, text));
    m.authority.push_back(record("example.com", type, text));
    m.additional.push_back(record("other.example.com", type, text));
  }
  Bytes wire = dns::build_message(m);
  dns::Message back;
  REQUIRE(parse(wire, back).status == dns::ParseStatus::Ok);
  CHECK(back.header.id == 0xbeef);
  CHECK((back.header.qr && back.header.aa && back.header.rd && back.header.ra && back.header.ad && back.header.cd));
  CHECK_FALSE(back.header.tc);
  CHECK(back.header.opcode == 2);
  CHECK(back.header.rcode == dns::kNxDomain);
  REQUIRE(back.questions.size() == 1);
  CHECK(back.questions[0].name == "www.Example.com");
  CHECK(back.questions[0].type == dns::kTypeANY);
  CHECK_FALSE(back.edns);
  const std::vector<dns::ResourceRecord>* sent[] = {&m.answers, &m.authority, &m.additional};
  const std::vector<dns::ResourceRecord>* got[] = {&back.answers, &back.authority, &back.additional};
  for (int s = 0; s < 3; ++s) {
    REQUIRE(got[s]->size() == sent[s]->size());
    for (std::size_t i = 0; i < sent[s]->size(); ++i) {
      const dns::ResourceRecord &a = (*sent[s])[i], &b = (*got[s])[i];
      CAPTURE(dns::type_name(a.type));
      CHECK(b.name == a.name);
      CHECK(b.type == a.type);
      CHECK(b.rclass == a.rclass);
      CHECK(b.ttl == a.ttl);
      CHECK(b.rdata == a.rdata);  // stored uncompressed again
      CHECK(b.data_text() == a.data_text());
    }
  }
}

TEST_CASE("DNS compression shrinks repeated names and parses back equal") {
  dns::Message m;
  m.header.qr = true;
  m.questions.push_back({"www.example.com", dns::kTypeMX, dns::kClassIN});
  for (int i = 0; i < 5; ++i) {
    m.answers.push_back(record("www.example.com", dns::kTypeMX, std::to_string(i) + " mx" + std::to_string(i) + ".example.com."));
    m.additional.push_back(record("mx" + std::to_string(i) + ".example.com", dns::kTypeA, "192.0.2.1"));
  }
  m.authority.push_back(record("example.com", dns::kTypeSOA, "ns.example.com. admin.example.com. 1 2 3 4 5"));
  std::size_t uncompressed = 12 + 17 + 4;
  for (const auto* section : {&m.answers, &m.authority, &m.additional})
    for (const dns::ResourceRecord& rr : *section) uncompressed += rr.name.size() + 2 + 10 + rr.rdata.size();
  Bytes wire = dns::build_message(m);
  // Header 12, question 21; each MX answer: owner pointer 2 + 10 + RDATA
  // (2 + "mxN" 4 + pointer 2); SOA: 2 + 10 + "ns"+ptr 5 + "admin"+ptr 8 +
  // 20; each A: 2 + 10 + 4. Every repeated suffix became a pointer.
  CHECK(wire.size() == 12 + 21 + 5 * 20 + 45 + 5 * 16);
  CHECK(wire.size() < uncompressed * 6 / 10);
  // The first answer's owner is a pointer to the question name at offset 12.
  CHECK(wire[12 + 17 + 4] == 0xc0);
  CHECK(wire[12 + 17 + 5] == 12);
  dns::Message back;
  REQUIRE(parse(wire, back).status == dns::ParseStatus::Ok);
  REQUIRE(back.answers.size() == 5);
  REQUIRE(back.additional.size() == 5);
  REQUIRE(back.authority.size() == 1);
  for (int i = 0; i < 5; ++i) {
    CHECK(back.answers[i].rdata == m.answers[i].rdata);
    CHECK(back.answers[i].target() == "mx" + std::to_string(i) + ".example.com");
    CHECK(back.additional[i].name == m.additional[i].name);
  }
  CHECK(back.authority[0].rdata == m.authority[0].rdata);
  // Building the parsed message again gives the same bytes.
  CHECK(dns::build_message(back) == wire);
}

TEST_CASE("DNS compression keeps the case of each name") {
  dns::Message m;
  m.questions.push_back({"WwW.ExAmple.COM", dns::kTypeA, dns::kClassIN});
  m.answers.push_back(record("WwW.ExAmple.COM.", dns::kTypeA, "192.0.2.1"));
  m.answers.push_back(record("www.example.com.", dns::kTypeA, "192.0.2.2"));
  Bytes wire = dns::build_message(m);
  dns::Message back;
  REQUIRE(parse(wire, back).status == dns::ParseStatus::Ok);
  CHECK(back.questions[0].name == "WwW.ExAmple.COM");
  CHECK(back.answers[0].name == "WwW.ExAmple.COM");
  CHECK(back.answers[1].name == "www.example.com");
}

TEST_CASE("DNS SRV targets are not compressed (RFC 2782), CNAME targets are") {
  dns::Message m;
  m.questions.push_back({"_x._tcp.example.com", dns::kTypeSRV, dns::kClassIN});
  m.answers.push_back(record("_x._tcp.example.com", dns::kTypeSRV, "1 2 3 _x._tcp.example.com."));
  Bytes srv = dns::build_message(m);
  CHECK(srv.size() == 12 + 21 + 4 + 2 + 10 + 6 + 21);
  m.answers[0] = record("_x._tcp.example.com", dns::kTypeCNAME, "_x._tcp.example.com.");
  Bytes cname = dns::build_message(m);
  CHECK(cname.size() == 12 + 21 + 4 + 2 + 10 + 2);
}

TEST_CASE("DNS EDNS0 round trip") {
  dns::Message m;
  m.header.id = 7;
  m.header.rcode = 0;  // BADVERS = 16: low 4 bits 0, extended 1
  m.questions.push_back({"example.com", dns::kTypeA, dns::kClassIN});
  m.additional.push_back(record("example.com", dns::kTypeA, "192.0.2.1"));
  m.edns = dns::Edns{4096, 1, 0, true};
  Bytes wire = dns::build_message(m);
  CHECK(wire[11] == 2);  // ARCOUNT counts the OPT record
  dns::Message back;
  REQUIRE(parse(wire, back).status == dns::ParseStatus::Ok);
  REQUIRE(back.edns);
  CHECK(back.edns->udp_size == 4096);
  CHECK(back.edns->extended_rcode == 1);
  CHECK(back.edns->version == 0);
  CHECK(back.edns->dnssec_ok);
  CHECK(back.additional.size() == 1);  // OPT is not among the records
  CHECK(dns::rcode_name(back.edns->extended_rcode << 4 | back.header.rcode) == "BADVERS");

  // An OPT with options (a cookie) is accepted; an option running past
  // the RDATA is not.
  Bytes q = query_www();
  q[11] = 1;
  q.push_back(0);
  rr_fixed(q, dns::kTypeOPT, 12);
  q[q.size() - 8] = 0x04;  // class = udp size 1232
  q[q.size() - 7] = 0xd0;
  put16(q, 10);
  put16(q, 8);
  for (int i = 0; i < 8; ++i) q.push_back(static_cast<std::uint8_t>(i));
  REQUIRE(parse(q, back).status == dns::ParseStatus::Ok);
  CHECK(back.edns->udp_size == 1232);
  CHECK_FALSE(back.edns->dnssec_ok);
  q[q.size() - 9] = 9;  // option length 9 > 8 left
  check_malformed(q, "EDNS option");
}

TEST_CASE("DNS truncation sets TC and keeps the message parseable") {
  dns::Message m;
  m.header.id = 0x1234;
  m.questions.push_back({"big.example.com", dns::kTypeTXT, dns::kClassIN});
  for (int i = 0; i < 40; ++i) m.answers.push_back(record("big.example.com", dns::kTypeTXT, "\"" + std::string(30, 'x') + "\""));
  for (int i = 0; i < 5; ++i) m.additional.push_back(record("ns.example.com", dns::kTypeA, "192.0.2.1"));

  Bytes whole = dns::build_message(m, 512, false);
  CHECK(whole.size() > 512);
  Bytes cut = dns::build_message(m, 512);
  CHECK(cut.size() <= 512);
  dns::Message back;
  REQUIRE(parse(cut, back).status == dns::ParseStatus::Ok);
  CHECK(back.header.tc);
  CHECK(back.header.id == 0x1234);
  CHECK(back.questions.size() == 1);
  CHECK(back.answers.size() < 40);
  CHECK(back.answers.size() > 5);
  CHECK(back.additional.empty());  // dropped first

  m.edns = dns::Edns{};
  m.edns->udp_size = 1232;
  cut = dns::build_message(m, 600);
  CHECK(cut.size() <= 600);
  REQUIRE(parse(cut, back).status == dns::ParseStatus::Ok);
  CHECK(back.header.tc);
  CHECK(back.edns);  // OPT survives truncation
  CHECK(back.edns->udp_size == 1232);

  // Fits: no TC.
  Bytes fits = dns::build_message(m, 65535);
  REQUIRE(parse(fits, back).status == dns::ParseStatus::Ok);
  CHECK_FALSE(back.header.tc);
  CHECK(back.answers.size() == 40);
  CHECK(back.additional.size() == 5);

  // Only additional records over the limit: answers all stay.
  std::size_t without_one = fits.size() - 1;
  REQUIRE(parse(dns::build_message(m, without_one), back).status == dns::ParseStatus::Ok);
  CHECK(back.header.tc);
  CHECK(back.answers.size() == 40);
  CHECK(back.additional.size() == 4);

  // Not even the question fits: header and question, TC, nothing else.
  REQUIRE(parse(dns::build_message(m, 20), back).status == dns::ParseStatus::Ok);
  CHECK(back.header.tc);
  CHECK(back.answers.empty());
}

TEST_CASE("DNS parse of a real query and a compressed response") {
  Bytes q = query_www();
  dns::Message m;
  REQUIRE(parse(q, m).status == dns::ParseStatus::Ok);
  CHECK(m.header.id == 0x1234);
  CHECK(m.header.rd);
  CHECK_FALSE(m.header.qr);
  REQUIRE(m.questions.size() == 1);
  CHECK(m.questions[0].name == "www.example.com");
  CHECK(m.questions[0].type == dns::kTypeA);

  // Response: CNAME www -> web.example.com (compressed against the
  // question), then an MX whose exchange is a pointer into the CNAME data.
  Bytes r = header(0x1234, 1, 2);
  r[2] = 0x81;
  labels(r, {"www", "example", "com"});
  put16(r, dns::kTypeA);
  put16(r, dns::kClassIN);
  pointer(r, 12);
  rr_fixed(r, dns::kTypeCNAME, 6);
  std::size_t web = r.size();
  labels(r, {"web"}, false);
  pointer(r, 16);  // "example.com" inside the question
  pointer(r, 16);
  rr_fixed(r, dns::kTypeMX, 4);
  put16(r, 5);
  pointer(r, static_cast<std::uint16_t>(web));
  REQUIRE(parse(r, m).status == dns::ParseStatus::Ok);
  REQUIRE(m.answers.size() == 2);
  CHECK(m.answers[0].name == "www.example.com");
  CHECK(m.answers[0].data_text() == "web.example.com.");
  Bytes plain;
  dns::append_wire_name("web.example.com", plain);
  CHECK(m.answers[0].rdata == plain);
  CHECK(m.answers[1].name == "example.com");
  CHECK(m.answers[1].data_text() == "5 web.example.com.");
  CHECK(m.answers[1].rdata.size() == 2 + plain.size());
}

TEST_CASE("DNS malformed: short packets (CVE-2016-10195)") {
  dns::Message m;
  Bytes two{0x12, 0x34};
  CHECK(parse(two, m).status == dns::ParseStatus::ShortHeader);
  CHECK(parse(Bytes{}, m).status == dns::ParseStatus::ShortHeader);
  Bytes eleven(11, 0);
  CHECK(parse(eleven, m).status == dns::ParseStatus::ShortHeader);

  // The CVE's shape: a header claiming a question, then a label length
  // byte that runs past the end.
  Bytes b = header(0x1234, 1);
  b.push_back(0x3f);
  check_malformed(b);
  // The same with enough bytes to pass the count check: the label itself
  // must be caught.
  b.insert(b.end(), {'a', 'b', 'c', 'd'});
  check_malformed(b, "label runs past the end");
  b = header(0x1234, 1);
  b.push_back(0x05);
  b.push_back('a');
  check_malformed(b);
  b = header(0x1234, 1);
  b.push_back(0xc0);  // half a pointer
  check_malformed(b);
  // Name complete, type/class missing.
  b = header(0x1234, 1);
  labels(b, {"a"});
  put16(b, 1);
  check_malformed(b, "question");
  // A header only, claiming nothing, is fine.
  CHECK(parse(header(0x1234, 0), m).status == dns::ParseStatus::Ok);
}

TEST_CASE("DNS malformed: every prefix of a valid response fails cleanly") {
  dns::Message m;
  m.header.id = 0x1234;
  m.questions.push_back({"www.example.com", dns::kTypeA, dns::kClassIN});
  m.answers.push_back(record("www.example.com", dns::kTypeCNAME, "web.example.com."));
  m.answers.push_back(record("web.example.com", dns::kTypeMX, "10 web.example.com."));
  m.authority.push_back(record("example.com", dns::kTypeSOA, "ns.example.com. a.example.com. 1 2 3 4 5"));
  m.edns = dns::Edns{};
  Bytes wire = dns::build_message(m);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    CAPTURE(n);
    Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    dns::Message out;
    auto r = parse(prefix, out);
    CHECK(r.status == (n < 12 ? dns::ParseStatus::ShortHeader : dns::ParseStatus::Malformed));
  }
  // Every single-byte corruption parses or fails, never reads past the end
  // (the sanitizers watch).
  for (std::size_t i = 0; i < wire.size(); ++i)
    for (std::uint8_t v : {0x00, 0x01, 0x3f, 0x40, 0x80, 0xc0, 0xff}) {
      Bytes bad = wire;
      bad[i] = v;
      dns::Message out;
      parse(bad, out);
    }
}

TEST_CASE("DNS malformed: compression pointers that loop or point forward") {
  // Self-loop: the question name is a pointer to itself.
  Bytes b = header(0x1234, 1);
  pointer(b, 12);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "points forward");
  // A label followed by a pointer back to that label: a.a.a.a...
  b = header(0x1234, 1);
  labels(b, {"a"}, false);
  pointer(b, 12);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "points forward");
  // Forward pointer.
  b = header(0x1234, 1);
  pointer(b, 16);
  put16(b, 1);
  put16(b, 1);
  labels(b, {"x"});
  check_malformed(b, "points forward");
  // Two names pointing at each other: the first points forward.
  b = header(0x1234, 2);
  pointer(b, 18);
  put16(b, 1);
  put16(b, 1);
  pointer(b, 12);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "points forward");
  // A chain whose second jump goes up again (12 -> "x" + ptr 20? no: the
  // answer's name jumps back to the second question, which jumps forward
  // to the answer again).
  b = header(0x1234, 2, 1);
  labels(b, {"x"});  // 12..14
  put16(b, 1);
  put16(b, 1);
  std::size_t second = b.size();  // 19
  labels(b, {"y"}, false);
  pointer(b, 30);  // forward: into the answer below
  put16(b, 1);
  put16(b, 1);
  pointer(b, static_cast<std::uint16_t>(second));
  rr_fixed(b, dns::kTypeA, 4);
  put16(b, 0);
  put16(b, 0);
  check_malformed(b);
  // A pointer into the header.
  b = header(0x1234, 1);
  pointer(b, 4);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "header");
  // A reserved label type (0x80).
  b = header(0x1234, 1);
  b.push_back(0x80);
  b.push_back(1);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "label type");
}

TEST_CASE("DNS malformed: a 64-byte label and names over 255 bytes") {
  Bytes b = header(0x1234, 1);
  b.push_back(64);
  b.insert(b.end(), 64, 'a');
  b.push_back(0);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b);

  std::string l63(63, 'a');
  b = header(0x1234, 1);
  labels(b, {l63, l63, l63, l63});  // 4 * 64 + 1 = 257 bytes
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "255");

  // 255 exactly is fine: 3 * 64 + 62 + 1.
  b = header(0x1234, 1);
  labels(b, {l63, l63, l63, std::string(61, 'b')});
  put16(b, 1);
  put16(b, 1);
  dns::Message m;
  CHECK(parse(b, m).status == dns::ParseStatus::Ok);

  // Over 255 only after decompression: 128 + 128 + pointer.
  b = header(0x1234, 2);
  labels(b, {l63, l63});  // 129 bytes at 12
  put16(b, 1);
  put16(b, 1);
  labels(b, {l63, l63}, false);
  pointer(b, 12);
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "255");
}

TEST_CASE("DNS malformed: counts larger than the packet") {
  Bytes b = header(0x1234, 65535);
  labels(b, {"a"});
  put16(b, 1);
  put16(b, 1);
  check_malformed(b, "counts");
  b = query_www();
  b[7] = 1;  // ANCOUNT 1, no answer
  check_malformed(b);
  b = query_www();
  b[11] = 0xff;
  b[10] = 0xff;
  check_malformed(b, "counts");
}

TEST_CASE("DNS malformed: truncated and mis-sized RDATA") {
  // A with RDLENGTH 3.
  Bytes b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeA, 3);
  b.insert(b.end(), {192, 0, 2});
  check_malformed(b, "RDATA");
  // A with RDLENGTH 4 but two bytes in the packet.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeA, 4);
  b.insert(b.end(), {192, 0});
  check_malformed(b, "truncated RDATA");
  // AAAA with 4 bytes.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeAAAA, 4);
  b.insert(b.end(), {1, 2, 3, 4});
  check_malformed(b, "RDATA");
  // MX with only the preference and one byte of name.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeMX, 3);
  put16(b, 10);
  b.push_back(3);
  check_malformed(b);
  // MX whose name runs past its RDLENGTH (though not past the packet).
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeMX, 4);
  put16(b, 10);
  labels(b, {"mail"});
  check_malformed(b);
  // MX with bytes left over after the name.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeMX, 5);
  put16(b, 10);
  pointer(b, 12);
  b.push_back(0);
  check_malformed(b, "RDATA");
  // SOA missing its last number.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeSOA, 2 + 2 + 16);
  pointer(b, 12);
  pointer(b, 12);
  for (int i = 0; i < 8; ++i) put16(b, 1);
  check_malformed(b, "RDATA");
  // TXT whose string length runs past the RDATA; TXT with no string.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeTXT, 3);
  b.insert(b.end(), {5, 'a', 'b'});
  check_malformed(b, "RDATA");
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeTXT, 0);
  check_malformed(b, "RDATA");
  // CAA with an empty tag.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, dns::kTypeCAA, 2);
  b.insert(b.end(), {0, 0});
  check_malformed(b, "RDATA");
  // Unknown types take any RDATA.
  b = query_www();
  b[7] = 1;
  pointer(b, 12);
  rr_fixed(b, 65280, 3);
  b.insert(b.end(), {1, 2, 3});
  dns::Message m;
  REQUIRE(parse(b, m).status == dns::ParseStatus::Ok);
  CHECK(m.answers[0].data_text() == "\\# 3 010203");
}

TEST_CASE("DNS malformed: misplaced or repeated OPT") {
  Bytes opt;
  opt.push_back(0);
  rr_fixed(opt, dns::kTypeOPT, 0);
  Bytes b = query_www();
  b[7] = 1;  // OPT in the answer section
  b.insert(b.end(), opt.begin(), opt.end());
  check_malformed(b, "OPT");
  b = query_www();
  b[11] = 2;  // two OPTs
  b.insert(b.end(), opt.begin(), opt.end());
  b.insert(b.end(), opt.begin(), opt.end());
  check_malformed(b, "OPT");
  b = query_www();
  b[11] = 1;  // OPT owned by www.example.com
  pointer(b, 12);
  b.insert(b.end(), opt.begin() + 1, opt.end());
  check_malformed(b, "OPT");
}

TEST_SUITE_END();
