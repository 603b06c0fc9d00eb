#include "engine/http/parser.h"

#include <algorithm>
#include <cstring>

#include "engine/util/ascii.h"

namespace ev::http {
namespace {

constexpr std::size_t kMaxChunkLine = 4096;      // size line with extensions
constexpr std::size_t kMaxTrailerBytes = 16 * 1024;
constexpr std::size_t kMaxLeadingEmptyLines = 8;

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// Field values and reason phrases: visible characters, spaces, tabs and
// obs-text; no other control characters (a bare CR or NUL is an attack).
bool is_field_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

// "HTTP/1.1": exactly one digit on each side of the dot.
bool parse_version(std::string_view s, int& major, int& minor) {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || s[6] != '.') return false;
  if (s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9') return false;
  major = s[5] - '0';
  minor = s[7] - '0';
  return true;
}

// Splits a complete head (without its final empty line) into lines. The
// head text is contiguous (pulled up); lines end in LF with optional CR.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    std::size_t nl = rest_.find('\n');
    line = rest_.substr(0, nl);
    rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  }

 private:
  std::string_view rest_;
};

// Where the head ends in `text`: the offset just past the empty line, and
// the length of the head without it; 0 if not complete yet. `skip` counts
// leading empty lines (before a request line) to ignore.
std::size_t find_head_end(std::string_view text, std::size_t& skip, std::size_t& first_line_end) {
  skip = 0;
  first_line_end = std::string_view::npos;
  std::size_t pos = 0, skipped = 0;
  while (skipped < kMaxLeadingEmptyLines) {  // RFC 9112 2.2: empty lines before a request
    if (text.substr(pos, 2) == "\r\n") pos += 2;
    else if (text.substr(pos, 1) == "\n") pos += 1;
    else break;
    ++skipped;
  }
  skip = pos;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return 0;
    if (first_line_end == std::string_view::npos) first_line_end = nl;
    std::size_t len = nl - pos;
    if (len == 0 || (len == 1 && text[pos] == '\r')) return nl + 1;
    pos = nl + 1;
  }
  return 0;
}

ParseResult parse_fields(LineReader& lines, const Limits& limits, Headers& out) {
  std::string_view line;
  while (lines.next(line)) {
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return ParseResult::error(400, "folded header line");
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ParseResult::error(400, "header line without a colon");
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return ParseResult::error(400, "invalid header name");
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_field_text(value)) return ParseResult::error(400, "control character in a header value");
    if (out.size() >= limits.max_header_count) return ParseResult::error(431, "too many header fields");
    out.add(name, value);
  }
  return ParseResult::done();
}

// Pulls up enough of `in` to hold a head within the limits and finds its
// end. On kDone, `text` is the head and *consumed its length on the wire.
// The start line may take max_header_size bytes before its CRLF, and the
// field lines as many again, line endings included (as CLI.md: a longer
// request line is 414, more fields 431); the answer is the same whether
// the head arrived whole or byte by byte.
template <int kTooLongLine>
ParseResult locate_head(Buffer& in, const Limits& limits, std::string_view& text, std::size_t& consumed) {
  const std::size_t max = limits.max_header_size;
  // Enough to see either limit passed: empty lines, the longest start
  // line and CRLF, the most fields and one byte more than the final CRLF.
  std::size_t window = std::min(in.length(), 2 * kMaxLeadingEmptyLines + (max + 2) + (max + 2));
  if (window == 0) return ParseResult::incomplete();
  auto* p = reinterpret_cast<const char*>(in.pullup(static_cast<ssize_t>(window)));
  if (!p) return ParseResult::incomplete();
  std::string_view all(p, window);
  std::size_t skip = 0, first_end = 0;
  std::size_t end = find_head_end(all, skip, first_end);
  if (first_end == std::string_view::npos) {  // a start line of max bytes may still have its CR
    if (window - skip > max + 1) return ParseResult::error(kTooLongLine, "start line too long");
    return ParseResult::incomplete();
  }
  std::size_t line = first_end - skip;
  if (line > 0 && all[first_end - 1] == '\r') --line;
  if (line > max) return ParseResult::error(kTooLongLine, "start line too long");
  std::size_t fields_begin = first_end + 1;
  if (end == 0) {
    // Fields of max bytes are complete with their final CRLF: two bytes
    // more without it cannot fit.
    if (window - fields_begin >= max + 2) return ParseResult::error(431, "header fields too large");
    return ParseResult::incomplete();
  }
  std::size_t final_line = all[end - 2] == '\r' && end - 2 >= fields_begin ? 2 : 1;
  if (end - fields_begin - final_line > max) return ParseResult::error(431, "header fields too large");
  text = all.substr(skip, end - skip);
  consumed = end;
  return ParseResult::done();
}

