// What the floor programs (echo_floor, dns_floor) share: `--port P` and a
// stop flag raised by SIGINT / SIGTERM. The handlers are installed without
// SA_RESTART, so the program's blocking call returns EINTR and its loop
// sees the flag.
#pragma once

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace floor_main {

inline volatile std::sig_atomic_t g_stop = 0;

// The port given as `--port P` (0: any free port); usage and exit 2 on
// anything else. Installs the stop handlers.
inline int start(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--port") != 0) {
    std::fprintf(stderr, "usage: %s --port P   (0: any free port)\n", argv[0]);
    std::exit(2);
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return std::atoi(argv[2]);
}

}  // namespace floor_main
