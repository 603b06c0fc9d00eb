#include "engine/dns/detail/config_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "engine/util/socket.h"

namespace ev::dns::detail {

namespace {

// "1 GiB", "64 MiB", "100 bytes": a bound, for messages.
std::string size_text(std::size_t n) {
  for (auto [shift, unit] : {std::pair<int, const char*>{30, " GiB"}, {20, " MiB"}, {10, " KiB"}})
    if (n >= (std::size_t{1} << shift) && n % (std::size_t{1} << shift) == 0) return std::to_string(n >> shift) + unit;
  return std::to_string(n) + " bytes";
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::size_t max_size, std::string* why, FileKind kind) {
  auto fail = [&](const std::string& what) {
    if (why) *why = path + ": " + what;
    return std::nullopt;
  };
  bool regular_only = kind == FileKind::Regular;
  // Opening a FIFO would wait for a writer: not when it is to be refused.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0)));
  if (fd.get() < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(std::strerror(errno));
  bool regular = S_ISREG(st.st_mode);
  if (regular_only && !regular) return fail("not a regular file");
  std::string too_large = "larger than " + size_text(max_size);
  if (regular && static_cast<std::uint64_t>(st.st_size) > max_size) return fail(too_large);
  std::string text;
  // A regular file: one read for the whole of it as stat sees it, one more
  // to find its end (it may have grown since, but not past the bound).
  text.resize(regular ? static_cast<std::size_t>(st.st_size) + 1 : 16384);
  std::size_t got = 0;
  while (true) {
    if (got == text.size()) {
      if (text.size() > max_size) return fail(too_large);
      text.resize(std::min(max_size + 1, text.size() * 2));
    }
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("read error: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
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
