// Section 九's configuration files: resolv.conf (every evdns option, plus
// glibc's spelling), hosts, and zone files for `evtool dns serve`. Bad
// lines are reported with their number and never stop the good ones.
#include "engine/dns/config_files.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

namespace dns = ev::dns;

namespace {

bool has_warning(const std::vector<std::string>& warnings, std::string_view text) {
  for (const std::string& w : warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// A file that removes itself.
struct TempFile {
  explicit TempFile(std::string_view text) {
    char tmpl[] = "/tmp/evtool-dns-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    path = tmpl;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

const dns::ResourceRecord* find(const std::vector<dns::ResourceRecord>& records, std::string_view name,
                                std::uint16_t type) {
  for (const dns::ResourceRecord& rr : records)
    if (dns::names_equal(rr.name, name) && rr.type == type) return &rr;
  return nullptr;
}

}  // namespace

TEST_CASE("dns resolv.conf: every option") {
  auto conf = dns::parse_resolv_conf(
      "# comment\n"
      "; another comment\n"
      "nameserver 192.0.2.53\n"
      "nameserver 192.0.2.54:5353   # trailing comment\n"
      "nameserver [2001:db8::1]:5300\n"
      "nameserver 2001:db8::2\n"
      "domain example.com\n"
      "search a.example b.example.\tc\n"
      "options ndots:3 timeout:2.5 attempts:4 max-inflight:10\n"
      "options max-timeouts:7 randomize-case:1 bind-to:192.0.2.9 initial-probe-timeout:1\r\n"
      "options rotate edns0 trust-ad\n"
      "sortlist 130.155.160.0/255.255.240.0\n");
  CHECK(conf.warnings.empty());
  REQUIRE(conf.nameservers.size() == 4);
  CHECK(conf.nameservers[0].to_string() == "192.0.2.53:53");
  CHECK(conf.nameservers[1].to_string() == "192.0.2.54:5353");
  CHECK(conf.nameservers[2].to_string() == "[2001:db8::1]:5300");
  CHECK(conf.nameservers[3].to_string() == "[2001:db8::2]:53");
  CHECK(conf.search == std::vector<std::string>{"a.example", "b.example", "c"});  // search came last
  CHECK(conf.ndots == 3);
  CHECK(conf.timeout == std::chrono::microseconds(2500000));
  CHECK(conf.attempts == 4);
  CHECK(conf.max_inflight == 10);
  CHECK(conf.max_timeouts == 7);
  CHECK(conf.randomize_case);
  REQUIRE(conf.bind_to);
  CHECK(conf.bind_to->to_string() == "192.0.2.9:0");
  CHECK(conf.initial_probe_timeout == std::chrono::seconds(1));
}

TEST_CASE("dns resolv.conf: defaults, domain vs search") {
  auto empty = dns::parse_resolv_conf("");
  CHECK(empty.nameservers.empty());
  CHECK(empty.search.empty());
  CHECK(empty.ndots == 1);
  CHECK(empty.timeout == std::chrono::seconds(5));
  CHECK(empty.attempts == 2);
  CHECK(empty.max_inflight == 64);
  CHECK(empty.max_timeouts == 3);
  CHECK_FALSE(empty.randomize_case);
  CHECK_FALSE(empty.bind_to);
  CHECK(empty.initial_probe_timeout == std::chrono::seconds(10));

  CHECK(dns::parse_resolv_conf("domain example.com\n").search == std::vector<std::string>{"example.com"});
  CHECK(dns::parse_resolv_conf("search a b\ndomain x.org.\n").search == std::vector<std::string>{"x.org"});
  CHECK(dns::parse_resolv_conf("domain x.org\nsearch a b\n").search == std::vector<std::string>{"a", "b"});
  CHECK(dns::parse_resolv_conf("search .\n").search.empty());
  auto conf = dns::parse_resolv_conf("options randomize-case bind-to:[::1]:5353 ndots:40\n");
  CHECK(conf.randomize_case);
  CHECK(conf.bind_to->to_string() == "[::1]:5353");
  CHECK(conf.ndots == 15);  // glibc's cap
}

TEST_CASE("dns resolv.conf: bad values warn and keep the defaults") {
  auto conf = dns::parse_resolv_conf(
      "nameserver bogus\n"
      "nameserver 1.2.3.4:99999\n"
      "nameserver\n"
      "options foo ndots:x timeout:-1 attempts:0\n"
      "options max-inflight:0 max-timeouts:abc randomize-case:2 bind-to:nowhere\n"
      "options timeout: initial-probe-timeout:nan ndots:-1 attempts:1e3\n"
      "search a..b good\n"
      "frobnicate yes\n"
      "nameserver 192.0.2.1\n");
  REQUIRE(conf.nameservers.size() == 1);
  CHECK(conf.nameservers[0].to_string() == "192.0.2.1:53");
  CHECK(conf.search == std::vector<std::string>{"good"});
  CHECK(conf.ndots == 1);
  CHECK(conf.timeout == std::chrono::seconds(5));
  CHECK(conf.attempts == 2);
  CHECK(conf.max_inflight == 64);
  CHECK(conf.max_timeouts == 3);
  CHECK_FALSE(conf.randomize_case);
  CHECK_FALSE(conf.bind_to);
  CHECK(conf.initial_probe_timeout == std::chrono::seconds(10));
  CHECK(has_warning(conf.warnings, "line 1: bad nameserver address 'bogus'"));
  CHECK(has_warning(conf.warnings, "line 2: bad nameserver"));
  CHECK(has_warning(conf.warnings, "line 3: bad nameserver"));
  CHECK(has_warning(conf.warnings, "line 4: unknown option 'foo'"));
  CHECK(has_warning(conf.warnings, "line 4: bad value 'x' for ndots"));
  CHECK(has_warning(conf.warnings, "line 4: bad value '-1' for timeout"));
  CHECK(has_warning(conf.warnings, "line 4: bad value '0' for attempts"));
  CHECK(has_warning(conf.warnings, "line 5: bad value '0' for max-inflight"));
  CHECK(has_warning(conf.warnings, "line 5: bad value 'abc' for max-timeouts"));
  CHECK(has_warning(conf.warnings, "line 5: bad value '2' for randomize-case"));
  CHECK(has_warning(conf.warnings, "line 5: bad bind-to address 'nowhere'"));
  CHECK(has_warning(conf.warnings, "line 6: bad value '' for timeout"));
  CHECK(has_warning(conf.warnings, "line 6: bad value 'nan' for initial-probe-timeout"));
  CHECK(has_warning(conf.warnings, "line 7: bad search domain 'a..b'"));
  CHECK(has_warning(conf.warnings, "line 8: unknown keyword 'frobnicate'"));

  // Binary junk: no crash, some warnings.
  std::string junk;
  for (int i = 0; i < 512; ++i) junk += static_cast<char>((i * 37) & 0xff);
  dns::parse_resolv_conf(junk);
  dns::parse_resolv_conf(std::string("nameserver \0\0\0 1.2.3.4\noptions ndots:\0", 34));
}

TEST_CASE("dns resolv.conf: loading a file") {
  TempFile f("nameserver 127.0.0.1:5353\noptions attempts:3\n");
  std::string why;
  auto conf = dns::load_resolv_conf(f.path, &why);
  REQUIRE(conf);
  CHECK(conf->nameservers.size() == 1);
  CHECK(conf->attempts == 3);
  CHECK_FALSE(dns::load_resolv_conf("/nonexistent/resolv.conf", &why));
  CHECK(why.find("/nonexistent/resolv.conf") != std::string::npos);
}

TEST_CASE("dns hosts file: names, aliases, IPv6, comments") {
  std::vector<std::string> warnings;
  auto hosts = dns::HostsFile::parse(
      "# /etc/hosts\n"
      "127.0.0.1 localhost localhost.localdomain   # comment\n"
      "::1 localhost ip6-localhost\n"
      "\n"
      "192.0.2.10\twww.example.com www  alias.example.com\n"
      "192.0.2.11 WWW.example.com\n"
      "192.0.2.10 second.example.com\n"
      "bogus name\n"
      "192.0.2.12\n"
      "192.0.2.13 bad..name ok.example.com\n"
      "fe80::1%eth0 link\n",
      &warnings);
  CHECK(hosts.entries().size() == 10);
  CHECK(hosts.entries()[0].name == "localhost");
  CHECK(hosts.entries()[0].canonical);
  CHECK_FALSE(hosts.entries()[1].canonical);

  auto both = hosts.lookup("LOCALHOST", AF_UNSPEC);
  REQUIRE(both.size() == 2);
  CHECK(both[0].host() == "127.0.0.1");
  CHECK(both[1].host() == "::1");
  REQUIRE(hosts.lookup("localhost", AF_INET).size() == 1);
  REQUIRE(hosts.lookup("localhost", AF_INET6).size() == 1);
  CHECK(hosts.lookup("localhost", AF_INET6)[0].host() == "::1");
  auto www = hosts.lookup("www.example.com", AF_UNSPEC);
  REQUIRE(www.size() == 2);
  CHECK(www[0].host() == "192.0.2.10");
  CHECK(www[1].host() == "192.0.2.11");
  CHECK(hosts.lookup("alias.example.com.", AF_INET).size() == 1);
  CHECK(hosts.lookup("www", AF_INET).size() == 1);
  CHECK(hosts.lookup("ok.example.com", AF_INET).size() == 1);
  CHECK(hosts.lookup("missing.example.com", AF_UNSPEC).empty());
  CHECK(hosts.lookup("localhost", AF_INET6)[0].port() == 0);

  CHECK(hosts.reverse(*ev::parse_ip("192.0.2.10")) == "www.example.com");  // first canonical wins
  CHECK(hosts.reverse(*ev::parse_ip("::1")) == "localhost");
  CHECK(hosts.reverse(*ev::parse_ip("192.0.2.13")) == "ok.example.com");
  CHECK_FALSE(hosts.reverse(*ev::parse_ip("192.0.2.99")));

  CHECK(has_warning(warnings, "line 8: bad address 'bogus'"));
  CHECK(has_warning(warnings, "line 9: address without a name"));
  CHECK(has_warning(warnings, "line 10: bad host name 'bad..name'"));
  CHECK(has_warning(warnings, "line 11: bad address 'fe80::1%eth0'"));
  CHECK(warnings.size() == 4);

  std::string why;
  CHECK_FALSE(dns::HostsFile::load("/nonexistent/hosts", &why));
  TempFile f("10.0.0.1 db\n");
  auto loaded = dns::HostsFile::load(f.path, &why);
  REQUIRE(loaded);
  CHECK(loaded->lookup("db", AF_INET).size() == 1);
}

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
