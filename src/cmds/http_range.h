// The Range request header (RFC 9110 14.2): a list of byte ranges,
// "bytes=a-b", "bytes=a-", "bytes=-n", separated by commas. Ranges past
// the end of the file are dropped; when none is left the request is
// unsatisfiable (416). Another unit or a malformed list is ignored (the
// whole file, which the RFC allows), and so is a list that looks like
// abuse (RFC 9110 15.3.7): more than kMaxRanges ranges, or ranges that
// overlap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace evtool {

struct ByteRange {
  std::uint64_t first = 0, length = 0;
};

struct RangeSpec {
  enum Kind { kWhole, kRanges, kUnsatisfiable } kind = kWhole;
  std::vector<ByteRange> ranges;  // kRanges: in the order asked, each non-empty and inside the file
};

constexpr std::size_t kMaxRanges = 16;

RangeSpec parse_range(std::string_view header, std::uint64_t size);

}  // namespace evtool
