#include "engine/dns/detail/config_text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace ev::dns::detail {

namespace {
constexpr std::size_t kMaxFileSize = std::size_t{64} << 20;
}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string* why) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    if (why) *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[16384];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f.get())) {
    text.append(buf, n);
    if (text.size() > kMaxFileSize) {
      if (why) *why = path + ": file too large";
      return std::nullopt;
    }
  }
  if (std::ferror(f.get())) {
    if (why) *why = path + ": read error";
    return std::nullopt;
  }
  return text;
}

std::string_view next_word(std::string_view& rest) {
  std::size_t i = 0;
  while (i < rest.size() && is_space(rest[i])) ++i;
  std::size_t start = i;
  while (i < rest.size() && !is_space(rest[i])) ++i;
  std::string_view word = rest.substr(start, i - start);
  rest.remove_prefix(i);
  return word;
}

std::string quoted(std::string_view s) {
  std::string out(1, '\'');  // built in place: GCC 12 misreads "'" + string as overlapping (-Wrestrict)
  out.append(s.substr(0, 100));
  out.push_back('\'');
  return out;
}

}  // namespace ev::dns::detail
