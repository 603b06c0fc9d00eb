// Zone (master) files, RFC 1035 section 5, for `evtool dns serve`, and the
// one-line records of --record. Errors carry line numbers and never stop
// the good lines.
#include "engine/dns/zone_file.h"

#include <string>
#include <vector>

#include "dns_file_test_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

namespace dns = ev::dns;
using dnsfiles::has_warning;
using dnsfiles::TempFile;

namespace {

const dns::ResourceRecord* find(const std::vector<dns::ResourceRecord>& records, std::string_view name,
                                std::uint16_t type) {
  for (const dns::ResourceRecord& rr : records)
    if (dns::names_equal(rr.name, name) && rr.type == type) return &rr;
  return nullptr;
}

}  // namespace

TEST_CASE("dns zone file: a full example zone") {
  const char* text =
      "; example.com, the usual shape\n"
      "$ORIGIN example.com.\n"
      "$TTL 1h\n"
      "@   IN  SOA ns1.example.com. hostmaster.example.com. (\n"
      "        2024010101 ; serial\n"
      "        7200       ; refresh\n"
      "        3600       ; retry\n"
      "        1209600    ; expire\n"
      "        300 )      ; minimum\n"
      "    IN  NS  ns1\n"
      "    IN  NS  ns2.example.net.\n"
      "    IN  MX  10 mail\n"
      "\n"
      "ns1     A   192.0.2.1\n"
      "mail    60 IN A 192.0.2.2\n"
      "mail2   IN 120 A 192.0.2.3\n"
      "www     CNAME @\n"
      "v6      AAAA 2001:db8::1\n"
      "txt     TXT \"hello world\" \"semi; colon (not a paren\" plain ; a comment\n"
      "_sip._tcp SRV 10 60 5060 sip\n"
      "caa     CAA 0 issue \"letsencrypt.org\"\n"
      "$ORIGIN sub\n"
      "host    A 192.0.2.4\n"
      "        TXT \"owner reused\"\n"
      "abs.example.org. A 192.0.2.5\n"
      "@       A 192.0.2.8\n"
      "$TTL 600\n"
      "late    A 192.0.2.6\n"
      "multi   TXT ( \"line one\"\n"
      "              \"line two\" )\n"
      "esc\\.aped A 192.0.2.7\n";
  auto zone = dns::parse_zone(text, "ignored.org", 300, "example.zone");
  for (const std::string& e : zone.errors) MESSAGE(e);
  CHECK(zone.errors.empty());
  CHECK(zone.records.size() == 19);

  auto soa = find(zone.records, "example.com", dns::kTypeSOA);
  REQUIRE(soa);
  CHECK(soa->ttl == 3600);
  CHECK(soa->data_text() == "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300");
  int ns = 0;
  for (const auto& rr : zone.records)
    if (rr.type == dns::kTypeNS) {
      CHECK(rr.name == "example.com");  // blank owner: the SOA's
      ++ns;
    }
  CHECK(ns == 2);
  CHECK(zone.records[1].data_text() == "ns1.example.com.");
  CHECK(zone.records[2].data_text() == "ns2.example.net.");
  CHECK(find(zone.records, "example.com", dns::kTypeMX)->data_text() == "10 mail.example.com.");
  CHECK(find(zone.records, "ns1.example.com", dns::kTypeA)->data_text() == "192.0.2.1");
  CHECK(find(zone.records, "mail.example.com", dns::kTypeA)->ttl == 60);
  CHECK(find(zone.records, "mail2.example.com", dns::kTypeA)->ttl == 120);
  CHECK(find(zone.records, "www.example.com", dns::kTypeCNAME)->data_text() == "example.com.");
  CHECK(find(zone.records, "v6.example.com", dns::kTypeAAAA)->data_text() == "2001:db8::1");
  CHECK(find(zone.records, "txt.example.com", dns::kTypeTXT)->data_text() ==
        "\"hello world\" \"semi; colon (not a paren\" \"plain\"");
  CHECK(find(zone.records, "_sip._tcp.example.com", dns::kTypeSRV)->data_text() == "10 60 5060 sip.example.com.");
  CHECK(find(zone.records, "caa.example.com", dns::kTypeCAA)->data_text() == "0 issue \"letsencrypt.org\"");
  CHECK(find(zone.records, "host.sub.example.com", dns::kTypeA)->data_text() == "192.0.2.4");
  CHECK(find(zone.records, "host.sub.example.com", dns::kTypeTXT)->data_text() == "\"owner reused\"");
  CHECK(find(zone.records, "abs.example.org", dns::kTypeA));
  CHECK(find(zone.records, "sub.example.com", dns::kTypeA)->data_text() == "192.0.2.8");
  CHECK(find(zone.records, "late.sub.example.com", dns::kTypeA)->ttl == 600);
  CHECK(find(zone.records, "host.sub.example.com", dns::kTypeA)->ttl == 3600);
  CHECK(find(zone.records, "multi.sub.example.com", dns::kTypeTXT)->data_text() == "\"line one\" \"line two\"");
  CHECK(find(zone.records, "esc\\.aped.sub.example.com", dns::kTypeA));
  for (const auto& rr : zone.records) CHECK(rr.rclass == dns::kClassIN);
}

