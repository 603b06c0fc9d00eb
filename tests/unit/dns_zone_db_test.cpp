// ZoneDb: the rules `evtool dns serve` answers by. AA on our data,
// NXDOMAIN and NODATA with the zone's SOA (its TTL capped at the SOA
// minimum, RFC 2308), empty non-terminals, REFUSED for names outside our
// data, CNAME chains followed within it (and loops bounded), the
// question's case echoed, ANY, MX glue, hosts and localhost records.
#include "engine/dns/zone_db.h"

#include <string>
#include <vector>

#include "dns_test_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using namespace dnstest;

namespace {

dns::ZoneDb example_zone() {
  dns::ZoneDb db;
  db.add(record("example.com", dns::kTypeSOA, "ns.example.com. admin.example.com. 1 7200 900 1209600 300", 3600));
  db.add(record("example.com", dns::kTypeNS, "ns.example.com."));
  db.add(record("example.com", dns::kTypeMX, "10 mail.example.com."));
  db.add(record("ns.example.com", dns::kTypeA, "192.0.2.53"));
  db.add(record("mail.example.com", dns::kTypeA, "192.0.2.25"));
  db.add(record("mail.example.com", dns::kTypeAAAA, "2001:db8::25"));
  db.add(record("www.example.com", dns::kTypeA, "192.0.2.80"));
  db.add(record("www.example.com", dns::kTypeA, "192.0.2.81"));
  db.add(record("alias.example.com", dns::kTypeCNAME, "www.example.com."));
  db.add(record("alias2.example.com", dns::kTypeCNAME, "alias.example.com."));
  db.add(record("away.example.com", dns::kTypeCNAME, "www.elsewhere.test."));
  db.add(record("dangling.example.com", dns::kTypeCNAME, "missing.example.com."));
  db.add(record("loop1.example.com", dns::kTypeCNAME, "loop2.example.com."));
  db.add(record("loop2.example.com", dns::kTypeCNAME, "loop1.example.com."));
  db.add(record("host.sub.example.com", dns::kTypeA, "192.0.2.9"));  // sub.example.com: empty non-terminal
  return db;
}

struct Answer {
  dns::ZoneDb::Outcome outcome;
  dns::Message reply;
};

Answer ask(const dns::ZoneDb& db, std::string_view name, std::uint16_t type) {
  Answer a;
  a.outcome = db.answer({std::string(name), type, dns::kClassIN}, a.reply);
  return a;
}

std::vector<std::string> texts(const std::vector<dns::ResourceRecord>& rrs) {
  std::vector<std::string> out;
  for (const dns::ResourceRecord& rr : rrs) out.push_back(rr.name + " " + dns::type_name(rr.type) + " " + rr.data_text());
  return out;
}

}  // namespace

TEST_CASE("dns zone: bookkeeping") {
  dns::ZoneDb db;
  CHECK(db.empty());
  db = example_zone();
  CHECK_FALSE(db.empty());
  CHECK(db.size() == 15);
  db.add(record("www.example.com", dns::kTypeA, "192.0.2.80"));  // the same again
  CHECK(db.size() == 15);
  CHECK(db.zones() == std::vector<std::string>{"example.com"});
  db.add(record("Other.TEST", dns::kTypeSOA, "ns.other.test. admin.other.test. 1 2 3 4 5"));
  CHECK(db.zones() == std::vector<std::string>{"example.com", "other.test"});
}

TEST_CASE("dns zone: answers from our data are authoritative, in the question's case") {
  dns::ZoneDb db = example_zone();
  Answer a = ask(db, "WWW.Example.COM", dns::kTypeA);
  CHECK(a.outcome == dns::ZoneDb::Outcome::Answered);
  CHECK(a.reply.header.aa);
  CHECK(a.reply.header.rcode == dns::kNoError);
  CHECK(texts(a.reply.answers) ==
        std::vector<std::string>{"WWW.Example.COM A 192.0.2.80", "WWW.Example.COM A 192.0.2.81"});
  CHECK(a.reply.authority.empty());
}

