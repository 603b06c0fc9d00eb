// What the three dispatch_* programs share: the bench.c-style options and
// the one line of JSON each prints.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cmds/dispatch_bench.h"

namespace bench {

struct Options {
  evtool::DispatchBenchParams params;
  std::string backend;     // --backend NAME, where the program supports it
  bool changelist = false; // --changelist (ours only)
};

// Parses --fds N --active A --writes W --rounds R [--backend NAME]
// [--changelist]; prints usage and exits 2 on anything else.
inline Options parse_options(int argc, char** argv, bool with_backend, bool with_changelist) {
  Options o;
  auto usage = [&](const char* why) {
    std::fprintf(stderr, "%s: %s\nusage: %s [--fds N] [--active A] [--writes W] [--rounds R]%s%s\n", argv[0], why,
                 argv[0], with_backend ? " [--backend NAME]" : "", with_changelist ? " [--changelist]" : "");
    std::exit(2);
  };
  auto number = [&](int& i) {
    if (i + 1 >= argc) usage("missing value");
    char* end = nullptr;
    long v = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || v < 0 || v > 1000000) usage("bad number");
    return static_cast<int>(v);
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--fds") o.params.fds = number(i);
    else if (a == "--active") o.params.active = number(i);
    else if (a == "--writes") o.params.writes = number(i);
    else if (a == "--rounds") o.params.rounds = number(i);
    else if (with_backend && a == "--backend" && i + 1 < argc) o.backend = argv[++i];
    else if (with_changelist && a == "--changelist") o.changelist = true;
    else usage(("unknown option " + a).c_str());
  }
  return o;
}

inline void print_result(const std::string& engine, const evtool::DispatchBenchParams& p,
                         const evtool::DispatchBenchResult& r) {
  std::printf("{\"engine\":\"%s\",\"fds\":%d,\"median_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f}\n", engine.c_str(),
              p.fds, r.median_us, r.min_us, r.max_us);
}

}  // namespace bench
