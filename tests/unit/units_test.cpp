// Durations and sizes as users type them ("250ms", "64k").
#include "engine/util/units.h"

#include <string>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using std::chrono::microseconds;

TEST_CASE("parse_duration accepts numbers with units; bare numbers are seconds") {
  CHECK(ev::parse_duration("500us") == microseconds(500));
  CHECK(ev::parse_duration("250ms") == microseconds(250000));
  CHECK(ev::parse_duration("1.5s") == microseconds(1500000));
  CHECK(ev::parse_duration("2m") == microseconds(120000000));
  CHECK(ev::parse_duration("1h") == microseconds(3600000000LL));
  CHECK(ev::parse_duration("3") == microseconds(3000000));
  CHECK(ev::parse_duration("0") == microseconds(0));
  CHECK(ev::parse_duration("0.25") == microseconds(250000));
  CHECK(ev::parse_duration(".5s") == microseconds(500000));
  CHECK(ev::parse_duration("1.5ms") == microseconds(1500));
  CHECK(ev::parse_duration("366d") == std::nullopt);  // no day unit
  CHECK(ev::parse_duration("8760h") == microseconds(8760LL * 3600 * 1000000));  // a year
}

TEST_CASE("parse_duration rejects everything else") {
  for (const char* text : {"", "-1s", "1x", "s", "1e3", "inf", "nan", "1.2.3s", " 1s", "1s ", "1 s", "+1s", "0x10",
                           "1sec", "1S", ".", "ms", "9000h", "99999999999999999999999999999999999999s"}) {
    CAPTURE(text);
    CHECK_FALSE(ev::parse_duration(text));
  }
  CHECK_FALSE(ev::parse_duration(std::string("1s\0", 3)));
}

TEST_CASE("parse_size accepts bytes with k, M, G (powers of 1024)") {
  CHECK(ev::parse_size("512") == 512u);
  CHECK(ev::parse_size("64k") == 65536u);
  CHECK(ev::parse_size("64K") == 65536u);
  CHECK(ev::parse_size("1M") == 1048576u);
  CHECK(ev::parse_size("2G") == 2147483648u);
  CHECK(ev::parse_size("1.5k") == 1536u);
  CHECK(ev::parse_size("0") == 0u);
}

TEST_CASE("parse_size rejects everything else") {
  for (const char* text : {"1T", "-5", "k", "", "1kb", "1 k", "1e3", "inf", "nan", "0x10", "1.2.3",
                           "99999999999G"}) {
    CAPTURE(text);
    CHECK_FALSE(ev::parse_size(text));
  }
}

TEST_CASE("format_duration") {
  CHECK(ev::format_duration(microseconds(42)) == "42us");
  CHECK(ev::format_duration(microseconds(1500)) == "1500us");
  CHECK(ev::format_duration(microseconds(250000)) == "250ms");
  CHECK(ev::format_duration(microseconds(1500000)) == "1.500s");
  CHECK(ev::format_duration(microseconds(0)) == "0ms");
  // What it prints parses back to the same value.
  for (long long us : {42LL, 250000LL, 1500000LL, 3600000000LL}) {
    CAPTURE(us);
    CHECK(ev::parse_duration(ev::format_duration(microseconds(us))) == microseconds(us));
  }
}

TEST_SUITE_END();