TEST_CASE("dns zone: NXDOMAIN and NODATA carry the SOA, its TTL capped at the minimum") {
  dns::ZoneDb db = example_zone();
  Answer nx = ask(db, "nothing.example.com", dns::kTypeA);
  CHECK(nx.outcome == dns::ZoneDb::Outcome::Answered);
  CHECK(nx.reply.header.rcode == dns::kNxDomain);
  CHECK(nx.reply.header.aa);
  CHECK(nx.reply.answers.empty());
  REQUIRE(nx.reply.authority.size() == 1);
  CHECK(nx.reply.authority[0].type == dns::kTypeSOA);
  CHECK(dns::names_equal(nx.reply.authority[0].name, "example.com"));
  CHECK(nx.reply.authority[0].ttl == 300);  // 3600 capped at the minimum

  Answer deeper = ask(db, "a.b.nothing.example.com", dns::kTypeTXT);
  CHECK(deeper.reply.header.rcode == dns::kNxDomain);

  Answer nodata = ask(db, "www.example.com", dns::kTypeAAAA);
  CHECK(nodata.reply.header.rcode == dns::kNoError);
  CHECK(nodata.reply.header.aa);
  CHECK(nodata.reply.answers.empty());
  REQUIRE(nodata.reply.authority.size() == 1);
  CHECK(nodata.reply.authority[0].type == dns::kTypeSOA);

  dns::ZoneDb low;  // a TTL already below the minimum stays
  low.add(record("low.test", dns::kTypeSOA, "ns.low.test. admin.low.test. 1 2 3 4 600", 60));
  CHECK(ask(low, "x.low.test", dns::kTypeA).reply.authority.at(0).ttl == 60);
}

TEST_CASE("dns zone: an empty non-terminal is NODATA, not NXDOMAIN") {
  dns::ZoneDb db = example_zone();
  Answer a = ask(db, "sub.example.com", dns::kTypeA);
  CHECK(a.outcome == dns::ZoneDb::Outcome::Answered);
  CHECK(a.reply.header.rcode == dns::kNoError);
  CHECK(a.reply.answers.empty());
  CHECK(a.reply.authority.size() == 1);
  CHECK(ask(db, "SUB.example.com", dns::kTypeA).reply.header.rcode == dns::kNoError);
  CHECK(ask(db, "ub.example.com", dns::kTypeA).reply.header.rcode == dns::kNxDomain);  // a suffix is not a label
}

TEST_CASE("dns zone: names outside our data are not ours (REFUSED or forwarded)") {
  dns::ZoneDb db = example_zone();
  db.add(record("loose.test", dns::kTypeA, "192.0.2.44"));  // a --record outside any zone
  Answer out = ask(db, "www.other.test", dns::kTypeA);
  CHECK(out.outcome == dns::ZoneDb::Outcome::NotOurs);
  CHECK(out.reply.answers.empty());
  CHECK(ask(db, "com", dns::kTypeA).outcome == dns::ZoneDb::Outcome::NotOurs);
  CHECK(ask(db, "notexample.com", dns::kTypeA).outcome == dns::ZoneDb::Outcome::NotOurs);

  Answer loose = ask(db, "loose.test", dns::kTypeA);
  CHECK(loose.outcome == dns::ZoneDb::Outcome::Answered);
  CHECK(loose.reply.header.aa);
  CHECK(texts(loose.reply.answers) == std::vector<std::string>{"loose.test A 192.0.2.44"});
  Answer loose_nodata = ask(db, "loose.test", dns::kTypeAAAA);
  CHECK(loose_nodata.outcome == dns::ZoneDb::Outcome::Answered);
  CHECK(loose_nodata.reply.header.rcode == dns::kNoError);
  CHECK(loose_nodata.reply.answers.empty());
  CHECK(ask(db, "x.loose.test", dns::kTypeA).outcome == dns::ZoneDb::Outcome::NotOurs);
}

