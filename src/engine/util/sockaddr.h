// Socket addresses: parsing "1.2.3.4:80", "[::1]:80", "::1", "1.2.3.4" and
// printing them back (inet_pton(3), inet_ntop(3)), like libevent's
// evutil_parse_sockaddr_port, whose over-long "[...]" input was
// CVE-2016-10196: here every length is checked.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace ev {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  int port() const;
  void set_port(int port);
  // "127.0.0.1" or "::1" (no brackets, no port).
  std::string host() const;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;

  static SocketAddress from(const sockaddr* sa, socklen_t len);
};

// Parses an IP literal with an optional port. `default_port` is used when
// the text has none. Returns nullopt (and a reason in `why`) for anything
// else: names, empty text, bad brackets, ports outside 0..65535, trailing
// garbage, text longer than any address can be.
std::optional<SocketAddress> parse_sockaddr_port(std::string_view text, int default_port = 0,
                                                 std::string* why = nullptr);

// An IP literal alone (no port); brackets allowed around IPv6.
std::optional<SocketAddress> parse_ip(std::string_view text, int port = 0);

// A decimal port 0..65535 with nothing else around it.
std::optional<int> parse_port(std::string_view text);

}  // namespace ev
