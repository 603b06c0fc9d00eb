// Output rules of CLI.md: data on stdout (never buffered past a line),
// diagnostics on stderr, --json as one document or NDJSON, -q and -v.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace evtool {

// Keys keep the order they were written in, as CLI.md shows them.
using Json = nlohmann::ordered_json;

class Output {
 public:
  // Call once, after the global options are parsed.
  void configure(bool json, bool quiet, bool verbose);
  bool json() const { return json_; }
  bool quiet() const { return quiet_; }
  bool verbose() const { return verbose_; }

  // One line of data on stdout (a newline is added).
  void line(std::string_view text) const;
  // One JSON document on a single stdout line (NDJSON for streams).
  void json_line(const Json& doc) const;
  // Lines printed while a Batch lives go out together when it ends: one
  // write(2) for every answer a loop iteration finished, not one per line
  // (a bulk lookup prints thousands). Not nestable; one thread.
  class Batch {
   public:
    explicit Batch(const Output& out) : out_(out) { out_.batch_ = &text_; }
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    const Output& out_;
    std::string text_;
  };

  // Diagnostics on stderr: info() unless -q, debug() only with -v,
  // error() always ("evtool: error: ...").
  void info(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));
  void debug(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));
  void error(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

 private:
  mutable std::string* batch_ = nullptr;  // the live Batch's text
  bool json_ = false;
  bool quiet_ = false;
  bool verbose_ = false;
};

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates, or
// code points beyond U+10FFFF).
bool valid_utf8(std::string_view s);
// doc[key] = data when it is UTF-8 text, else doc[key + "_base64"] = its
// Base64, so that JSON output never alters bytes (`body`/`body_base64`).
void put_text(Json& doc, const std::string& key, std::string_view data);

// Seconds rounded to milliseconds, for JSON numbers (1.5, not 1.50000012).
double round_ms(double seconds);

// The time now in RFC 3339 form, local time with milliseconds and the
// offset: "2026-12-07T20:45:01.123+01:00" (for logs and JSON events).
std::string rfc3339_now();

}  // namespace evtool
