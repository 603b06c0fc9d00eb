#include "engine/dns/tcp_framing.h"

namespace ev::dns {

void write_tcp_message(Buffer& out, std::span<const std::uint8_t> msg) {
  std::uint8_t len[2] = {static_cast<std::uint8_t>(msg.size() >> 8), static_cast<std::uint8_t>(msg.size())};
  out.add(len, 2);
  out.add(msg.data(), msg.size());
}

bool read_tcp_message(Buffer& in, std::vector<std::uint8_t>& msg) {
  std::uint8_t len[2];
  if (in.copyout(len, 2) != 2) return false;
  std::size_t n = (static_cast<std::size_t>(len[0]) << 8) | len[1];
  if (in.length() < n + 2) return false;
  in.drain(2);
  msg.resize(n);
  in.remove(msg.data(), n);
  return true;
}

}  // namespace ev::dns
