// `evtool backends [--bench]`: which backends are compiled in, which are
// usable here and which one a default base picks; with --bench, the
// dispatch benchmark on each of them.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/validators.h"
#include "cmds/commands.h"
#include "cmds/dispatch_bench.h"
#include "engine/core/log.h"

namespace evtool {
namespace {

struct BackendsOptions {
  bool bench = false;
  DispatchBenchParams params;
};

// Backends usable under the current flags and environment (--avoid makes
// one unusable; --require and --backend only change which one is picked).
struct Row {
  ev::MethodChoice choice;
  bool usable;
  std::string reason;
};

std::vector<Row> backend_rows(const Context& ctx) {
  std::vector<Row> rows;
  for (ev::MethodChoice& c : ev::rank_methods(ctx.config())) {
    Row r{c, c.available && c.why_not != "avoided", {}};
    if (!r.usable) r.reason = c.why_not == "avoided" ? "avoided by --avoid" : c.why_not;
    rows.push_back(std::move(r));
  }
  return rows;
}

// Table lines end where their text does (no padding after the last column).
std::string_view trim_right(std::string_view line) {
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  return line;
}

Json features_json(int features) {
  Json out = Json::array();
  if (features & ev::kFeatureET) out.push_back("ET");
  if (features & ev::kFeatureO1) out.push_back("O1");
  if (features & ev::kFeatureFDS) out.push_back("FDS");
  return out;
}

int list_backends(const Context& ctx) {
  std::string why;
  std::string chosen = ev::choose_method(ctx.config(), &why);
  // A --backend that cannot be used (it lacks a --require'd feature, or is
  // unavailable) is an error about that flag: no table. When --require or
  // the environment leave nothing, the table shows why, with no default.
  if (chosen.empty() && !ctx.options.backend.empty()) {
    ctx.out.error("%s", why.c_str());
    return kExitFailure;
  }
  std::vector<Row> rows = backend_rows(ctx);
  if (ctx.out.json()) {
    Json methods = Json::array();
    for (const Row& r : rows) {
      Json m = {{"name", r.choice.name}, {"available", r.usable}, {"features", features_json(r.choice.features)}};
      if (!r.usable) m["reason"] = r.reason;
      methods.push_back(m);
    }
    Json doc = {{"version", ev::version()}};
    doc["default"] = chosen.empty() ? Json(nullptr) : Json(chosen);
    doc["methods"] = methods;
    ctx.out.json_line(doc);
  } else {
    char line[256];
    std::snprintf(line, sizeof line, "%-8s %-32s %-10s %s", "BACKEND", "AVAILABLE", "FEATURES", "DEFAULT");
    ctx.out.line(trim_right(line));
    for (const Row& r : rows) {
      std::string avail = r.usable ? "yes" : "no (" + r.reason + ")";
      std::string feats = ev::features_string(r.choice.features);
      std::snprintf(line, sizeof line, "%-8s %-32s %-10s %s", r.choice.name.c_str(), avail.c_str(),
                    feats.empty() ? "-" : feats.c_str(), r.choice.name == chosen ? "*" : "");
      ctx.out.line(trim_right(line));
    }
    ctx.out.line("default: " + (chosen.empty() ? std::string("none") : chosen));
  }
  if (chosen.empty()) {
    ctx.out.error("%s", why.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

int bench_backends(const Context& ctx, DispatchBenchParams params) {
  params.active = std::min(params.active, params.fds);
  Json results = Json::array();
  if (!ctx.out.json()) {
    ctx.out.line("dispatch benchmark: fds=" + std::to_string(params.fds) + " active=" + std::to_string(params.active) +
                 " writes=" + std::to_string(params.writes) + " rounds=" + std::to_string(params.rounds));
    char line[128];
    std::snprintf(line, sizeof line, "%-8s %12s %12s %12s", "BACKEND", "MEDIAN_US", "MIN_US", "MAX_US");
    ctx.out.line(line);
  }
  int rc = kExitOk;
  int ran = 0;
  for (const Row& r : backend_rows(ctx)) {
    bool wanted = ctx.options.backend.empty() || ctx.options.backend == r.choice.name;
    if (!r.usable || !wanted) continue;
    ev::Config cfg = ctx.config();
    cfg.require_method(r.choice.name);
    std::string why;
    auto base = ev::EventBase::create(cfg, &why);
    if (!base) {
      ctx.out.error("%s: %s", r.choice.name.c_str(), why.c_str());
      rc = kExitFailure;
      continue;
    }
    ++ran;
    try {
      EvLoopAdapter adapter(*base, params.fds);
      DispatchBenchResult res = run_dispatch_bench(adapter, params);
      if (ctx.out.json()) {
        results.push_back({{"method", r.choice.name}, {"median_us", round_ms(res.median_us)}, {"min_us", round_ms(res.min_us)},
                           {"max_us", round_ms(res.max_us)}});
      } else {
        char line[128];
        std::snprintf(line, sizeof line, "%-8s %12.1f %12.1f %12.1f", r.choice.name.c_str(), res.median_us, res.min_us,
                      res.max_us);
        ctx.out.line(line);
      }
    } catch (const std::exception& e) {
      ctx.out.error("%s: %s", r.choice.name.c_str(), e.what());
      rc = kExitFailure;
    }
  }
  if (ctx.out.json())
    ctx.out.json_line({{"fds", params.fds}, {"active", params.active}, {"writes", params.writes},
                       {"rounds", params.rounds}, {"results", results}});
  if (ran == 0) {
    std::string why;
    ev::choose_method(ctx.config(), &why);
    ctx.out.error("no backend to benchmark: %s", why.c_str());
    rc = kExitFailure;
  }
  return rc;
}

}  // namespace

void add_backends_command(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<BackendsOptions>();
  CLI::App* cmd = app.add_subcommand("backends", "List the event backends, or benchmark them with --bench");
  CLI::Option* bench = cmd->add_flag("--bench", opts->bench, "Run the dispatch benchmark on every available backend");
  cmd->add_option("--fds", opts->params.fds, "Socketpairs in the benchmark (default 1000)")
      ->check(kPositive)->check(CLI::Range(1, 1000000))->needs(bench);
  cmd->add_option("--active", opts->params.active, "Active pairs per round (default 100, capped at --fds)")
      ->check(kPositive)->needs(bench);
  cmd->add_option("--writes", opts->params.writes, "Writes per round (default 1000)")
      ->check(CLI::Range(0, 100000000))->needs(bench);
  cmd->add_option("--rounds", opts->params.rounds, "Rounds; the median is reported (default 25)")
      ->check(kPositive)->check(CLI::Range(1, 100000))->needs(bench);
  ctx.add_command(cmd, [&ctx, opts] {
    return opts->bench ? bench_backends(ctx, opts->params) : list_backends(ctx);
  });
}

}  // namespace evtool
