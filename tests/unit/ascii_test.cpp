// ASCII case folding (util/ascii.h): only letters fold, every other byte
// compares exactly.
#include "engine/util/ascii.h"

#include <string>

#include "test_base.h"

TEST_SUITE_BEGIN("codec");  // no EventBase: run once, not per backend

using ev::ascii_iequals;
using ev::ascii_tolower;

TEST_CASE("ascii_tolower folds A-Z only") {
  CHECK(ascii_tolower('A') == 'a');
  CHECK(ascii_tolower('Z') == 'z');
  CHECK(ascii_tolower('a') == 'a');
  CHECK(ascii_tolower('@') == '@');  // 'A' - 1
  CHECK(ascii_tolower('[') == '[');  // 'Z' + 1
  CHECK(ascii_tolower('0') == '0');
  CHECK(ascii_tolower('\xC4') == '\xC4');  // Latin-1 'Ä' is not ASCII
  for (int c = 0; c < 256; ++c) {
    char ch = static_cast<char>(c);
    bool upper = c >= 'A' && c <= 'Z';
    CHECK(ascii_tolower(ch) == (upper ? static_cast<char>(c + 32) : ch));
  }
}

TEST_CASE("ascii_iequals ignores the case of letters") {
  CHECK(ascii_iequals("", ""));
  CHECK(ascii_iequals("Content-Length", "content-length"));
  CHECK(ascii_iequals("EXAMPLE.com.", "example.COM."));
  CHECK(ascii_iequals("chunked", "CHUNKED"));
  CHECK_FALSE(ascii_iequals("chunked", "chunke"));
  CHECK_FALSE(ascii_iequals("a", ""));
  CHECK_FALSE(ascii_iequals("abc", "abd"));
}

TEST_CASE("ascii_iequals: bytes one case bit apart that are not letters differ") {
  // '@' (0x40) and '`' (0x60), '[' and '{', '^' and '~', '0' (0x30) and
  // 0x10 all differ only in 0x20.
  CHECK_FALSE(ascii_iequals("@", "`"));
  CHECK_FALSE(ascii_iequals("[", "{"));
  CHECK_FALSE(ascii_iequals("^", "~"));
  CHECK_FALSE(ascii_iequals("0", "\x10"));
  CHECK_FALSE(ascii_iequals("\xC4", "\xE4"));  // Latin-1 'Ä' / 'ä'
  CHECK(ascii_iequals("\xC4", "\xC4"));
  CHECK(ascii_iequals(std::string("a\0B", 3), std::string("A\0b", 3)));
  CHECK_FALSE(ascii_iequals(std::string("a\0", 2), std::string("a ", 2)));
}

TEST_CASE("ascii_iequals agrees with folding both sides, for every byte pair") {
  for (int x = 0; x < 256; ++x)
    for (int y = 0; y < 256; ++y) {
      char a = static_cast<char>(x), b = static_cast<char>(y);
      bool expected = ascii_tolower(a) == ascii_tolower(b);
      if (ascii_iequals({&a, 1}, {&b, 1}) != expected) FAIL_CHECK("bytes " << x << " and " << y);
    }
}

TEST_CASE("ascii_iequals is usable in constant expressions") {
  static_assert(ascii_iequals("Host", "HOST"));
  static_assert(!ascii_iequals("Host", "Hosts"));
  static_assert(ascii_tolower('Q') == 'q');
}

TEST_SUITE_END();
