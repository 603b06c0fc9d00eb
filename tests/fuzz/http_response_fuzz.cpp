// libFuzzer target: the HTTP/1.x response parser (head, framing and body)
// over pipelined responses, the peer closing after the last byte. The
// first bytes choose the request method, the limits and the sizes of the
// pieces the rest arrives in. Whatever the split, every response must
// come out exactly as when everything arrives at once (but for the part
// of a refused body already passed on): a client that decides
// differently on a split is one a server (or a proxy in between) can
// steer. Bodies never exceed the input or max_body; responses to HEAD and
// 1xx / 204 / 304 have none.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_fuzz_util.h"

namespace {

namespace http = ev::http;
using http_fuzz::check;
using Code = http::ParseResult::Code;

struct Response : http_fuzz::Message {
  int code_status = 0;
  std::string reason;
  bool operator==(const Response&) const = default;
};

http::ParseResult frame(const http::ResponseHead& head, std::string_view method, Response& m,
                        http::BodyFraming& framing) {
  m.code_status = head.status;
  m.reason = head.reason;
  check(m.code_status >= 100 && m.code_status <= 599);
  http::ParseResult r = http::response_framing(head, method, framing);
  bool bodiless = method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304;
  if (bodiless) check(r.code == Code::kDone && framing.kind == http::BodyFraming::kNone);
  if (r.code == Code::kError) check(r.status == 400 || r.status == 501);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The method is the flags' bit 8 (check_splits reads nothing from data
  // shorter than its options and steps).
  std::string_view method = size > 0 && (data[0] & 8) ? "HEAD" : "GET";
  auto frame_for_method = [method](const http::ResponseHead& head, Response& m, http::BodyFraming& framing) {
    return frame(head, method, m, framing);
  };
  return http_fuzz::check_splits(
      data, size, http_fuzz::Grammar<Response, http::ResponseHead>{http::parse_response_head, frame_for_method, true});
}
