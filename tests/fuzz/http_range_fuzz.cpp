// libFuzzer target: the Range header of `http serve` (src/cmds/http_range).
// The first 4 bytes give the file size, the rest is the header. Whatever
// the text: ranges are only returned for kRanges, there are 1 to
// kMaxRanges of them, each non-empty, inside the file, and none overlaps
// another.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "cmds/http_range.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::uint32_t file_size = 0;
  std::memcpy(&file_size, data, 4);
  std::string_view header(reinterpret_cast<const char*>(data + 4), size - 4);
  evtool::RangeSpec spec = evtool::parse_range(header, file_size);
  if (spec.kind != evtool::RangeSpec::kRanges) {
    check(spec.ranges.empty());
    return 0;
  }
  check(!spec.ranges.empty() && spec.ranges.size() <= evtool::kMaxRanges);
  std::vector<evtool::ByteRange> sorted = spec.ranges;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    check(sorted[i].length > 0 && sorted[i].first < file_size && sorted[i].length <= file_size - sorted[i].first);
    if (i > 0) check(sorted[i].first >= sorted[i - 1].first + sorted[i - 1].length);
  }
  return 0;
}
