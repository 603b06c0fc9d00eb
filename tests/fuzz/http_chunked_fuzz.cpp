// libFuzzer target: the chunked body decoder. The first bytes choose
// max_body and the sizes of the pieces the rest arrives in. Whatever the
// input, the decoded body is never larger than the input nor than
// max_body, it comes out the same whatever the split, and a body that
// decodes, written back as one chunk, decodes to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/http/parser.h"
#include "engine/io/buffer.h"

namespace {

namespace http = ev::http;
using Code = http::ParseResult::Code;

constexpr std::size_t kOptionBytes = 2;  // max_body (0xffff: none)
constexpr std::size_t kStepBytes = 4;    // piece sizes, used in turn

void check(bool ok) {
  if (!ok) std::abort();
}

struct Decoded {
  Code code = Code::kIncomplete;
  int status = 0;
  std::string body, rest;
  bool operator==(const Decoded&) const = default;
};

// Decodes `input` fed in pieces of 1..256 bytes (the step bytes in turn),
// or all at once without steps; eof after the last byte when `eof`.
Decoded decode(std::string_view input, std::string_view steps, std::uint64_t max_body, bool eof) {
  http::BodyDecoder decoder;
  decoder.reset({http::BodyFraming::kChunked, 0}, max_body);
  ev::Buffer in, out;
  http::ParseResult r;
  std::size_t turn = 0;
  do {
    std::size_t n = input.size();
    if (!steps.empty()) n = std::min(n, std::size_t{static_cast<unsigned char>(steps[turn++ % steps.size()])} + 1);
    check(in.add(input.substr(0, n)) == 0);
    input.remove_prefix(n);
    r = decoder.decode(in, out, eof && input.empty());
  } while (r.code == Code::kIncomplete && !input.empty());
  check(decoder.decoded() == out.length() && decoder.decoded() <= max_body);
  check(decoder.done() == (r.code == Code::kDone));
  if (r.code == Code::kError) check(r.status == 400 || r.status == 413);
  return {r.code, r.status, out.to_string(), in.to_string() + std::string(input)};
}

// The decoded body as one chunk (plus the final one) decodes to itself.
void check_reencoded(const std::string& body) {
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", body.size());
  std::string wire = body.empty() ? "0\r\n\r\n" : size_line + body + "\r\n0\r\n\r\n";
  Decoded again = decode(wire, {}, UINT64_MAX, false);
  check(again.code == Code::kDone && again.body == body && again.rest.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kOptionBytes + kStepBytes) return 0;
  unsigned option = data[0] << 8 | data[1];
  std::uint64_t max_body = option == 0xffff ? UINT64_MAX : option;
  bool eof = option & 1;
  std::string_view steps(reinterpret_cast<const char*>(data) + kOptionBytes, kStepBytes);
  std::string_view input(reinterpret_cast<const char*>(data) + kOptionBytes + kStepBytes,
                         size - kOptionBytes - kStepBytes);
  Decoded whole = decode(input, {}, max_body, eof);
  check(whole.body.size() <= input.size());
  check(whole.body.size() + whole.rest.size() <= input.size());
  check(decode(input, steps, max_body, eof) == whole);
  check(decode(input, std::string_view("\0", 1), max_body, eof) == whole);  // byte by byte
  if (whole.code == Code::kDone) check_reencoded(whole.body);
  return 0;
}
