#include "cli/context.h"

namespace evtool {

ev::Config Context::config() const {
  ev::Config cfg;
  for (const std::string& name : options.avoid) cfg.avoid_method(name);
  for (const std::string& f : options.require) cfg.require_features(ev::feature_from_name(f));
  if (!options.backend.empty()) cfg.require_method(options.backend);
  return cfg;
}

std::unique_ptr<ev::EventBase> Context::make_base(int* exit_code, int flags) const {
  std::string why;
  ev::Config cfg = config();
  if (flags) cfg.set_flag(flags);
  auto base = ev::EventBase::create(cfg, &why);
  if (!base) {
    out.error("%s", why.c_str());
    *exit_code = kExitFailure;
    return nullptr;
  }
  out.debug("backend: %s (%s)", base->method(), ev::features_string(base->features()).c_str());
  return base;
}

int Context::run_parsed() const {
  for (const Command& c : commands_)
    if (c.app->parsed()) return c.run();
  return -1;
}

}  // namespace evtool
