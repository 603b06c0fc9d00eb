// The udp command group: `udp echo` (a server on the server frame, one
// datagram socket per loop) and `udp chat` (a client: stdin lines as
// datagrams, datagrams to stdout).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace evtool {

void add_udp_echo_command(CLI::App& udp, Context& ctx);
void add_udp_chat_command(CLI::App& udp, Context& ctx);

}  // namespace evtool
