#include "cmds/commands.h"
#include "cmds/tcp_commands.h"

namespace evtool {

void add_tcp_command(CLI::App& app, Context& ctx) {
  CLI::App* tcp = app.add_subcommand("tcp", "TCP tools: echo server, chat server, chat client");
  tcp->require_subcommand(1);
  add_tcp_echo_command(*tcp, ctx);
  add_tcp_serve_command(*tcp, ctx);
  add_tcp_chat_command(*tcp, ctx);
}

}  // namespace evtool
