#include "engine/util/units.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ev {
namespace {

// Splits "1.5ms" into 1.5 and "ms"; the number is plain decimal (no sign,
// exponent, hex, inf or nan: strtod would take all of those).
bool split_number(std::string_view text, double* value, std::string_view* unit) {
  std::size_t i = 0;
  bool digits = false, dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') digits = true;
    else if (c == '.' && !dot) dot = true;
    else break;
  }
  if (!digits || i > 32) return false;
  std::string number(text.substr(0, i));
  *value = std::strtod(number.c_str(), nullptr);
  *unit = text.substr(i);
  return std::isfinite(*value);
}

}  // namespace

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) {
  double value;
  std::string_view unit;
  if (!split_number(text, &value, &unit)) return std::nullopt;
  double scale;
  if (unit.empty() || unit == "s") scale = 1e6;
  else if (unit == "ms") scale = 1e3;
  else if (unit == "us") scale = 1;
  else if (unit == "m") scale = 60e6;
  else if (unit == "h") scale = 3600e6;
  else return std::nullopt;
  double us = value * scale;
  if (us > 366.0 * 24 * 3600e6) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(us)));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  double value;
  std::string_view unit;
  if (!split_number(text, &value, &unit)) return std::nullopt;
  double scale;
  if (unit.empty()) scale = 1;
  else if (unit == "k" || unit == "K") scale = 1024.0;
  else if (unit == "m" || unit == "M") scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "G") scale = 1024.0 * 1024 * 1024;
  else return std::nullopt;
  double bytes = value * scale;
  if (bytes > 4.6e18) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::string format_duration(std::chrono::microseconds d) {
  char buf[64];
  std::int64_t us = d.count();
  if (us % 1000 != 0) std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(us));
  else if (us < 1000000) std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(us / 1000));
  else std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(us) / 1e6);
  return buf;
}

}  // namespace ev