ParseResult parse_request_line(std::string_view line, RequestHead& out) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ParseResult::error(400, "malformed request line");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return ParseResult::error(400, "malformed request line");
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!is_token(method)) return ParseResult::error(400, "invalid method");
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
      }))
    return ParseResult::error(400, "invalid request target");
  std::string_view version = line.substr(sp2 + 1);
  if (!parse_version(version, out.version_major, out.version_minor))
    return ParseResult::error(400, "malformed HTTP version");
  if (out.version_major != 1 || out.version_minor > 1) return ParseResult::error(505, "unsupported HTTP version");
  out.method.assign(method);
  out.target.assign(target);
  return ParseResult::done();
}

ParseResult parse_status_line(std::string_view line, ResponseHead& out) {
  if (line.size() < 12 || !parse_version(line.substr(0, 8), out.version_major, out.version_minor) || line[8] != ' ')
    return ParseResult::error(400, "malformed status line");
  if (out.version_major != 1 || out.version_minor > 1) return ParseResult::error(505, "unsupported HTTP version");
  std::string_view code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) || code[0] == '0')
    return ParseResult::error(400, "malformed status code");
  if (line.size() > 12 && line[12] != ' ') return ParseResult::error(400, "malformed status code");
  std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view{};
  if (!is_field_text(reason)) return ParseResult::error(400, "control character in the reason phrase");
  out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  if (out.status < 100 || out.status > 599) return ParseResult::error(400, "status code out of range");
  out.reason.assign(reason);
  return ParseResult::done();
}

// Content-Length fields: each a valid number, all the same.
ParseResult content_length(const Headers& headers, bool& present, std::uint64_t& length) {
  present = false;
  for (const auto& [name, value] : headers) {
    if (!ascii_iequals(name, "Content-Length")) continue;
    std::uint64_t n = 0;
    if (!parse_content_length(value, n)) return ParseResult::error(400, "invalid Content-Length");
    if (present && n != length) return ParseResult::error(400, "conflicting Content-Length fields");
    present = true;
    length = n;
  }
  return ParseResult::done();
}

// Transfer-Encoding: true in *chunked if the codings end with chunked;
// *other if any other coding is listed.
void transfer_codings(const Headers& headers, bool& present, bool& chunked, bool& other) {
  present = chunked = other = false;
  for (const auto& [name, value] : headers) {
    if (!ascii_iequals(name, "Transfer-Encoding")) continue;
    present = true;
    for_each_list_item(value, [&](std::string_view coding) {
      if (chunked) other = true;  // anything after chunked
      if (ascii_iequals(coding, "chunked")) chunked = true;
      else other = true;
      return false;
    });
  }
}

}  // namespace

bool RequestHead::keep_alive() const {
  if (version_minor >= 1) return !headers.has_token("Connection", "close");
  return headers.has_token("Connection", "keep-alive");
}

bool ResponseHead::keep_alive() const {
  if (version_minor >= 1) return !headers.has_token("Connection", "close");
  return headers.has_token("Connection", "keep-alive");
}

