// libFuzzer target: the target parser of `tcp forward` (ev::parse_endpoint:
// "HOST:PORT", "[IPv6]:PORT", "unix:PATH") and Unix socket addresses.
// Whatever the input, parsing must not crash; what parses must print back
// into text that parses to the same endpoint, and a Unix path must survive
// the trip through sockaddr_un unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/util/sockaddr.h"

namespace {
std::string print(const ev::Endpoint& e) {
  if (e.unix) return e.unix->to_string();
  bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto e = ev::parse_endpoint(text, &why)) {
    if (!e->unix && (e->port < 1 || e->port > 65535 || e->host.empty())) std::abort();
    auto again = ev::parse_endpoint(print(*e));
    if (!again || print(*again) != print(*e)) std::abort();
  } else if (why.empty()) {
    std::abort();  // a refusal always says why
  }
  if (auto un = ev::SocketAddress::unix_path(text)) {
    if (!un->is_unix() || un->host() != text || un->to_string() != "unix:" + std::string(text)) std::abort();
  }
  return 0;
}
