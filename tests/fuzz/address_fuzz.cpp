// libFuzzer target: the socket-address parser (the shape of libevent's
// CVE-2016-10196) and the CLI's duration / size / port parsers. Whatever
// the input, parsing must not crash, and what parses must print back into
// something that parses to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/util/sockaddr.h"
#include "engine/util/units.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto addr = ev::parse_sockaddr_port(text, 0, &why)) {
    auto again = ev::parse_sockaddr_port(addr->to_string());
    if (!again || again->to_string() != addr->to_string() || addr->port() < 0 || addr->port() > 65535) std::abort();
  }
  ev::parse_ip(text);
  if (auto port = ev::parse_port(text); port && (*port < 0 || *port > 65535)) std::abort();
  if (auto d = ev::parse_duration(text); d && d->count() < 0) std::abort();
  ev::parse_size(text);
  return 0;
}
