// `evtool --dump-cli` (hidden): the declared interface as JSON, so the doc
// test can hold the man page and the completions to it.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace evtool {

nlohmann::json describe_cli(const CLI::App& app);

}  // namespace evtool
