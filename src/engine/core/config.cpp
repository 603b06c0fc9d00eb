// Config and the choice of a backend: the registry's order of preference,
// filtered by the environment (EVENT_NO<METHOD>), avoided methods and the
// required features.
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "engine/core/detail/backend.h"
#include "engine/core/event_base.h"

namespace ev {

std::string features_string(int features) {
  std::string out;
  auto add = [&](int bit, const char* name) {
    if (!(features & bit)) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(kFeatureET, "ET");
  add(kFeatureO1, "O1");
  add(kFeatureFDS, "FDS");
  return out;
}

int feature_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ET") return kFeatureET;
  if (upper == "O1") return kFeatureO1;
  if (upper == "FDS") return kFeatureFDS;
  if (upper == "EARLY_CLOSE") return kFeatureEarlyClose;
  return 0;
}

const std::vector<MethodInfo>& compiled_methods() {
  static const std::vector<MethodInfo> methods = [] {
    std::vector<MethodInfo> out;
    std::size_t n = 0;
    const detail::BackendEntry* entries = detail::backend_entries(&n);
    for (std::size_t i = 0; i < n; ++i) out.push_back({entries[i].name, entries[i].features});
    return out;
  }();
  return methods;
}

namespace {

// "EVENT_NOEPOLL" for "epoll".
std::string env_name(const char* method) {
  std::string name = "EVENT_NO";
  for (const char* p = method; *p; ++p) name += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  return name;
}

bool disabled_by_env(const char* method) { return std::getenv(env_name(method).c_str()) != nullptr; }

// Like features_string(), but also names EARLY_CLOSE: a config can require
// it, so a refusal must be able to say that it is missing.
std::string feature_names(int features) {
  std::string out = features_string(features);
  if (features & kFeatureEarlyClose) out += out.empty() ? "EARLY_CLOSE" : ",EARLY_CLOSE";
  return out;
}

}  // namespace

std::vector<std::string> supported_methods() {
  std::vector<std::string> out;
  for (const MethodInfo& m : compiled_methods())
    if (!disabled_by_env(m.name)) out.emplace_back(m.name);
  return out;
}

Config& Config::avoid_method(std::string_view name) {
  avoid_.emplace_back(name);
  return *this;
}
Config& Config::require_method(std::string_view name) {
  method_ = name;
  return *this;
}
Config& Config::require_features(int features) {
  features_ |= features;
  return *this;
}
Config& Config::set_flag(int flag) {
  flags_ |= flag;
  return *this;
}
Config& Config::set_max_dispatch_interval(Duration max_interval, int max_callbacks, int min_priority) {
  max_interval_ = max_interval;
  max_callbacks_ = max_callbacks;
  min_priority_ = min_priority;
  return *this;
}

std::vector<MethodChoice> rank_methods(const Config& cfg) {
  std::vector<MethodChoice> out;
  bool use_env = !(cfg.flags() & Config::kIgnoreEnv);
  for (const MethodInfo& m : compiled_methods()) {
    MethodChoice c;
    c.name = m.name;
    c.features = m.features;
    c.available = !(use_env && disabled_by_env(m.name));
    int missing = cfg.required_features() & ~m.features;
    bool avoided = std::any_of(cfg.avoided().begin(), cfg.avoided().end(),
                               [&](const std::string& a) { return strcasecmp(a.c_str(), m.name) == 0; });
    if (!c.available) c.why_not = "disabled by " + env_name(m.name);
    else if (avoided) c.why_not = "avoided";
    else if (!cfg.required_method().empty() && strcasecmp(cfg.required_method().c_str(), m.name) != 0)
      c.why_not = "not the requested backend";
    else if (missing) c.why_not = "lacks " + feature_names(missing);
    c.eligible = c.why_not.empty();
    out.push_back(std::move(c));
  }
  return out;
}

std::string choose_method(const Config& cfg, std::string* why) {
  std::vector<MethodChoice> ranked = rank_methods(cfg);
  for (const MethodChoice& c : ranked)
    if (c.eligible) return c.name;
  if (why) {
    if (!cfg.required_method().empty()) {
      auto it = std::find_if(ranked.begin(), ranked.end(), [&](const MethodChoice& c) {
        return strcasecmp(cfg.required_method().c_str(), c.name.c_str()) == 0;
      });
      *why = it == ranked.end() ? "unknown backend '" + cfg.required_method() + "'"
                                : "backend " + it->name + " " + it->why_not;
      return {};
    }
    std::string detail;
    for (const MethodChoice& c : ranked) {
      if (!detail.empty()) detail += "; ";
      detail += c.name + " " + c.why_not;
    }
    if (cfg.required_features())
      *why = "no backend offers all of " + feature_names(cfg.required_features()) + " (" + detail + ")";
    else
      *why = "no usable backend (" + detail + ")";
  }
  return {};
}

}  // namespace ev
