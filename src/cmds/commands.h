// Every command group registers its subcommands here; main() calls each.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace evtool {

void add_backends_command(CLI::App& app, Context& ctx);
void add_timer_command(CLI::App& app, Context& ctx);
void add_tcp_command(CLI::App& app, Context& ctx);
void add_udp_command(CLI::App& app, Context& ctx);
void add_dns_command(CLI::App& app, Context& ctx);
void add_http_command(CLI::App& app, Context& ctx);

}  // namespace evtool
