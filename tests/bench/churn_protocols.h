// What churn_load sends and what it accepts back: DNS queries and answers
// (RFC 1035 4.1; over TCP with a two-byte length, 4.2.2) and HTTP/1.1
// responses to GET (RFC 9112: status line, Content-Length framing).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace churn {

// GET `path` must answer `body` with status 200.
struct Fetch {
  std::string path;
  std::string body;
};

// An A query for `name` with ID `id`, no recursion asked (RFC 1035 4.1).
inline std::string dns_query(std::uint16_t id, const std::string& name) {
  std::string q = {char(id >> 8), char(id & 0xff), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  std::size_t at = 0;
  while (at < name.size()) {
    std::size_t dot = std::min(name.find('.', at), name.size());
    q += static_cast<char>(dot - at);
    q.append(name, at, dot - at);
    at = dot + 1;
  }
  q.append("\0\0\1\0\1", 5);  // the root, QTYPE A, QCLASS IN
  return q;
}

// A message's ID; `msg` holds at least two bytes.
inline std::uint16_t dns_id(std::string_view msg) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(msg[0]) << 8 | static_cast<unsigned char>(msg[1]));
}

// "" when `msg` answers query `id` with NOERROR and at least one answer.
inline std::string dns_check(std::string_view msg, std::uint16_t id) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(msg[i]); };
  if (msg.size() < 12) return "dns: answer shorter than a header";
  if (dns_id(msg) != id) return "dns: answer with another ID";
  if (!(byte(2) & 0x80)) return "dns: not a response";
  if ((byte(3) & 0x0f) != 0) return "dns: rcode " + std::to_string(byte(3) & 0x0f);
  if ((byte(6) << 8 | byte(7)) == 0) return "dns: no answer record";
  return "";
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A header's value in a response head (names compared case-insensitively).
inline std::string header_value(const std::string& head, const std::string& name) {
  std::string h = lower(head);
  auto at = h.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 3;
  auto end = h.find("\r\n", at);
  std::string v = h.substr(at, end - at);
  v.erase(0, v.find_first_not_of(" \t"));
  v.erase(v.find_last_not_of(" \t") + 1);
  return v;
}

enum class Reply { Incomplete, Done, Bad };

// Checks one HTTP response at the front of `in` against `want`; removes it
// when Done. Without keep-alive the body runs to EOF (`eof`).
inline Reply http_check(std::string& in, const Fetch& want, bool keep_alive, bool eof, std::string& why) {
  if (!keep_alive && !eof) return Reply::Incomplete;
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    why = "http: EOF before the end of the head";
    return eof ? Reply::Bad : Reply::Incomplete;
  }
  std::string head = in.substr(0, head_end);
  if (head.compare(0, 13, "HTTP/1.1 200 ") != 0) {
    why = "http: " + head.substr(0, head.find("\r\n"));
    return Reply::Bad;
  }
  std::string length = header_value(head, "content-length");
  if (length.empty() || length != std::to_string(want.body.size())) {
    why = "http: Content-Length '" + length + "' for " + std::to_string(want.body.size()) + " bytes";
    return Reply::Bad;
  }
  std::size_t total = head_end + 4 + want.body.size();
  if (in.size() < total && !eof) return Reply::Incomplete;
  if (in.size() != total) {
    why = in.size() < total ? "http: body cut short" : "http: bytes after the body";
    return Reply::Bad;
  }
  if (in.compare(head_end + 4, std::string::npos, want.body) != 0) {
    why = "http: body differs from " + want.path;
    return Reply::Bad;
  }
  if (keep_alive && header_value(head, "connection") == "close") {
    why = "http: the server ended a keep-alive connection";
    return Reply::Bad;
  }
  in.clear();
  return Reply::Done;
}

}  // namespace churn
