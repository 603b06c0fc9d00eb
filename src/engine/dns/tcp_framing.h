// DNS over TCP (RFC 1035 4.2.2): every message travels behind a two-byte
// big-endian length. Shared by the resolver, the server and the forwarder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/io/buffer.h"

namespace ev::dns {

// Appends msg, with its length prefix, to out (msg is at most 65535 bytes).
void write_tcp_message(Buffer& out, std::span<const std::uint8_t> msg);
// Moves one whole message (without the prefix) from in into msg; false,
// taking nothing, while the message is not complete yet.
bool read_tcp_message(Buffer& in, std::vector<std::uint8_t>& msg);

}  // namespace ev::dns