TEST_CASE("dns zone file: origin and TTL from the caller") {
  auto zone = dns::parse_zone("www A 192.0.2.1\n@ 30 TXT x\nCH-less IN A 192.0.2.2\n", "example.net", 77);
  CHECK(zone.errors.empty());
  REQUIRE(zone.records.size() == 3);
  CHECK(zone.records[0].name == "www.example.net");
  CHECK(zone.records[0].ttl == 77);
  CHECK(zone.records[1].name == "example.net");
  CHECK(zone.records[1].ttl == 30);
  auto ch = dns::parse_zone("version.bind. CH TXT \"1.0\"\n", "", 0);
  REQUIRE(ch.records.size() == 1);
  CHECK(ch.records[0].rclass == dns::kClassCH);
  auto any = dns::parse_zone("x ANY A 192.0.2.1\n", "", 0, "z");
  CHECK(any.records.empty());
  CHECK(any.errors == std::vector<std::string>{"z:1: class ANY is for queries only"});
}

TEST_CASE("dns zone file: errors carry line numbers, good lines still load") {
  const char* text =
      "good1 A 192.0.2.1\n"
      "bad1 A 999.0.0.1\n"
      "good2 A 192.0.2.2\n"
      "bad2 MX mail\n"
      "bad3 BOGUS data\n"
      "bad4 A 192.0.2.1 )\n"
      "$INCLUDE other.zone\n"
      "$TTL soon\n"
      "txt TXT \"unterminated\n"
      "bad5 A\n"
      "bad..name A 192.0.2.1\n"
      "$ORIGIN a..b\n"
      "good3 A 192.0.2.3\n"
      "bad6 TXT ( \"open\"\n"
      "    \"never closed\"\n";
  auto zone = dns::parse_zone(text, "example.com", 300, "zone.db");
  REQUIRE(zone.records.size() == 3);
  CHECK(zone.records[0].name == "good1.example.com");
  CHECK(zone.records[1].name == "good2.example.com");
  CHECK(zone.records[2].name == "good3.example.com");
  REQUIRE(zone.errors.size() == 11);
  CHECK(zone.errors[0] == "zone.db:2: bad A data '999.0.0.1'");
  CHECK(zone.errors[1].rfind("zone.db:4: bad MX data", 0) == 0);
  CHECK(zone.errors[2] == "zone.db:5: unknown type 'BOGUS'");
  CHECK(zone.errors[3] == "zone.db:6: unbalanced ')'");
  CHECK(zone.errors[4] == "zone.db:7: unsupported directive '$INCLUDE'");
  CHECK(zone.errors[5] == "zone.db:8: bad $TTL 'soon'");
  CHECK(zone.errors[6] == "zone.db:9: unterminated quoted string");
  CHECK(zone.errors[7].rfind("zone.db:10: bad A data", 0) == 0);
  CHECK(zone.errors[8] == "zone.db:11: bad owner name 'bad..name'");
  CHECK(zone.errors[9] == "zone.db:12: bad $ORIGIN 'a..b'");
  CHECK(zone.errors[10] == "zone.db:14: unbalanced '(' (missing ')')");

  auto first = dns::parse_zone("   A 192.0.2.1\n", "example.com", 300, "z");
  REQUIRE(first.errors.size() == 1);
  CHECK(first.errors[0] == "z:1: no previous owner for a line starting with white space");
  CHECK(first.records.empty());
}

