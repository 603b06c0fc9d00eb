// The http command group: `http serve` (static files, --echo) and the
// curl-like clients `http get` and `http post`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace evtool {

void add_http_serve_command(CLI::App& http, Context& ctx);
// `http get` and `http post` (one module: they share every flag but the body).
void add_http_client_commands(CLI::App& http, Context& ctx);

}  // namespace evtool
