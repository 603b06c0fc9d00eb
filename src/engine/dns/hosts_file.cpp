// hosts(5): one line per address; a bad address or name is a warning.
#include "engine/dns/hosts_file.h"

#include <sys/socket.h>

#include <cstring>

#include "engine/dns/detail/config_text.h"
#include "engine/dns/message.h"

namespace ev::dns {
namespace {

// The same IP address (ports and scope aside).
bool same_address(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(b.sa())->sin_addr, sizeof(in_addr)) == 0;
  if (a.family() == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b.sa())->sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

}  // namespace

HostsFile HostsFile::parse(std::string_view text, std::vector<std::string>* warnings) {
  using detail::next_word;
  using detail::quoted;
  HostsFile hosts;
  auto warn = [&](int number, const std::string& what) {
    if (warnings) warnings->push_back("line " + std::to_string(number) + ": " + what);
  };
  detail::for_each_line(text, [&](std::string_view line, int number) {
    std::string_view rest = detail::strip_comment(line, "#");
    std::string_view first = next_word(rest);
    if (first.empty()) return;
    auto addr = parse_ip(first);
    if (!addr) return warn(number, "bad address " + quoted(first));
    bool canonical = true;
    for (std::string_view name = next_word(rest); !name.empty(); name = next_word(rest)) {
      auto text = qualify_name(name, "");  // "Www.Example.COM." -> "Www.Example.COM"
      if (!text || text->empty()) {
        warn(number, "bad host name " + quoted(name));
        continue;
      }
      hosts.entries_.push_back({*addr, std::move(*text), canonical});
      canonical = false;
    }
    if (canonical) warn(number, "address without a name");
  });
  return hosts;
}

std::optional<HostsFile> HostsFile::load(const std::string& path, std::string* why) {
  auto text = detail::read_file(path, kMaxHostsFile, why);
  if (!text) return std::nullopt;
  return parse(*text);
}

std::vector<SocketAddress> HostsFile::lookup(std::string_view name, int family) const {
  std::vector<SocketAddress> out;
  for (const Entry& e : entries_) {
    if (!names_equal(e.name, name) || (family != AF_UNSPEC && e.address.family() != family)) continue;
    bool seen = false;
    for (const SocketAddress& a : out) seen = seen || same_address(a, e.address);
    if (!seen) out.push_back(e.address);
  }
  return out;
}

std::optional<std::string> HostsFile::reverse(const SocketAddress& addr) const {
  for (const Entry& e : entries_)
    if (e.canonical && same_address(e.address, addr)) return e.name;
  return std::nullopt;
}

}  // namespace ev::dns
