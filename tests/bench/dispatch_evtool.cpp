// The dispatch benchmark on our engine (ev::EventBase).
#include <cstdio>
#include <exception>
#include <string>

#include "bench_cli.h"
#include "cmds/dispatch_bench.h"
#include "engine/core/event_base.h"

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv, true, true);
  ev::Config cfg;
  if (!opt.backend.empty()) cfg.require_method(opt.backend);
  if (opt.changelist) cfg.set_flag(ev::Config::kEpollUseChangelist);
  std::string why;
  std::unique_ptr<ev::EventBase> base = ev::EventBase::create(cfg, &why);
  if (!base) {
    std::fprintf(stderr, "dispatch_evtool: no backend: %s\n", why.c_str());
    return 1;
  }
  std::string engine = std::string("evtool-") + base->method() + (opt.changelist ? "-changelist" : "");
  try {
    evtool::EvLoopAdapter loop(*base, opt.params.fds);
    evtool::DispatchBenchResult r = evtool::run_dispatch_bench(loop, opt.params);
    bench::print_result(engine, opt.params, r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatch_evtool (%s): %s\n", engine.c_str(), e.what());
    return 1;
  }
  return 0;
}
