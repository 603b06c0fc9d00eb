// Socket addresses: parsing "1.2.3.4:80", "[::1]:80", "::1", "1.2.3.4" and
// printing them back (inet_pton(3), inet_ntop(3)), like libevent's
// evutil_parse_sockaddr_port, whose over-long "[...]" input was
// CVE-2016-10196: here every length is checked. A SocketAddress may also
// hold a Unix domain socket path (unix(7)), printed "unix:PATH", so that
// listeners and connectors take either kind.
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
  bool is_unix() const { return family() == AF_UNIX; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  int port() const;
  void set_port(int port);
  // "127.0.0.1" or "::1" (no brackets, no port); a Unix address's path.
  std::string host() const;
  // "127.0.0.1:8080", "[::1]:8080" or "unix:/run/x.sock".
  std::string to_string() const;

  static SocketAddress from(const sockaddr* sa, socklen_t len);
  // A Unix domain socket at `path`; nullopt (and a reason in `why`) when
  // the path is empty or longer than sun_path holds (107 bytes on Linux).
  static std::optional<SocketAddress> unix_path(std::string_view path, std::string* why = nullptr);
};

// Parses an IP literal with an optional port. `default_port` is used when
// the text has none. Returns nullopt (and a reason in `why`) for anything
// else: names, empty text, bad brackets, ports outside 0..65535, trailing
// garbage, text longer than any address can be.
std::optional<SocketAddress> parse_sockaddr_port(std::string_view text, int default_port = 0,
                                                 std::string* why = nullptr);

// An IP literal alone (no port); brackets allowed around IPv6.
std::optional<SocketAddress> parse_ip(std::string_view text, int port = 0);

// Where a client connects: a host (a name, or an IP literal without
// brackets) and a port, or a Unix socket path (`unix` set, host and port
// unused).
struct Endpoint {
  std::string host;
  int port = 0;
  std::optional<SocketAddress> unix;
};

// Parses "HOST:PORT", "[IPv6]:PORT" or "unix:PATH" (socat's and curl's
// forms). A host is an IP literal or a name of at most 253 bytes made of
// letters, digits, '-', '_' and '.'; the port is required (1..65535).
// nullopt, and a reason in `why`, for anything else.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* why = nullptr);

// A decimal port 0..65535 with nothing else around it.
std::optional<int> parse_port(std::string_view text);

}  // namespace ev
