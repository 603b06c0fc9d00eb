// An incremental HTTP/1.x parser. Heads (request or status line plus
// header fields) are parsed once they are complete in a Buffer; bodies are
// decoded as they arrive by a BodyDecoder (Content-Length, chunked, or
// until the connection closes). Hard limits bound everything a peer
// sends; every failure carries the status code a server should answer.
//
// What is refused, and why (request smuggling and libevent's old bugs):
// versions other than HTTP/1.0 and 1.1 with one digit each; header
// lines folded (obs-fold) or without a colon, names with non-token
// characters, control characters in values; Content-Length that is
// negative, not all digits, over 2^63, or given twice with different
// values; Transfer-Encoding together with Content-Length, or any coding
// but a final "chunked"; chunk sizes with "0x", a sign, spaces or more
// than 16 hex digits; a chunk not followed by CRLF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/http/headers.h"
#include "engine/io/buffer.h"

namespace ev::http {

struct Limits {
  std::size_t max_header_size = 16 * 1024;  // the request/status line (without CRLF); all fields together
  std::size_t max_header_count = 100;
  std::uint64_t max_body_size = UINT64_MAX;  // decoded body bytes
};

// Outcome of a parse step. On kError, `status` is the HTTP status for it
// (400, 413, 414, 431, 501, 505) and `why` a short explanation.
struct ParseResult {
  enum Code { kIncomplete, kDone, kError } code = kIncomplete;
  int status = 0;
  const char* why = "";
  static ParseResult incomplete() { return {}; }
  static ParseResult done() { return {kDone, 0, ""}; }
  static ParseResult error(int status, const char* why) { return {kError, status, why}; }
};

struct RequestHead {
  std::string method;  // as sent (case-sensitive, e.g. "GET")
  std::string target;  // the request-target, raw
  int version_major = 1, version_minor = 1;
  Headers headers;
  // HTTP/1.1 without "Connection: close", or 1.0 with "keep-alive".
  bool keep_alive() const;
};

struct ResponseHead {
  int version_major = 1, version_minor = 1;
  int status = 0;
  std::string reason;
  Headers headers;
  bool keep_alive() const;
};

// Parses the head at the front of `in` once it is complete (through the
// empty line), draining it on kDone. Leading empty lines before a request
// are skipped (RFC 9112 2.2). kIncomplete while more is needed; an error
// if the head cannot fit the limits (414 for an over-long request line,
// 431 for the fields).
ParseResult parse_request_head(Buffer& in, const Limits& limits, RequestHead& out);
ParseResult parse_response_head(Buffer& in, const Limits& limits, ResponseHead& out);

// How a message's body is delimited.
struct BodyFraming {
  enum Kind { kNone, kLength, kChunked, kUntilClose } kind = kNone;
  std::uint64_t length = 0;  // for kLength
};

// A request's framing (kNone, kLength or kChunked); kError for conflicting
// or invalid Content-Length / Transfer-Encoding.
ParseResult request_framing(const RequestHead& head, BodyFraming& out);
// A response's framing, which depends on the request method (HEAD) and on
// the status (1xx, 204, 304 have no body).
ParseResult response_framing(const ResponseHead& head, std::string_view request_method, BodyFraming& out);

// Decodes one body. Feed it what arrives; decoded bytes are moved to
// `out`. Content-Length and close-delimited bodies move whole segments
// (no copy); chunked ones strip the framing.
class BodyDecoder {
 public:
  void reset(const BodyFraming& framing, std::uint64_t max_body = UINT64_MAX);
  // Moves body bytes from `in` to `out`. kDone when the body is complete
  // (what follows it stays in `in`); kIncomplete for more; kError (413 if
  // the body grows past max_body, 400 for bad chunk framing). `eof`: the
  // peer closed, which completes a close-delimited body and truncates the
  // others (kError).
  ParseResult decode(Buffer& in, Buffer& out, bool eof = false);
  bool done() const { return state_ == State::kDone; }
  std::uint64_t decoded() const { return decoded_; }
  // Bytes of body still expected for kLength (else 0).
  std::uint64_t remaining() const { return state_ == State::kData && !chunked_ ? remaining_ : 0; }

 private:
  enum class State { kData, kUntilClose, kSizeLine, kDataEnd, kTrailers, kDone };
  ParseResult decode_chunked(Buffer& in, Buffer& out);
  ParseResult size_line(Buffer& in);
  ParseResult trailers(Buffer& in);
  State state_ = State::kDone;
  bool chunked_ = false;
  std::uint64_t remaining_ = 0;  // of the current chunk or Content-Length
  std::uint64_t decoded_ = 0;
  std::uint64_t max_body_ = UINT64_MAX;
  std::size_t trailer_bytes_ = 0;
};

// Parses a chunk-size line's size (without CRLF; a ";ext" is allowed):
// 1 to 16 hex digits and nothing else before ';'. False otherwise.
bool parse_chunk_size(std::string_view line, std::uint64_t& size);
// Content-Length value: 1 to 19 digits only, at most 2^63-1. False otherwise.
bool parse_content_length(std::string_view value, std::uint64_t& length);

}  // namespace ev::http
