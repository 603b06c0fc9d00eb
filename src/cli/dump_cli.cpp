#include "cli/dump_cli.h"

namespace evtool {

nlohmann::json describe_cli(const CLI::App& app) {
  nlohmann::json options = nlohmann::json::array();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    for (const std::string& name : opt->get_lnames()) options.push_back("--" + name);
  }
  nlohmann::json subs = nlohmann::json::array();
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    subs.push_back(describe_cli(*sub));
  }
  return {{"name", app.get_name()}, {"aliases", app.get_aliases()}, {"options", options}, {"subcommands", subs}};
}

}  // namespace evtool
