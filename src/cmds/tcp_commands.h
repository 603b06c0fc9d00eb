// The tcp command group: `tcp echo`, `tcp serve` and `tcp forward`
// (servers on the server frame) and `tcp chat` (a client on
// dns::Connector).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace evtool {

void add_tcp_echo_command(CLI::App& tcp, Context& ctx);
void add_tcp_serve_command(CLI::App& tcp, Context& ctx);
void add_tcp_chat_command(CLI::App& tcp, Context& ctx);
void add_tcp_forward_command(CLI::App& tcp, Context& ctx);

}  // namespace evtool
