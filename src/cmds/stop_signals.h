// SIGINT and SIGTERM as events of a loop: what every long-running command
// (servers, timer, clients waiting on the network) does when asked to stop.
#pragma once

#include <functional>

#include "engine/core/event.h"

namespace evtool {

// Runs on_stop (default: break the loop) on SIGINT / SIGTERM, from the
// loop (never inside the signal handler).
class StopSignals {
 public:
  StopSignals(ev::EventBase& base, std::function<void(int signum)> on_stop = nullptr);
  int last_signal() const { return signum_; }

 private:
  static void on_signal(int signum, short what, void* arg);
  ev::EventBase& base_;
  std::function<void(int)> on_stop_;
  int signum_ = 0;
  ev::Event int_, term_;
};

}  // namespace evtool
