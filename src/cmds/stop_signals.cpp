#include "cmds/stop_signals.h"

#include <csignal>

#include "engine/core/event_base.h"

namespace evtool {

StopSignals::StopSignals(ev::EventBase& base, std::function<void(int)> on_stop) : base_(base), on_stop_(std::move(on_stop)) {
  int_.assign_signal(base, SIGINT, &StopSignals::on_signal, this);
  term_.assign_signal(base, SIGTERM, &StopSignals::on_signal, this);
  int_.add();
  term_.add();
}

void StopSignals::on_signal(int signum, short, void* arg) {
  auto* s = static_cast<StopSignals*>(arg);
  s->signum_ = signum;
  if (s->on_stop_) s->on_stop_(signum);
  else s->base_.loopbreak();
}

}  // namespace evtool
