// Request: the reply side (status line and header fields written straight
// into the connection's output) and the HTTP date helpers.
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "engine/http/detail/connection.h"
#include "engine/http/server.h"

namespace ev::http {
namespace {

void append(std::string& s, std::string_view a, std::string_view b = {}, std::string_view c = {}) {
  s.append(a);
  s.append(b);
  s.append(c);
}

void append_number(std::string& s, std::uint64_t n) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, n);
  s.append(digits, r.ptr);
}


}  // namespace

void Request::reset() {
  body_.drain(body_.length());
  reply_headers_.clear();
  status_ = 0;
  body_bytes_ = 0;
  close_ = false;
  replying_ = false;
  chunked_ = false;
}

// Status line, the server's fields, then the handler's. content_length -1:
// none (chunked, or delimited by close).
void Request::write_head(int status, std::string_view reason, std::int64_t content_length, bool chunked) {
  status_ = status;
  bool keep = !close_ && head_.keep_alive() && !conn_->server().shutting_down_;
  if (content_length < 0 && !chunked) keep = false;
  if (!keep) close_ = true;
  thread_local std::string h;
  h.clear();
  append(h, head_.version_minor == 0 && head_.method.size() ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(h, static_cast<std::uint64_t>(status));
  append(h, " ", reason.empty() ? reason_phrase(status) : reason, "\r\n");
  append(h, conn_->server().date_line());
  append(h, "Server: ", conn_->server().settings_.server_name, "\r\n");
  if (content_length >= 0 && status != 304 && status >= 200 && status != 204) {
    append(h, "Content-Length: ");
    append_number(h, static_cast<std::uint64_t>(content_length));
    append(h, "\r\n");
  }
  if (chunked) append(h, "Transfer-Encoding: chunked\r\n");
  if (!keep) append(h, "Connection: close\r\n");
  else if (head_.version_minor == 0) append(h, "Connection: keep-alive\r\n");
  for (const auto& [name, value] : reply_headers_) append(h, name, ": ", value), append(h, "\r\n");
  append(h, "\r\n");
  Buffer& out = conn_->output();
  out.add(h);
  body_begin_ = out.drained_total() + out.length();
}

void Request::send_reply(int status, Buffer& body, std::string_view reason) {
  std::size_t n = body.length();
  bool no_body = is_head() || status == 304 || status == 204;
  write_head(status, reason, static_cast<std::int64_t>(n), false);
  if (no_body) {
    body.drain(n);
  } else {
    conn_->output().add_buffer(body);
    body_bytes_ = n;
  }
  finish();
}

void Request::send_reply(int status, std::string_view body, std::string_view reason) {
  bool no_body = is_head() || status == 304 || status == 204;
  write_head(status, reason, static_cast<std::int64_t>(body.size()), false);
  if (!no_body) {
    conn_->output().add(body);
    body_bytes_ = body.size();
  }
  finish();
}

void Request::send_reply_start(int status, std::string_view reason) {
  replying_ = true;
  chunked_ = head_.version_minor >= 1 && !is_head();
  write_head(status, reason, -1, chunked_);
}

void Request::send_reply_chunk(Buffer& data) {
  std::size_t n = data.length();
  if (!replying_ || n == 0 || is_head()) {
    data.drain(n);
    return;
  }
  Buffer& out = conn_->output();
  if (chunked_) out.add_printf("%zx\r\n", n);
  out.add_buffer(data);
  if (chunked_) out.add("\r\n", 2);
  body_bytes_ += n;
}

void Request::send_reply_end() {
  if (!replying_) return;
  if (chunked_) conn_->output().add("0\r\n\r\n", 5);
  replying_ = false;
  finish();
}

void Request::send_error(int status, std::string_view detail) {
  std::string page = "<!DOCTYPE html>\n<html><head><title>" + std::to_string(status) + " " + reason_phrase(status) +
                     "</title></head>\n<body><h1>" + std::to_string(status) + " " + reason_phrase(status) + "</h1>\n";
  if (!detail.empty()) page += "<p>" + html_escape(detail) + "</p>\n";
  page += "</body></html>\n";
  reply_headers_.set("Content-Type", "text/html; charset=utf-8");
  send_reply(status, std::string_view(page));
}

void Request::finish() { conn_->reply_done(*this); }

std::string http_date(long unix_seconds) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  // "Sun, 06 Nov 1994 08:49:37 GMT", written by hand: a file server sends
  // one per reply (Last-Modified), and snprintf was a visible share of a
  // small file's cost.
  std::string out(29, ' ');
  auto two = [&out](std::size_t at, int v) {
    out[at] = static_cast<char>('0' + v / 10 % 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  std::memcpy(&out[0], kDays[tm.tm_wday % 7], 3);
  out[3] = ',';
  two(5, tm.tm_mday);
  std::memcpy(&out[8], kMonths[tm.tm_mon % 12], 3);
  int year = tm.tm_year + 1900;
  two(12, year / 100);
  two(14, year % 100);
  two(17, tm.tm_hour);
  out[19] = ':';
  two(20, tm.tm_min);
  out[22] = ':';
  two(23, tm.tm_sec);
  std::memcpy(&out[26], "GMT", 3);
  return out;
}

long parse_http_date(std::string_view text) {
  if (text.size() > 64) return -1;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  // IMF-fixdate, the obsolete RFC 850 form, and asctime().
  static const char* const kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  for (const char* fmt : kFormats) {
    std::tm tm{};
    const char* end = strptime(buf, fmt, &tm);
    if (end && *end == 0) return static_cast<long>(timegm(&tm));
  }
  return -1;
}

}  // namespace ev::http
