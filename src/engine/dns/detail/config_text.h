// Internals shared by the parsers of resolv.conf, hosts and zone files:
// reading a whole file, walking lines and words, quoting for messages.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace ev::dns::detail {

// The whole file, at most `max_size` bytes; nullopt with "PATH: reason" in
// `why` otherwise ("larger than 1 GiB"). Regular: a device, FIFO or
// directory is refused before anything is read (/dev/zero would never
// end). Any: those are read too, up to the bound (/dev/null is empty).
enum class FileKind { Regular, Any };
std::optional<std::string> read_file(const std::string& path, std::size_t max_size, std::string* why,
                                     FileKind kind = FileKind::Regular);

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Calls f(line, number) for every line, without its "\n" or "\r\n";
// numbers start at 1.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  int number = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
  }
}

// The next whitespace-separated word of `rest` ("" when there is none);
// `rest` moves past it.
std::string_view next_word(std::string_view& rest);

// `line` up to the first of `markers`.
inline std::string_view strip_comment(std::string_view line, std::string_view markers) {
  return line.substr(0, line.find_first_of(markers));
}

// 's' in single quotes, cut at 100 bytes, for warnings.
std::string quoted(std::string_view s);

// The whole of `text` as a T (from_chars); nullopt for anything else.
template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace ev::dns::detail
