// The dispatch benchmark on libevent 2.1. Its backend is chosen the way
// libevent users do: EVENT_NOEPOLL=1 (poll), plus EVENT_NOPOLL=1 (select);
// EVENT_EPOLL_USE_CHANGELIST=1 turns on its epoll changelist.
#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "bench_cli.h"
#include "cmds/dispatch_bench.h"

namespace {

// One struct event per pair, re-assigned every round as bench.c does.
class LibeventLoop {
 public:
  LibeventLoop(event_base* base, int npairs)
      : base_(base), npairs_(npairs), events_(std::make_unique<event[]>(static_cast<std::size_t>(npairs))) {}

  bool add_reader(evtool::DispatchPair& pair) {
    event* e = &events_[pair.idx];
    if (event_initialized(e)) event_del(e);
    if (event_assign(e, base_, pair.read_fd, EV_READ | EV_PERSIST, &on_read, &pair) != 0) return false;
    return event_add(e, nullptr) == 0;
  }
  void run_nonblock_once() { event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NONBLOCK); }
  void remove_reader(evtool::DispatchPair& pair) {
    event* e = &events_[pair.idx];
    if (event_initialized(e)) event_del(e);
  }

 private:
  static void on_read(evutil_socket_t, short, void* arg) { static_cast<evtool::DispatchPair*>(arg)->on_readable(); }

  event_base* base_;
  int npairs_;
  std::unique_ptr<event[]> events_;  // value-initialised: not yet "initialized"
};

}  // namespace

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv, false, false);
  event_base* base = event_base_new();
  if (!base) {
    std::fprintf(stderr, "dispatch_libevent: event_base_new failed\n");
    return 1;
  }
  // libevent says "epoll (with changelist)"; name it as ours is named.
  std::string engine = std::string("libevent-") + event_base_get_method(base);
  if (auto at = engine.find(" (with changelist)"); at != std::string::npos)
    engine.replace(at, std::string::npos, "-changelist");
  int rc = 0;
  try {
    LibeventLoop loop(base, opt.params.fds);
    evtool::DispatchBenchResult r = evtool::run_dispatch_bench(loop, opt.params);
    bench::print_result(engine, opt.params, r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatch_libevent (%s): %s\n", engine.c_str(), e.what());
    rc = 1;
  }
  event_base_free(base);
  return rc;
}