TEST_CASE("dns zone: CNAME chains") {
  dns::ZoneDb db = example_zone();
  SUBCASE("followed within our data") {
    Answer a = ask(db, "Alias2.example.com", dns::kTypeA);
    CHECK(a.reply.header.rcode == dns::kNoError);
    CHECK(texts(a.reply.answers) == std::vector<std::string>{
                                        "Alias2.example.com CNAME alias.example.com.",
                                        "alias.example.com CNAME www.example.com.",
                                        "www.example.com A 192.0.2.80",
                                        "www.example.com A 192.0.2.81",
                                    });
  }
  SUBCASE("asking for the CNAME itself") {
    Answer a = ask(db, "alias.example.com", dns::kTypeCNAME);
    CHECK(texts(a.reply.answers) == std::vector<std::string>{"alias.example.com CNAME www.example.com."});
  }
  SUBCASE("leaving our data: the CNAME alone") {
    Answer a = ask(db, "away.example.com", dns::kTypeA);
    CHECK(a.reply.header.rcode == dns::kNoError);
    CHECK(texts(a.reply.answers) == std::vector<std::string>{"away.example.com CNAME www.elsewhere.test."});
  }
  SUBCASE("to a missing name in our zone: NXDOMAIN, the CNAME and the SOA") {
    Answer a = ask(db, "dangling.example.com", dns::kTypeA);
    CHECK(a.reply.header.rcode == dns::kNxDomain);
    CHECK(a.reply.answers.size() == 1);
    CHECK(a.reply.authority.size() == 1);
  }
  SUBCASE("to a name lacking the type: NODATA after the chain") {
    Answer a = ask(db, "alias.example.com", dns::kTypeMX);
    CHECK(a.reply.header.rcode == dns::kNoError);
    CHECK(a.reply.answers.size() == 1);
    CHECK(a.reply.authority.size() == 1);
  }
  SUBCASE("a loop ends") {
    Answer a = ask(db, "loop1.example.com", dns::kTypeA);
    CHECK(a.outcome == dns::ZoneDb::Outcome::Answered);
    CHECK_FALSE(a.reply.answers.empty());
    CHECK(a.reply.answers.size() <= 10);
    for (const dns::ResourceRecord& rr : a.reply.answers) CHECK(rr.type == dns::kTypeCNAME);
  }
}

TEST_CASE("dns zone: ANY, and MX glue in the additional section") {
  dns::ZoneDb db = example_zone();
  Answer any = ask(db, "example.com", dns::kTypeANY);
  CHECK(any.reply.header.aa);
  CHECK(any.reply.answers.size() == 3);  // SOA, NS, MX
  Answer any_mail = ask(db, "mail.example.com", dns::kTypeANY);
  CHECK(texts(any_mail.reply.answers) ==
        std::vector<std::string>{"mail.example.com A 192.0.2.25", "mail.example.com AAAA 2001:db8::25"});

  Answer mx = ask(db, "example.com", dns::kTypeMX);
  CHECK(texts(mx.reply.answers) == std::vector<std::string>{"example.com MX 10 mail.example.com."});
  CHECK(texts(mx.reply.additional) ==
        std::vector<std::string>{"mail.example.com A 192.0.2.25", "mail.example.com AAAA 2001:db8::25"});
  Answer ns = ask(db, "example.com", dns::kTypeNS);
  CHECK(texts(ns.reply.additional) == std::vector<std::string>{"ns.example.com A 192.0.2.53"});
  CHECK(ask(db, "www.example.com", dns::kTypeA).reply.additional.empty());
}

