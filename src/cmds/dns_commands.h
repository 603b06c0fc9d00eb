// The dns command group: `dns resolve` (alias `lookup`) and `dns serve`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace evtool {

void add_dns_resolve_command(CLI::App& dns, Context& ctx);
void add_dns_serve_command(CLI::App& dns, Context& ctx);

}  // namespace evtool
