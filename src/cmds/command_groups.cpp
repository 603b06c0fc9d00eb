// The command groups and their subcommands, in one table each.
#include <initializer_list>

#include "cmds/commands.h"
#include "cmds/dns_commands.h"
#include "cmds/http_commands.h"
#include "cmds/tcp_commands.h"
#include "cmds/udp_commands.h"

namespace evtool {
namespace {

using AddSubcommand = void (*)(CLI::App& group, Context& ctx);

void add_group(CLI::App& app, Context& ctx, const char* name, const char* about,
               std::initializer_list<AddSubcommand> subcommands) {
  CLI::App* group = app.add_subcommand(name, about);
  group->require_subcommand(1);
  for (AddSubcommand add : subcommands) add(*group, ctx);
}

}  // namespace

void add_tcp_command(CLI::App& app, Context& ctx) {
  add_group(app, ctx, "tcp", "TCP tools: echo server, chat server, chat client, port forwarder",
            {add_tcp_echo_command, add_tcp_serve_command, add_tcp_chat_command, add_tcp_forward_command});
}

void add_udp_command(CLI::App& app, Context& ctx) {
  add_group(app, ctx, "udp", "UDP tools: echo server, datagram client", {add_udp_echo_command, add_udp_chat_command});
}

void add_http_command(CLI::App& app, Context& ctx) {
  add_group(app, ctx, "http", "HTTP tools: static file server, curl-like client",
            {add_http_serve_command, add_http_client_commands});
}

void add_dns_command(CLI::App& app, Context& ctx) {
  add_group(app, ctx, "dns", "DNS tools: resolve names, serve zones", {add_dns_resolve_command, add_dns_serve_command});
}

}  // namespace evtool
