// hosts(5): names, aliases, IPv6, comments; bad lines are reported with
// their number and never stop the good ones.
#include "engine/dns/hosts_file.h"

#include <sys/socket.h>

#include <string>
#include <vector>

#include "dns_file_test_util.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

namespace dns = ev::dns;
using dnsfiles::has_warning;
using dnsfiles::TempFile;

TEST_CASE("dns hosts file: names in presentation form, without a final dot") {
  auto hosts = dns::HostsFile::parse("192.0.2.1 Www.Example.COM. a\\065b x\\.y\n");
  REQUIRE(hosts.entries().size() == 3);
  CHECK(hosts.entries()[0].name == "Www.Example.COM");
  CHECK(hosts.entries()[1].name == "aAb");
  CHECK(hosts.entries()[2].name == "x\\.y");
  CHECK(hosts.reverse(*ev::parse_ip("192.0.2.1")) == "Www.Example.COM");
  CHECK(hosts.lookup("www.example.com.", AF_INET).size() == 1);
  CHECK(hosts.lookup("AAB", AF_INET).size() == 1);
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

  CHECK_FALSE(dns::HostsFile::load("/dev/zero", &why));
  CHECK(why == "/dev/zero: not a regular file");
  f.resize(dns::kMaxHostsFile + 1);
  CHECK_FALSE(dns::HostsFile::load(f.path, &why));
  CHECK(why == f.path + ": larger than 64 MiB");
}

TEST_SUITE_END();
