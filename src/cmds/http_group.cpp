#include "cmds/commands.h"
#include "cmds/http_commands.h"

namespace evtool {

void add_http_command(CLI::App& app, Context& ctx) {
  CLI::App* http = app.add_subcommand("http", "HTTP tools: static file server, curl-like client");
  http->require_subcommand(1);
  add_http_serve_command(*http, ctx);
  add_http_client_commands(*http, ctx);
}

}  // namespace evtool
