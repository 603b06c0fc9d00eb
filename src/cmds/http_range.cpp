#include "cmds/http_range.h"

#include <charconv>

namespace evtool {
namespace {

bool parse_number(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

RangeSpec parse_range(std::string_view header, std::uint64_t size) {
  RangeSpec spec;
  if (!header.starts_with("bytes=")) return spec;
  std::string_view r = header.substr(6);
  while (!r.empty() && r.front() == ' ') r.remove_prefix(1);
  while (!r.empty() && r.back() == ' ') r.remove_suffix(1);
  if (r.find(',') != std::string_view::npos) return spec;
  std::size_t dash = r.find('-');
  if (dash == std::string_view::npos) return spec;
  std::string_view a = r.substr(0, dash), b = r.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    if (!parse_number(b, last)) return spec;
    if (last == 0 || size == 0) {
      spec.unsatisfiable = true;
      return spec;
    }
    spec.first = last >= size ? 0 : size - last;
    spec.last = size - 1;
    spec.valid = true;
    return spec;
  }
  if (!parse_number(a, first)) return spec;
  if (b.empty()) last = size ? size - 1 : 0;
  else if (!parse_number(b, last) || last < first) return spec;
  if (first >= size) {
    spec.unsatisfiable = true;
    return spec;
  }
  spec.first = first;
  spec.last = last >= size ? size - 1 : last;
  spec.valid = true;
  return spec;
}

}  // namespace evtool
