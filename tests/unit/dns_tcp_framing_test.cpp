// DNS over TCP framing (RFC 1035 4.2.2): the two-byte big-endian length
// in front of every message, and reassembly of messages that arrive in
// pieces or several at a time.
#include "engine/dns/tcp_framing.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::Buffer;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes message(std::size_t n, std::uint8_t seed = 1) {
  Bytes m(n);
  for (std::size_t i = 0; i < n; ++i) m[i] = static_cast<std::uint8_t>(seed + i * 13 + i / 256);
  return m;
}

Bytes contents(const Buffer& b) {
  std::string s = b.to_string();
  return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("write_tcp_message: a big-endian length, then the message") {
  Buffer out;
  ev::dns::write_tcp_message(out, Bytes{0xde, 0xad, 0xbe});
  CHECK(contents(out) == Bytes{0x00, 0x03, 0xde, 0xad, 0xbe});

  SUBCASE("after what the buffer holds") {
    ev::dns::write_tcp_message(out, Bytes{0x42});
    CHECK(contents(out) == Bytes{0x00, 0x03, 0xde, 0xad, 0xbe, 0x00, 0x01, 0x42});
  }
  SUBCASE("lengths that need both bytes") {
    Buffer big;
    ev::dns::write_tcp_message(big, message(0x012c));
    REQUIRE(big.length() == 0x012c + 2);
    Bytes head(2);
    REQUIRE(big.copyout(head.data(), 2) == 2);
    CHECK(head == Bytes{0x01, 0x2c});
  }
  SUBCASE("the largest message") {
    Buffer big;
    ev::dns::write_tcp_message(big, message(65535));
    REQUIRE(big.length() == 65537);
    Bytes head(2);
    REQUIRE(big.copyout(head.data(), 2) == 2);
    CHECK(head == Bytes{0xff, 0xff});
  }
  SUBCASE("an empty message is a zero length") {
    Buffer empty;
    ev::dns::write_tcp_message(empty, Bytes{});
    CHECK(contents(empty) == Bytes{0x00, 0x00});
  }
}

TEST_CASE("read_tcp_message takes nothing until a whole message is there") {
  Bytes msg = message(300);
  Buffer framed;
  ev::dns::write_tcp_message(framed, msg);
  Bytes wire = contents(framed);

  Buffer in;
  Bytes got = {9, 9, 9};
  CHECK_FALSE(ev::dns::read_tcp_message(in, got));
  // One byte at a time: the prefix split, then the body.
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    CAPTURE(i);
    in.add(&wire[i], 1);
    REQUIRE_FALSE(ev::dns::read_tcp_message(in, got));
    REQUIRE(in.length() == i + 1);
  }
  in.add(&wire.back(), 1);
  REQUIRE(ev::dns::read_tcp_message(in, got));
  CHECK(got == msg);
  CHECK(in.empty());
  CHECK_FALSE(ev::dns::read_tcp_message(in, got));
}

TEST_CASE("read_tcp_message takes one message at a time and leaves the rest") {
  Bytes a = message(12, 1), b = message(0), c = message(512, 7);
  Buffer in;
  ev::dns::write_tcp_message(in, a);
  ev::dns::write_tcp_message(in, b);
  ev::dns::write_tcp_message(in, c);
  std::uint8_t partial[3] = {0x00, 0x05, 0xaa};
  in.add(partial, sizeof partial);

  Bytes got;
  REQUIRE(ev::dns::read_tcp_message(in, got));
  CHECK(got == a);
  got.assign(40, 0xee);  // an empty message leaves no stale bytes behind
  REQUIRE(ev::dns::read_tcp_message(in, got));
  CHECK(got.empty());
  REQUIRE(ev::dns::read_tcp_message(in, got));
  CHECK(got == c);
  CHECK_FALSE(ev::dns::read_tcp_message(in, got));
  CHECK(contents(in) == Bytes{0x00, 0x05, 0xaa});
}

TEST_CASE("read_tcp_message across segments the prefix is split over") {
  // References keep each piece in its own segment of the chain.
  static const std::uint8_t first[] = {0x00};
  static const std::uint8_t second[] = {0x04, 'a', 'b'};
  static const std::uint8_t third[] = {'c', 'd', 0x00};
  Buffer in;
  REQUIRE(in.add_reference(first, sizeof first, nullptr, nullptr) == 0);
  REQUIRE(in.add_reference(second, sizeof second, nullptr, nullptr) == 0);
  Bytes got;
  CHECK_FALSE(ev::dns::read_tcp_message(in, got));
  CHECK(in.length() == 4);
  REQUIRE(in.add_reference(third, sizeof third, nullptr, nullptr) == 0);
  REQUIRE(ev::dns::read_tcp_message(in, got));
  CHECK(got == Bytes{'a', 'b', 'c', 'd'});
  CHECK(contents(in) == Bytes{0x00});
}

TEST_CASE("write then read round-trips every length class") {
  for (std::size_t n : {std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{4096}, std::size_t{65535}}) {
    CAPTURE(n);
    Bytes msg = message(n, static_cast<std::uint8_t>(n));
    Buffer wire;
    ev::dns::write_tcp_message(wire, msg);
    ev::dns::write_tcp_message(wire, msg);
    Bytes got;
    REQUIRE(ev::dns::read_tcp_message(wire, got));
    CHECK(got == msg);
    REQUIRE(ev::dns::read_tcp_message(wire, got));
    CHECK(got == msg);
    CHECK(wire.empty());
  }
}

TEST_SUITE_END();
