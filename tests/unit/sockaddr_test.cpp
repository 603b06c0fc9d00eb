// Socket address parsing (evutil_parse_sockaddr_port and the
// over-long "[...]" input of CVE-2016-10196) and printing.
#include "engine/util/sockaddr.h"

#include <arpa/inet.h>

#include <string>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

TEST_CASE("parse_sockaddr_port accepts IP literals with and without a port") {
  struct Case {
    const char* text;
    int family;
    const char* host;
    int port;
  };
  const Case cases[] = {
      {"1.2.3.4", AF_INET, "1.2.3.4", 0},
      {"1.2.3.4:80", AF_INET, "1.2.3.4", 80},
      {"0.0.0.0:0", AF_INET, "0.0.0.0", 0},
      {"255.255.255.255:65535", AF_INET, "255.255.255.255", 65535},
      {"[::1]:80", AF_INET6, "::1", 80},
      {"[::1]", AF_INET6, "::1", 0},
      {"::1", AF_INET6, "::1", 0},
      {"ffff::", AF_INET6, "ffff::", 0},
      {"[ffff::]", AF_INET6, "ffff::", 0},
      {"[2001:db8::17]:8080", AF_INET6, "2001:db8::17", 8080},
      {"[::ffff:1.2.3.4]:443", AF_INET6, "::ffff:1.2.3.4", 443},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    std::string why;
    auto addr = ev::parse_sockaddr_port(c.text, 0, &why);
    REQUIRE(addr);
    CHECK(why.empty());
    CHECK(addr->family() == c.family);
    CHECK(addr->host() == c.host);
    CHECK(addr->port() == c.port);
    CHECK(addr->length == (c.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
  }
}

TEST_CASE("parse_sockaddr_port uses the default port only when none is given") {
  CHECK(ev::parse_sockaddr_port("1.2.3.4", 8080)->port() == 8080);
  CHECK(ev::parse_sockaddr_port("[::1]", 53)->port() == 53);
  CHECK(ev::parse_sockaddr_port("::1", 53)->port() == 53);
  CHECK(ev::parse_sockaddr_port("1.2.3.4:80", 8080)->port() == 80);
  CHECK(ev::parse_sockaddr_port("[::1]:0", 53)->port() == 0);
}

TEST_CASE("parse_sockaddr_port rejects garbage") {
  const std::string long_bracket = "[" + std::string(998, 'a') + "]";  // CVE-2016-10196
  const std::string sixty = "[" + std::string(60, 'a') + "]:80";
  const std::string long_v6 = "[" + std::string(60, ':') + "]:80";
  const std::string huge(100000, '1');
  const std::string rejected[] = {
      "",
      "1.2.3.4:",
      "1.2.3.4:65536",
      "1.2.3.4:99999999999",
      "1.2.3.4:-1",
      "1.2.3.4: 80",
      ":80",
      ":",
      "[::1",
      "[::1]x",
      "[::1]:",
      "[::1]:80x",
      "[1.2.3.4]:80",
      "[1.2.3.4]",
      "[]",
      "[]:80",
      "host:80",
      "localhost",
      "1.2.3.4:80x",
      "1.2.3.4.5",
      "1.2.3",
      " 1.2.3.4",
      "1.2.3.4 ",
      "::1]",
      "[[::1]]:80",
      "1:2:3:4:5:6:7:8:9",
      long_bracket,
      sixty,
      long_v6,
      huge,
      std::string("1.2.3.4\0:80", 11),
  };
  for (const std::string& text : rejected) {
    CAPTURE(text.substr(0, 80));
    std::string why;
    CHECK_FALSE(ev::parse_sockaddr_port(text, 0, &why));
    CHECK_FALSE(why.empty());
  }
  CHECK_FALSE(ev::parse_sockaddr_port("[::1"));  // `why` is optional
}

TEST_CASE("parse_sockaddr_port says why") {
  std::string why;
  ev::parse_sockaddr_port("", 0, &why);
  CHECK(why == "empty address");
  ev::parse_sockaddr_port("[::1", 0, &why);
  CHECK(why == "missing ']'");
  ev::parse_sockaddr_port("1.2.3.4:65536", 0, &why);
  CHECK(why == "bad port");
  ev::parse_sockaddr_port("host:80", 0, &why);
  CHECK(why == "not an IP address");
  ev::parse_sockaddr_port("[" + std::string(998, 'a') + "]", 0, &why);
  CHECK(why == "address too long");
}

TEST_CASE("to_string round trips through parse_sockaddr_port") {
  for (const char* text : {"1.2.3.4:80", "127.0.0.1:0", "[::1]:80", "[2001:db8::1]:65535", "[::]:53"}) {
    CAPTURE(text);
    auto addr = ev::parse_sockaddr_port(text);
    REQUIRE(addr);
    CHECK(addr->to_string() == text);
    auto again = ev::parse_sockaddr_port(addr->to_string());
    REQUIRE(again);
    CHECK(again->length == addr->length);
    CHECK(again->to_string() == addr->to_string());
  }
  // Non-canonical input prints canonically.
  CHECK(ev::parse_sockaddr_port("[2001:0db8:0000::0001]:80")->to_string() == "[2001:db8::1]:80");
  CHECK(ev::parse_sockaddr_port("::1")->to_string() == "[::1]:0");
}

TEST_CASE("SocketAddress: set_port and from()") {
  auto v4 = ev::parse_sockaddr_port("10.0.0.1:1");
  REQUIRE(v4);
  v4->set_port(4242);
  CHECK(v4->port() == 4242);
  CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(v4->sa())->sin_port) == 4242);

  auto v6 = ev::parse_sockaddr_port("[fe80::1]:1");
  REQUIRE(v6);
  v6->set_port(65535);
  CHECK(v6->to_string() == "[fe80::1]:65535");

  ev::SocketAddress copy = ev::SocketAddress::from(v6->sa(), v6->length);
  CHECK(copy.to_string() == "[fe80::1]:65535");
  CHECK(copy.length == sizeof(sockaddr_in6));

  ev::SocketAddress empty;
  CHECK(empty.port() == 0);
  CHECK(empty.host().empty());
  empty.set_port(80);  // no family: nothing to set
  CHECK(empty.port() == 0);
}

TEST_CASE("parse_ip and parse_port") {
  auto a = ev::parse_ip("192.168.1.1", 80);
  REQUIRE(a);
  CHECK(a->to_string() == "192.168.1.1:80");
  auto b = ev::parse_ip("[::1]", 443);
  REQUIRE(b);
  CHECK(b->to_string() == "[::1]:443");
  CHECK(ev::parse_ip("::1"));
  CHECK_FALSE(ev::parse_ip("1.2.3.4:80"));
  CHECK_FALSE(ev::parse_ip("[1.2.3.4]"));
  CHECK_FALSE(ev::parse_ip("example.com"));
  CHECK_FALSE(ev::parse_ip(""));
  CHECK_FALSE(ev::parse_ip(std::string(200, '1')));

  CHECK(ev::parse_port("0") == 0);
  CHECK(ev::parse_port("80") == 80);
  CHECK(ev::parse_port("65535") == 65535);
  CHECK_FALSE(ev::parse_port("65536"));
  CHECK_FALSE(ev::parse_port(""));
  CHECK_FALSE(ev::parse_port("-1"));
  CHECK_FALSE(ev::parse_port("+1"));
  CHECK_FALSE(ev::parse_port("8o"));
  CHECK_FALSE(ev::parse_port("123456"));
  CHECK_FALSE(ev::parse_port(" 80"));
}

TEST_SUITE_END();