TEST_CASE("dns zone: the closest enclosing zone answers, and empty non-terminals at any depth") {
  dns::ZoneDb db;
  db.add(record("example.com", dns::kTypeSOA, "ns.example.com. a.example.com. 1 2 3 4 100"));
  db.add(record("Sub.Example.com", dns::kTypeSOA, "ns.sub.example.com. a.example.com. 1 2 3 4 200"));
  db.add(record("a.b.c.d.sub.example.com", dns::kTypeA, "192.0.2.1"));
  db.add(record("x\\.y.example.com", dns::kTypeA, "192.0.2.2"));  // one label "x.y" (escaped dot)
  Answer in_sub = ask(db, "nothing.sub.example.com", dns::kTypeA);
  CHECK(in_sub.reply.header.rcode == dns::kNxDomain);
  REQUIRE(in_sub.reply.authority.size() == 1);
  CHECK(in_sub.reply.authority[0].name == "Sub.Example.com");  // as written
  CHECK(in_sub.reply.authority[0].ttl == 60);
  for (const char* ent : {"b.c.d.sub.example.com", "C.D.sub.example.com", "d.sub.example.com"}) {
    CAPTURE(ent);
    Answer a = ask(db, ent, dns::kTypeA);
    CHECK(a.reply.header.rcode == dns::kNoError);
    CHECK(a.reply.answers.empty());
    CHECK(a.reply.authority.at(0).name == "Sub.Example.com");
  }
  CHECK(ask(db, "y.example.com", dns::kTypeA).reply.header.rcode == dns::kNxDomain);  // not above "x\\.y"
  CHECK(ask(db, "x\\.y.example.com", dns::kTypeA).reply.answers.size() == 1);
  CHECK(ask(db, "other.test", dns::kTypeA).outcome == dns::ZoneDb::Outcome::NotOurs);

  dns::ZoneDb root;  // the root zone holds every name
  root.add(record(".", dns::kTypeSOA, "ns. a. 1 2 3 4 5"));
  CHECK(ask(root, "anything.test", dns::kTypeA).reply.header.rcode == dns::kNxDomain);
  CHECK(ask(root, "", dns::kTypeSOA).reply.answers.size() == 1);
}

TEST_CASE("dns zone: records keep the spelling they were added with") {
  dns::ZoneDb db;
  db.add(record("example.com", dns::kTypeSOA, "ns.example.com. a.example.com. 1 2 3 4 5"));
  db.add(record("example.com", dns::kTypeMX, "10 mail.example.com."));
  db.add(record("mail.example.com", dns::kTypeA, "192.0.2.25"));
  db.add(record("MAIL.example.com", dns::kTypeAAAA, "2001:db8::25"));
  db.add(record("Mail.example.com", dns::kTypeA, "192.0.2.25"));  // the same record: not added
  CHECK(db.size() == 4);
  CHECK(texts(ask(db, "example.com", dns::kTypeMX).reply.additional) ==
        std::vector<std::string>{"mail.example.com A 192.0.2.25", "MAIL.example.com AAAA 2001:db8::25"});
}

TEST_CASE("dns zone: a name with many records") {
  dns::ZoneDb db;
  for (int round = 0; round < 2; ++round)  // the second round adds nothing
    for (int i = 0; i < 300; ++i) db.add(record("many.test", dns::kTypeTXT, "\"" + std::to_string(i) + "\""));
  db.add(record("many.test", dns::kTypeA, "192.0.2.1"));
  CHECK(db.size() == 301);
  Answer txt = ask(db, "many.test", dns::kTypeTXT);
  REQUIRE(txt.reply.answers.size() == 300);
  CHECK(txt.reply.answers[0].data_text() == "\"0\"");  // in the order added
  CHECK(txt.reply.answers[299].data_text() == "\"299\"");
}

