// Shared by the HTTP message fuzzers (http_request_fuzz.cpp,
// http_response_fuzz.cpp): pipelined messages (head, framing and body) fed
// to the parser in pieces. The first bytes choose the limits and the sizes
// of the pieces the rest arrives in; whatever the split, every message must
// come out exactly as when everything arrives at once (but for the part of
// a refused body already passed on). Bodies never exceed the input or
// max_body.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/http/parser.h"
#include "engine/io/buffer.h"

namespace http_fuzz {

namespace http = ev::http;
using Code = http::ParseResult::Code;

inline constexpr std::size_t kOptionBytes = 2;  // flags, limit size
inline constexpr std::size_t kStepBytes = 8;    // piece sizes, used in turn
inline constexpr std::size_t kMaxMessages = 8;

inline void check(bool ok) {
  if (!ok) std::abort();
}

// What requests and responses share; each fuzzer adds its head's own fields.
struct Message {
  Code code = Code::kIncomplete;
  int status = 0;
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

// How a fuzzer reads its kind of message M (a Message with the head's own
// fields) from heads of type Head.
template <class M, class Head>
struct Grammar {
  http::ParseResult (*parse_head)(ev::Buffer&, const http::Limits&, Head&);
  // Copies (and checks) the head's own fields into m, then finds and checks
  // the message's framing.
  std::function<http::ParseResult(const Head&, M&, http::BodyFraming&)> frame;
  // The peer closes after the last byte: the body decoder learns when the
  // input has run out.
  bool peer_closes = false;
};

// The fields every head has; HTTP/1.0 to 1.9 only.
template <class Head>
void copy_head(const Head& head, Message& m) {
  m.major = head.version_major;
  m.minor = head.version_minor;
  m.keep_alive = head.keep_alive();
  for (const auto& field : head.headers) m.headers.push_back(field);
  check(m.major == 1 && m.minor >= 0 && m.minor <= 9);
}

template <class M, class Head>
M parse_one(ev::Buffer& in, Feeder& feed, const http::Limits& limits, const Grammar<M, Head>& grammar) {
  M m;
  Head head;
  http::ParseResult r;
  while ((r = grammar.parse_head(in, limits, head)).code == Code::kIncomplete && feed.next(in)) {
  }
  if (r.code == Code::kDone) {
    copy_head(head, m);
    http::BodyFraming framing;
    r = grammar.frame(head, m, framing);
    m.kind = framing.kind;
    m.length = framing.length;
  }
  if (r.code == Code::kDone) {
    http::BodyDecoder decoder;
    decoder.reset({m.kind, m.length}, limits.max_body_size);
    ev::Buffer body;
    while ((r = decoder.decode(in, body, grammar.peer_closes && feed.finished())).code == Code::kIncomplete &&
           feed.next(in)) {
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

template <class M, class Head>
std::vector<M> parse_all(std::string_view input, std::string_view steps, const http::Limits& limits,
                         const Grammar<M, Head>& grammar) {
  std::vector<M> out;
  ev::Buffer in;
  Feeder feed(input, steps);
  feed.next(in);
  std::size_t body_bytes = 0;
  while (out.size() < kMaxMessages) {
    out.push_back(parse_one(in, feed, limits, grammar));
    body_bytes += out.back().body.size();
    if (out.back().code != Code::kDone || (in.empty() && feed.finished())) break;
  }
  check(body_bytes <= input.size());
  return out;
}

inline http::Limits limits_for(std::uint8_t flags, std::uint8_t size) {
  http::Limits limits;
  if (flags & 1) limits.max_header_size = 16 + size;
  if (flags & 2) limits.max_header_count = size % 16;
  if (flags & 4) limits.max_body_size = size;
  return limits;
}

// The fuzzers' entry: data is the flags, the limit size, kStepBytes piece
// sizes, then the input; it must parse the same in pieces of the step sizes
// and byte by byte as all at once.
template <class M, class Head>
int check_splits(const std::uint8_t* data, std::size_t size, const Grammar<M, Head>& grammar) {
  if (size < kOptionBytes + kStepBytes) return 0;
  http::Limits limits = limits_for(data[0], data[1]);
  std::string_view steps(reinterpret_cast<const char*>(data) + kOptionBytes, kStepBytes);
  std::string_view input(reinterpret_cast<const char*>(data) + kOptionBytes + kStepBytes,
                         size - kOptionBytes - kStepBytes);
  std::vector<M> whole = parse_all(input, {}, limits, grammar);
  check(parse_all(input, steps, limits, grammar) == whole);
  check(parse_all(input, std::string_view("\0", 1), limits, grammar) == whole);  // byte by byte
  return 0;
}

}  // namespace http_fuzz
