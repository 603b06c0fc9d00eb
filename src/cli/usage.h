// How evtool talks about its own command line: help text that names values
// the way the man page does (DUR, SIZE, N, PORT rather than CLI11's
// "TEXT:DURATION" or "INT:N:INT in [1 - 256]"), the top-level help's exit
// codes and examples, and usage errors that name the culprit (an unknown
// option, an unknown command with a suggestion) and point at the help of
// the command being run.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace evtool {

// Installs the help formatter on `app`; subcommands added afterwards
// inherit it.
void configure_help(CLI::App& app);
// The top-level help's footer (exit codes, examples); call after adding the
// subcommands, which would inherit it otherwise.
void add_help_footer(CLI::App& app);

// Prints the usage error for `e` on stderr ("evtool: error: ...", then
// "Run 'evtool PATH --help' for usage.") and returns exit status 2.
int report_usage_error(const CLI::App& app, const CLI::ParseError& e);

}  // namespace evtool
