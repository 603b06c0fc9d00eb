#include "cli/output.h"

#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "engine/util/base64.h"

namespace evtool {

void Output::configure(bool json, bool quiet, bool verbose) {
  json_ = json;
  quiet_ = quiet;
  verbose_ = verbose && !quiet;
  // Scripts read servers' lines as they come, so a pipe is line-buffered too.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

void Output::line(std::string_view text) const {
  if (batch_) {
    batch_->append(text);
    batch_->push_back('\n');
    return;
  }
  // One lock for the text and its newline: server loops on other threads
  // print too, and their lines must not interleave.
  flockfile(stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  funlockfile(stdout);
}

Output::Batch::~Batch() {
  out_.batch_ = nullptr;
  if (text_.empty()) return;
  flockfile(stdout);
  std::fwrite(text_.data(), 1, text_.size(), stdout);
  std::fflush(stdout);
  funlockfile(stdout);
}

void Output::json_line(const Json& doc) const {
  // Invalid UTF-8 from the network is replaced, never a reason to throw.
  line(doc.dump(-1, ' ', false, Json::error_handler_t::replace));
}

namespace {
void vprint(const char* prefix, const char* fmt, va_list ap) {
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::fprintf(stderr, "%s%s\n", prefix, buf);
}
}  // namespace

void Output::info(const char* fmt, ...) const {
  if (quiet_) return;
  va_list ap;
  va_start(ap, fmt);
  vprint("evtool: ", fmt, ap);
  va_end(ap);
}

void Output::debug(const char* fmt, ...) const {
  if (!verbose_) return;
  va_list ap;
  va_start(ap, fmt);
  vprint("evtool: ", fmt, ap);
  va_end(ap);
}

void Output::error(const char* fmt, ...) const {
  va_list ap;
  va_start(ap, fmt);
  vprint("evtool: error: ", fmt, ap);
  va_end(ap);
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n > 3 || s.size() - i <= n) return false;  // not a lead byte, or cut short
    std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    static const std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += n + 1;
  }
  return true;
}

void put_text(Json& doc, const std::string& key, std::string_view data) {
  if (valid_utf8(data)) doc[key] = data;
  else doc[key + "_base64"] = ev::base64_encode(data);
}

double round_ms(double seconds) { return std::round(seconds * 1000.0) / 1000.0; }

std::string rfc3339_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  std::tm tm{};
  localtime_r(&now.tv_sec, &tm);
  char date[32], offset[8];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  std::strftime(offset, sizeof offset, "%z", &tm);  // "+0100": RFC 3339 wants "+01:00"
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03ld%.3s:%.2s", date, now.tv_nsec / 1000000, offset, offset + 3);
  return out;
}

}  // namespace evtool
