// ASCII case folding for protocol text: DNS names (RFC 1035 section 2.3.3,
// RFC 4343), HTTP field names and tokens (RFC 9110 section 5.1), file
// keywords. Only A-Z and a-z fold; every other byte, including UTF-8 and
// Latin-1, compares exactly, whatever the C locale says (unlike tolower(3)).
// Inline and allocation-free: parsers call these per field.
#pragma once

#include <cstddef>
#include <string_view>

namespace ev {

constexpr char ascii_tolower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether a and b are equal ignoring ASCII case.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Equal bytes are the common case; only a pair that differs in the
    // case bit alone (0x20) can still match, and only if it is a letter.
    if (a[i] == b[i]) continue;
    if ((a[i] ^ b[i]) != 0x20) return false;
    char lower = static_cast<char>(a[i] | 0x20);
    if (lower < 'a' || lower > 'z') return false;
  }
  return true;
}

}  // namespace ev
