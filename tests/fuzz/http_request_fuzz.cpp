// libFuzzer target: the HTTP/1.x request parser (head, framing and body)
// over pipelined requests. The first bytes choose the limits and the sizes
// of the pieces the rest arrives in. Whatever the split, every request
// must come out exactly as when everything arrives at once (but for the
// part of a refused body already passed on): a parser that decides
// differently on a split is one a peer can steer. Bodies never
// exceed the input or max_body, and a request carrying both
// Content-Length and Transfer-Encoding is never framed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http_fuzz_util.h"

namespace {

namespace http = ev::http;
using http_fuzz::check;
using Code = http::ParseResult::Code;

struct Request : http_fuzz::Message {
  std::string method, target;
  bool operator==(const Request&) const = default;
};

http::ParseResult frame(const http::RequestHead& head, Request& m, http::BodyFraming& framing) {
  m.method = head.method;
  m.target = head.target;
  check(!m.method.empty() && !m.target.empty());
  http::ParseResult r = http::request_framing(head, framing);
  if (head.headers.has("Content-Length") && head.headers.has("Transfer-Encoding")) check(r.code == Code::kError);
  if (r.code == Code::kError) check(r.status == 400 || r.status == 501);
  if (r.code == Code::kDone) check(framing.kind != http::BodyFraming::kUntilClose);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return http_fuzz::check_splits(data, size, http_fuzz::Grammar<Request, http::RequestHead>{http::parse_request_head, frame});
}