TEST_CASE("dns zone file: loading a file") {
  TempFile f("$TTL 60\n@ NS ns\nns A 192.0.2.1\nbad A x\n");
  std::string why;
  auto zone = dns::load_zone(f.path, "example.com", 300, &why);
  REQUIRE(zone);
  CHECK(zone->records.size() == 2);
  REQUIRE(zone->errors.size() == 1);
  CHECK(zone->errors[0].rfind(f.path + ":4: ", 0) == 0);
  CHECK_FALSE(dns::load_zone("/nonexistent/zone", "example.com", 300, &why));
  CHECK_FALSE(why.empty());
}

TEST_CASE("dns zone file: records streamed to a sink") {
  TempFile f("$ORIGIN example.com.\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1\nbad A x\n");
  std::vector<std::string> names;
  std::string why;
  auto errors = dns::load_zone(f.path, "", 300, [&](dns::ResourceRecord& rr) { names.push_back(std::move(rr.name)); }, &why);
  REQUIRE(errors);
  CHECK(names == std::vector<std::string>{"example.com", "www.example.com"});
  REQUIRE(errors->size() == 1);
  CHECK(errors->at(0).rfind(f.path + ":4: ", 0) == 0);
}

TEST_CASE("dns zone file: only a regular file, at most kMaxZoneFile") {
  std::string why;
  CHECK_FALSE(dns::load_zone("/dev/zero", "example.com", 300, &why));
  CHECK(why == "/dev/zero: not a regular file");
  CHECK_FALSE(dns::load_zone("/", "example.com", 300, &why));
  CHECK(why == "/: not a regular file");
  TempFile f("www A 192.0.2.1\n");
  f.resize(dns::kMaxZoneFile + 1);
  CHECK_FALSE(dns::load_zone(f.path, "example.com", 300, &why));
  CHECK(why == f.path + ": larger than 1 GiB");
  f.resize(16);
  auto zone = dns::load_zone(f.path, "example.com", 300, &why);
  REQUIRE(zone);
  CHECK(zone->records.size() == 1);
}

TEST_CASE("dns parse_record_line: the CLI's --record forms") {
  std::string why;
  auto a = dns::parse_record_line("www.example.com 60 IN A 192.0.2.1", 300, &why);
  REQUIRE(a);
  CHECK(a->name == "www.example.com");
  CHECK(a->ttl == 60);
  CHECK(a->type == dns::kTypeA);
  CHECK(a->data_text() == "192.0.2.1");

  auto mx = dns::parse_record_line("example.com MX 10 mail.example.com", 300, &why);
  REQUIRE(mx);
  CHECK(mx->ttl == 300);
  CHECK(mx->data_text() == "10 mail.example.com.");

  auto txt = dns::parse_record_line("txt.example.com TXT \"hello world\"", 300, &why);
  REQUIRE(txt);
  CHECK(txt->data_text() == "\"hello world\"");

  auto semi = dns::parse_record_line("  t.example IN 5m TXT \"a; b\"  ", 1, &why);
  REQUIRE(semi);
  CHECK(semi->ttl == 300);
  CHECK(semi->data_text() == "\"a; b\"");

  auto soa = dns::parse_record_line("example.com. SOA ( ns hostmaster 1 2 3 4 5 )", 1, &why);
  REQUIRE(soa);
  CHECK(soa->data_text() == "ns. hostmaster. 1 2 3 4 5");

  for (const char* bad : {"", "www A", "www BOGUS x", "www A 1.2.3.4.5", "$TTL 5", "www TXT \"open", "a..b A 1.2.3.4"}) {
    CAPTURE(bad);
    why.clear();
    CHECK_FALSE(dns::parse_record_line(bad, 300, &why));
    CHECK_FALSE(why.empty());
  }
  CHECK(why == "bad owner name 'a..b'");
}

TEST_SUITE_END();
