// libFuzzer target: the HTTP/1.x response parser (head, framing and body)
// over pipelined responses, the peer closing after the last byte. The
// first bytes choose the request method, the limits and the sizes of the
// pieces the rest arrives in. Whatever the split, every response must
// come out exactly as when everything arrives at once (but for the part
// of a refused body already passed on): a client that decides
// differently on a split is one a server (or a proxy in between) can
// steer. Bodies never exceed the input or max_body; responses to HEAD and
// 1xx / 204 / 304 have none.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/http/parser.h"
#include "engine/io/buffer.h"

namespace {

namespace http = ev::http;
using Code = http::ParseResult::Code;

constexpr std::size_t kOptionBytes = 2;  // flags, limit size
constexpr std::size_t kStepBytes = 8;    // piece sizes, used in turn
constexpr std::size_t kMaxMessages = 8;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Message {
  Code code = Code::kIncomplete;
  int status = 0;
  int code_status = 0;
  std::string reason;
  int major = 0, minor = 0;
  bool keep_alive = false;
  std::vector<std::pair<std::string, std::string>> headers;
  http::BodyFraming::Kind kind = http::BodyFraming::kNone;
  std::uint64_t length = 0;
  std::string body;
  bool operator==(const Message&) const = default;
};

// Hands the input to a Buffer in pieces of 1..256 bytes (the step bytes in
// turn), or all at once without steps.
class Feeder {
 public:
  Feeder(std::string_view input, std::string_view steps) : input_(input), steps_(steps) {}
  bool next(ev::Buffer& in) {
    if (input_.empty()) return false;
    std::size_t n = input_.size();
    if (!steps_.empty()) n = std::min(n, std::size_t{static_cast<unsigned char>(steps_[turn_++ % steps_.size()])} + 1);
    check(in.add(input_.substr(0, n)) == 0);
    input_.remove_prefix(n);
    return true;
  }
  bool finished() const { return input_.empty(); }

 private:
  std::string_view input_, steps_;
  std::size_t turn_ = 0;
};

void copy_head(const http::ResponseHead& head, Message& m) {
  m.code_status = head.status;
  m.reason = head.reason;
  m.major = head.version_major;
  m.minor = head.version_minor;
  m.keep_alive = head.keep_alive();
  for (const auto& field : head.headers) m.headers.push_back(field);
  check(m.code_status >= 100 && m.code_status <= 599 && m.major == 1 && m.minor >= 0 && m.minor <= 9);
}

void check_framing(const http::ResponseHead& head, std::string_view method, const http::ParseResult& r,
                   const http::BodyFraming& framing) {
  bool bodiless = method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304;
  if (bodiless) check(r.code == Code::kDone && framing.kind == http::BodyFraming::kNone);
  if (r.code == Code::kError) check(r.status == 400 || r.status == 501);
}

Message parse_one(ev::Buffer& in, Feeder& feed, std::string_view method, const http::Limits& limits) {
  Message m;
  http::ResponseHead head;
  http::ParseResult r;
  while ((r = http::parse_response_head(in, limits, head)).code == Code::kIncomplete && feed.next(in)) {
  }
  if (r.code == Code::kDone) {
    copy_head(head, m);
    http::BodyFraming framing;
    r = http::response_framing(head, method, framing);
    check_framing(head, method, r, framing);
    m.kind = framing.kind;
    m.length = framing.length;
  }
  if (r.code == Code::kDone) {
    http::BodyDecoder decoder;
    decoder.reset({m.kind, m.length}, limits.max_body_size);
    ev::Buffer body;
    while ((r = decoder.decode(in, body, feed.finished())).code == Code::kIncomplete && feed.next(in)) {
    }
    m.body = body.to_string();
    check(m.body.size() == decoder.decoded() && decoder.decoded() <= limits.max_body_size);
    if (r.code == Code::kDone && m.kind == http::BodyFraming::kLength) check(m.body.size() == m.length);
  }
  m.code = r.code;
  m.status = r.status;
  if (r.code == Code::kError) {
    check(r.status >= 400 && r.status <= 505 && r.why && *r.why);
    m.body.clear();  // how much of a body streams out before its refusal depends on the split
  }
  return m;
}

std::vector<Message> parse_all(std::string_view input, std::string_view steps, std::string_view method,
                               const http::Limits& limits) {
  std::vector<Message> out;
  ev::Buffer in;
  Feeder feed(input, steps);
  feed.next(in);
  std::size_t body_bytes = 0;
  while (out.size() < kMaxMessages) {
    out.push_back(parse_one(in, feed, method, limits));
    body_bytes += out.back().body.size();
    if (out.back().code != Code::kDone || (in.empty() && feed.finished())) break;
  }
  check(body_bytes <= input.size());
  return out;
}

http::Limits limits_for(std::uint8_t flags, std::uint8_t size) {
  http::Limits limits;
  if (flags & 1) limits.max_header_size = 16 + size;
  if (flags & 2) limits.max_header_count = size % 16;
  if (flags & 4) limits.max_body_size = size;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kOptionBytes + kStepBytes) return 0;
  http::Limits limits = limits_for(data[0], data[1]);
  const char* method = data[0] & 8 ? "HEAD" : "GET";
  std::string_view steps(reinterpret_cast<const char*>(data) + kOptionBytes, kStepBytes);
  std::string_view input(reinterpret_cast<const char*>(data) + kOptionBytes + kStepBytes,
                         size - kOptionBytes - kStepBytes);
  std::vector<Message> whole = parse_all(input, {}, method, limits);
  check(parse_all(input, steps, method, limits) == whole);
  check(parse_all(input, std::string_view("\0", 1), method, limits) == whole);  // byte by byte
  return 0;
}