namespace {

// Locates a complete head, parses its start line with `start_line`, then
// the fields; drains the head only when all of it parsed.
template <int kTooLongLine, typename Head, typename StartLine>
ParseResult parse_head(Buffer& in, const Limits& limits, Head& out, StartLine start_line) {
  std::string_view text;
  std::size_t consumed = 0;
  ParseResult r = locate_head<kTooLongLine>(in, limits, text, consumed);
  if (r.code != ParseResult::kDone) return r;
  LineReader lines(text);
  std::string_view line;
  lines.next(line);
  out.headers.clear();
  r = start_line(line, out);
  if (r.code == ParseResult::kDone) r = parse_fields(lines, limits, out.headers);
  if (r.code == ParseResult::kDone) in.drain(consumed);
  return r;
}

}  // namespace

ParseResult parse_request_head(Buffer& in, const Limits& limits, RequestHead& out) {
  return parse_head<414>(in, limits, out, parse_request_line);
}

ParseResult parse_response_head(Buffer& in, const Limits& limits, ResponseHead& out) {
  return parse_head<431>(in, limits, out, parse_status_line);
}

ParseResult request_framing(const RequestHead& head, BodyFraming& out) {
  bool has_length = false, has_te = false, chunked = false, other = false;
  std::uint64_t length = 0;
  ParseResult r = content_length(head.headers, has_length, length);
  if (r.code == ParseResult::kError) return r;
  transfer_codings(head.headers, has_te, chunked, other);
  if (has_te) {
    if (has_length) return ParseResult::error(400, "both Transfer-Encoding and Content-Length");
    if (head.version_minor == 0) return ParseResult::error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (other || !chunked) return ParseResult::error(501, "unsupported transfer coding");
    out = {BodyFraming::kChunked, 0};
  } else if (has_length) {
    out = {length ? BodyFraming::kLength : BodyFraming::kNone, length};
  } else {
    out = {BodyFraming::kNone, 0};
  }
  return ParseResult::done();
}

ParseResult response_framing(const ResponseHead& head, std::string_view request_method, BodyFraming& out) {
  if (request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304) {
    out = {BodyFraming::kNone, 0};
    return ParseResult::done();
  }
  bool has_length = false, has_te = false, chunked = false, other = false;
  std::uint64_t length = 0;
  transfer_codings(head.headers, has_te, chunked, other);
  if (has_te) {  // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
    out = {chunked && !other ? BodyFraming::kChunked : BodyFraming::kUntilClose, 0};
    if (chunked && other) out.kind = BodyFraming::kUntilClose;
    return ParseResult::done();
  }
  ParseResult r = content_length(head.headers, has_length, length);
  if (r.code == ParseResult::kError) return r;
  out = has_length ? BodyFraming{BodyFraming::kLength, length} : BodyFraming{BodyFraming::kUntilClose, 0};
  return ParseResult::done();
}

bool parse_content_length(std::string_view value, std::uint64_t& length) {
  if (value.empty() || value.size() > 19) return false;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > static_cast<std::uint64_t>(INT64_MAX)) return false;
  length = n;
  return true;
}

bool parse_chunk_size(std::string_view line, std::uint64_t& size) {
  std::string_view digits = line.substr(0, line.find(';'));
  if (digits.empty() || digits.size() > 16) return false;
  std::uint64_t n = 0;
  for (char c : digits) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return false;
    n = (n << 4) | static_cast<std::uint64_t>(v);
  }
  if (digits.size() < line.size() && !is_field_text(line.substr(digits.size()))) return false;
  size = n;
  return true;
}

// ---- BodyDecoder -------------------------------------------------------------

void BodyDecoder::reset(const BodyFraming& framing, std::uint64_t max_body) {
  max_body_ = max_body;
  decoded_ = 0;
  trailer_bytes_ = 0;
  chunked_ = framing.kind == BodyFraming::kChunked;
  remaining_ = framing.kind == BodyFraming::kLength ? framing.length : 0;
  switch (framing.kind) {
    case BodyFraming::kNone: state_ = State::kDone; break;
    case BodyFraming::kLength: state_ = remaining_ ? State::kData : State::kDone; break;
    case BodyFraming::kChunked: state_ = State::kSizeLine; break;
    case BodyFraming::kUntilClose: state_ = State::kUntilClose; break;
  }
}

