// Temporary: replaced by http_client.cpp (http get / post).
#include "cmds/http_commands.h"
namespace evtool {
__attribute__((weak)) void add_http_client_commands(CLI::App&, Context&) {}
}  // namespace evtool
