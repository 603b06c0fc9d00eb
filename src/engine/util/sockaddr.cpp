#include "engine/util/sockaddr.h"

#include <arpa/inet.h>

#include <cstring>

namespace ev {
namespace {

// The longest text any IP literal with a port can be: "[" 45-char IPv6
// (with embedded IPv4) "]:" 5-digit port. Anything longer is rejected
// before it is copied anywhere (the CVE-2016-10196 shape).
constexpr std::size_t kMaxText = 1 + INET6_ADDRSTRLEN + 2 + 5;

void set_why(std::string* why, const char* text) {
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
  char buf[INET6_ADDRSTRLEN] = "";
  if (family() == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  if (family() == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
  return buf;
}

std::string SocketAddress::to_string() const {
  std::string h = host();
  if (family() == AF_INET6) h = "[" + h + "]";
  return h + ":" + std::to_string(port());
}

SocketAddress SocketAddress::from(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  std::memcpy(&a.storage, sa, len);
  a.length = len;
  return a;
}

}  // namespace ev
