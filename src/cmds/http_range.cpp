#include "cmds/http_range.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace evtool {
namespace {

bool parse_number(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class One { kMalformed, kOutside, kInside };

// One range-spec against a file of `size` bytes.
One parse_one(std::string_view spec, std::uint64_t size, ByteRange& out) {
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return One::kMalformed;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    if (!parse_number(b, last)) return One::kMalformed;
    if (last == 0 || size == 0) return One::kOutside;
    out.first = last >= size ? 0 : size - last;
    out.length = size - out.first;
    return One::kInside;
  }
  if (!parse_number(a, first)) return One::kMalformed;
  if (b.empty()) last = UINT64_MAX;
  else if (!parse_number(b, last) || last < first) return One::kMalformed;
  if (first >= size) return One::kOutside;
  out.first = first;
  out.length = std::min(last, size - 1) - first + 1;
  return One::kInside;
}

bool overlapping(std::vector<ByteRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& x, const ByteRange& y) { return x.first < y.first; });
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].first + ranges[i - 1].length) return true;
  return false;
}

}  // namespace

RangeSpec parse_range(std::string_view header, std::uint64_t size) {
  RangeSpec whole;
  if (!header.starts_with("bytes=")) return whole;
  std::string_view list = header.substr(6);
  RangeSpec spec;
  std::size_t asked = 0;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) continue;  // "a-b, ,c-d": empty list elements are allowed
    if (++asked > kMaxRanges) return whole;
    ByteRange r;
    One one = parse_one(item, size, r);
    if (one == One::kMalformed) return whole;
    if (one == One::kInside) spec.ranges.push_back(r);
  }
  if (asked == 0) return whole;
  if (spec.ranges.empty()) {
    spec.kind = RangeSpec::kUnsatisfiable;
    return spec;
  }
  if (overlapping(spec.ranges)) return whole;
  spec.kind = RangeSpec::kRanges;
  return spec;
}

}  // namespace evtool