TEST_CASE("dns zone: many names") {
  dns::ZoneDb db;
  db.add(record("big.test", dns::kTypeSOA, "ns.big.test. a.big.test. 1 2 3 4 5"));
  for (int i = 0; i < 200000; ++i) {
    dns::ResourceRecord rr;
    rr.name = "h" + std::to_string(i) + ".n" + std::to_string(i % 100) + ".big.test";
    rr.rdata = {192, 0, 2, static_cast<std::uint8_t>(i)};
    db.add(rr);
  }
  CHECK(db.size() == 200001);
  CHECK(texts(ask(db, "H199999.n99.big.test", dns::kTypeA).reply.answers) ==
        std::vector<std::string>{"H199999.n99.big.test A 192.0.2.63"});
  CHECK(ask(db, "h199999.n98.big.test", dns::kTypeA).reply.header.rcode == dns::kNxDomain);
  CHECK(ask(db, "n42.big.test", dns::kTypeA).reply.header.rcode == dns::kNoError);
  CHECK(ask(db, "n100.big.test", dns::kTypeA).reply.header.rcode == dns::kNxDomain);
}

TEST_CASE("dns zone: owner names in canonical order (RFC 4034 6.1)") {
  dns::ZoneDb db;
  // RFC 4034's example, shuffled.
  for (const char* name : {"z.example", "\\001.z.example", "example", "*.z.example", "yljkjljk.a.example",
                           "zABC.a.EXAMPLE", "\\200.z.example", "Z.a.example", "a.example", "\\000.z.example"})
    db.add(record(name, dns::kTypeA, "192.0.2.1"));
  std::vector<std::string_view> order = db.canonical_names();
  CHECK(order == std::vector<std::string_view>{"example", "a.example", "yljkjljk.a.example", "Z.a.example",
                                               "zABC.a.EXAMPLE", "z.example", "\\000.z.example",
                                               "\\001.z.example", "*.z.example", "\\200.z.example"});
}

TEST_CASE("dns zone: hosts entries and localhost") {
  dns::ZoneDb db;
  db.add_hosts(dns::HostsFile::parse("192.0.2.7 myhost alias\n2001:db8::7 myhost\n"), 120);
  db.add_localhost(86400);
  CHECK(texts(ask(db, "myhost", dns::kTypeA).reply.answers) == std::vector<std::string>{"myhost A 192.0.2.7"});
  CHECK(ask(db, "myhost", dns::kTypeA).reply.answers.at(0).ttl == 120);
  CHECK(texts(ask(db, "ALIAS", dns::kTypeA).reply.answers) == std::vector<std::string>{"ALIAS A 192.0.2.7"});
  CHECK(texts(ask(db, "myhost", dns::kTypeAAAA).reply.answers) == std::vector<std::string>{"myhost AAAA 2001:db8::7"});
  db.add_hosts(dns::HostsFile::parse("192.0.2.8 Dotted.Test.\n"), 120);  // a final dot: the PTR still made
  CHECK(texts(ask(db, "8.2.0.192.in-addr.arpa", dns::kTypePTR).reply.answers) ==
        std::vector<std::string>{"8.2.0.192.in-addr.arpa PTR Dotted.Test."});
  // PTR for the canonical name only.
  CHECK(texts(ask(db, "7.2.0.192.in-addr.arpa", dns::kTypePTR).reply.answers) ==
        std::vector<std::string>{"7.2.0.192.in-addr.arpa PTR myhost."});
  auto v6 = dns::reverse_name("2001:db8::7");
  REQUIRE(v6);
  CHECK(ask(db, *v6, dns::kTypePTR).reply.answers.at(0).data_text() == "myhost.");

  CHECK(texts(ask(db, "localhost", dns::kTypeA).reply.answers) == std::vector<std::string>{"localhost A 127.0.0.1"});
  CHECK(texts(ask(db, "localhost", dns::kTypeAAAA).reply.answers) == std::vector<std::string>{"localhost AAAA ::1"});
  CHECK(ask(db, "1.0.0.127.in-addr.arpa", dns::kTypePTR).reply.answers.at(0).data_text() == "localhost.");
  CHECK(ask(db, *dns::reverse_name("::1"), dns::kTypePTR).reply.answers.at(0).data_text() == "localhost.");
  CHECK(ask(db, "localhost", dns::kTypeA).reply.header.aa);
  CHECK(ask(db, "otherhost", dns::kTypeA).outcome == dns::ZoneDb::Outcome::NotOurs);
}

TEST_SUITE_END();