ParseResult BodyDecoder::decode(Buffer& in, Buffer& out, bool eof) {
  if (state_ == State::kDone) return ParseResult::done();
  if (chunked_) {
    ParseResult r = decode_chunked(in, out);
    if (r.code == ParseResult::kIncomplete && eof) return ParseResult::error(400, "body truncated");
    return r;
  }
  if (state_ == State::kUntilClose) {
    std::size_t n = in.length();
    if (n > max_body_ - decoded_) return ParseResult::error(413, "body too large");
    out.add_buffer(in);
    decoded_ += n;
    if (!eof) return ParseResult::incomplete();
    state_ = State::kDone;
    return ParseResult::done();
  }
  if (remaining_ > max_body_ - decoded_) return ParseResult::error(413, "body too large");
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.length()));
  if (n == in.length()) out.add_buffer(in);
  else in.remove_buffer(out, n);
  remaining_ -= n;
  decoded_ += n;
  if (remaining_ == 0) {
    state_ = State::kDone;
    return ParseResult::done();
  }
  return eof ? ParseResult::error(400, "body truncated") : ParseResult::incomplete();
}

ParseResult BodyDecoder::decode_chunked(Buffer& in, Buffer& out) {
  while (true) {
    switch (state_) {
      case State::kSizeLine: {
        ParseResult r = size_line(in);
        if (r.code != ParseResult::kDone) return r;
        break;
      }
      case State::kData: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.length()));
        if (n == 0) return ParseResult::incomplete();
        in.remove_buffer(out, n);
        remaining_ -= n;
        decoded_ += n;
        if (remaining_) return ParseResult::incomplete();
        state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        if (in.length() < 2) return ParseResult::incomplete();
        char crlf[2];
        in.copyout(crlf, 2);
        if (crlf[0] != '\r' || crlf[1] != '\n') return ParseResult::error(400, "chunk not followed by CRLF");
        in.drain(2);
        state_ = State::kSizeLine;
        break;
      }
      case State::kTrailers: return trailers(in);
      default: return ParseResult::done();
    }
  }
}

ParseResult BodyDecoder::size_line(Buffer& in) {
  std::size_t eol_len = 0;
  BufferPtr eol = in.search_eol(nullptr, &eol_len, EolStyle::CrlfStrict);
  if (!eol.valid()) {
    if (in.length() > kMaxChunkLine) return ParseResult::error(400, "chunk size line too long");
    return ParseResult::incomplete();
  }
  auto len = static_cast<std::size_t>(eol.pos);
  if (len > kMaxChunkLine) return ParseResult::error(400, "chunk size line too long");
  char line[kMaxChunkLine];
  in.copyout(line, len);
  std::uint64_t size = 0;
  if (!parse_chunk_size(std::string_view(line, len), size)) return ParseResult::error(400, "malformed chunk size");
  if (size > max_body_ - decoded_) return ParseResult::error(413, "body too large");
  in.drain(len + eol_len);
  remaining_ = size;
  state_ = size ? State::kData : State::kTrailers;
  return ParseResult::done();
}

// Trailer fields after the last chunk are read and dropped.
ParseResult BodyDecoder::trailers(Buffer& in) {
  while (true) {
    std::size_t eol_len = 0;
    BufferPtr eol = in.search_eol(nullptr, &eol_len, EolStyle::CrlfStrict);
    if (!eol.valid()) {
      if (trailer_bytes_ + in.length() > kMaxTrailerBytes) return ParseResult::error(400, "trailers too large");
      return ParseResult::incomplete();
    }
    auto len = static_cast<std::size_t>(eol.pos);
    trailer_bytes_ += len + eol_len;
    if (trailer_bytes_ > kMaxTrailerBytes) return ParseResult::error(400, "trailers too large");
    if (len > 0) {
      char first = 0;
      in.copyout(&first, 1);
      if (first == ' ' || first == '\t') return ParseResult::error(400, "folded trailer line");
    }
    in.drain(len + eol_len);
    if (len == 0) {
      state_ = State::kDone;
      return ParseResult::done();
    }
  }
}

}  // namespace ev::http
