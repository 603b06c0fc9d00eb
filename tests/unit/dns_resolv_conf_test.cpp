// resolv.conf(5): every evdns option, plus glibc's spelling. Bad lines are
// reported with their number and never stop the good ones.
#include "engine/dns/resolv_conf.h"

#include <string>
#include <vector>

#include "dns_file_test_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

namespace dns = ev::dns;
using dnsfiles::has_warning;
using dnsfiles::TempFile;

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
  auto empty = dns::load_resolv_conf("/dev/null", &why);  // any file: /dev/null is an empty one
  REQUIRE(empty);
  CHECK(empty->nameservers.empty());
  f.resize(dns::kMaxResolvConf + 1);
  CHECK_FALSE(dns::load_resolv_conf(f.path, &why));
  CHECK(why == f.path + ": larger than 64 MiB");
}

TEST_SUITE_END();
