// The Range request header (RFC 9110 14.2) for one range of bytes:
// "bytes=a-b", "bytes=a-", "bytes=-n". Several ranges, or another unit,
// are not "valid" (the whole file is sent, which the RFC allows).
#pragma once

#include <cstdint>
#include <string_view>

namespace evtool {

struct ByteRange {
  std::uint64_t first = 0, length = 0;
  bool partial = false;
};

struct RangeSpec {
  bool valid = false;          // one satisfiable range: first..last
  bool unsatisfiable = false;  // well-formed but outside the file: 416
  std::uint64_t first = 0, last = 0;
};

RangeSpec parse_range(std::string_view header, std::uint64_t size);

}  // namespace evtool
