#include "engine/util/sockaddr.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace ev {
namespace {

// The longest text any IP literal with a port can be: "[" 45-char IPv6
// (with embedded IPv4) "]:" 5-digit port. Anything longer is rejected
// before it is copied anywhere (the CVE-2016-10196 shape).
constexpr std::size_t kMaxText = 1 + INET6_ADDRSTRLEN + 2 + 5;

void set_why(std::string* why, const std::string& text) {
  if (why) *why = text;
}

}  // namespace

std::optional<int> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

std::optional<SocketAddress> parse_ip(std::string_view text, int port) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
  }
  // An embedded NUL would end the copy early: "1.2.3.4\0junk" is not an address.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
    return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> parse_sockaddr_port(std::string_view text, int default_port, std::string* why) {
  if (text.empty()) return set_why(why, "empty address"), std::nullopt;
  if (text.size() > kMaxText) return set_why(why, "address too long"), std::nullopt;
  std::string_view host = text;
  int port = default_port;
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return set_why(why, "missing ']'"), std::nullopt;
    host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return set_why(why, "garbage after ']'"), std::nullopt;
      auto p = parse_port(rest.substr(1));
      if (!p) return set_why(why, "bad port"), std::nullopt;
      port = *p;
    }
  } else {
    std::size_t colon = text.find(':');
    // One colon: host:port. More than one: a bare IPv6 address, no port.
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
      host = text.substr(0, colon);
      auto p = parse_port(text.substr(colon + 1));
      if (!p) return set_why(why, "bad port"), std::nullopt;
      port = *p;
    }
  }
  auto addr = parse_ip(host, port);
  if (!addr) return set_why(why, "not an IP address"), std::nullopt;
  return addr;
}

namespace {
bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* why) {
  Endpoint e;
  if (text.substr(0, 5) == "unix:") {
    e.unix = SocketAddress::unix_path(text.substr(5), why);
    if (!e.unix) return std::nullopt;
    return e;
  }
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return set_why(why, "expected HOST:PORT"), std::nullopt;
  std::string_view host = text.substr(0, colon);
  auto port = parse_port(text.substr(colon + 1));
  if (!port || *port == 0) return set_why(why, "expected a port 1..65535 after the last ':'"), std::nullopt;
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    if (!parse_ip(host)) return set_why(why, "not an IPv6 address in brackets"), std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return set_why(why, "an IPv6 address needs brackets: [::1]:PORT"), std::nullopt;
  } else if (!parse_ip(host) && !valid_host_name(host)) {
    return set_why(why, "not a host name or IP address"), std::nullopt;
  }
  e.host = std::string(host);
  e.port = *port;
  return e;
}

int SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SocketAddress::set_port(int port) {
  auto p = htons(static_cast<std::uint16_t>(port));
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = p;
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = p;
}

std::string SocketAddress::host() const {
  if (is_unix()) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    std::size_t max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    return std::string(un->sun_path, strnlen(un->sun_path, std::min(max, sizeof un->sun_path)));
  }
  char buf[INET6_ADDRSTRLEN] = "";
  if (family() == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  if (family() == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
  return buf;
}

std::string SocketAddress::to_string() const {
  if (is_unix()) return "unix:" + host();
  std::string h = host();
  if (family() == AF_INET6) h = "[" + h + "]";
  return h + ":" + std::to_string(port());
}

std::optional<SocketAddress> SocketAddress::unix_path(std::string_view path, std::string* why) {
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  if (path.empty()) return set_why(why, "empty socket path"), std::nullopt;
  if (path.size() >= sizeof un->sun_path || path.find('\0') != std::string_view::npos)
    return set_why(why, "socket path longer than " + std::to_string(sizeof un->sun_path - 1) + " bytes"), std::nullopt;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

SocketAddress SocketAddress::from(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  std::memcpy(&a.storage, sa, len);
  a.length = len;
  return a;
}

}  // namespace ev
