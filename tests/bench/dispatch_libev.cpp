// The dispatch benchmark on libev. Default backend (ev_recommended_backends,
// LIBEV_FLAGS honoured), or --backend epoll|poll|select.
#include <ev.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "bench_cli.h"
#include "cmds/dispatch_bench.h"

namespace {

const char* backend_name(unsigned b) {
  switch (b) {
    case EVBACKEND_SELECT: return "select";
    case EVBACKEND_POLL: return "poll";
    case EVBACKEND_EPOLL: return "epoll";
    case EVBACKEND_KQUEUE: return "kqueue";
    case EVBACKEND_DEVPOLL: return "devpoll";
    case EVBACKEND_PORT: return "port";
#ifdef EVBACKEND_LINUXAIO
    case EVBACKEND_LINUXAIO: return "linuxaio";
#endif
#ifdef EVBACKEND_IOURING
    case EVBACKEND_IOURING: return "iouring";
#endif
    default: return "unknown";
  }
}

// ev_loop_new() flags for --backend NAME; false for an unknown name.
bool backend_flags(const std::string& name, unsigned* flags) {
  if (name.empty()) *flags = EVFLAG_AUTO;
  else if (name == "epoll") *flags = EVBACKEND_EPOLL;
  else if (name == "poll") *flags = EVBACKEND_POLL;
  else if (name == "select") *flags = EVBACKEND_SELECT;
  else return false;
  return true;
}

// One ev_io per pair, stopped and started again every round.
class LibevLoop {
 public:
  LibevLoop(struct ev_loop* loop, int npairs)
      : loop_(loop), watchers_(std::make_unique<ev_io[]>(static_cast<std::size_t>(npairs))) {}

  bool add_reader(evtool::DispatchPair& pair) {
    ev_io* w = &watchers_[pair.idx];
    if (w->data) ev_io_stop(loop_, w);
    ev_io_init(w, &on_read, pair.read_fd, EV_READ);
    w->data = &pair;
    ev_io_start(loop_, w);
    return true;  // libev aborts on a bad fd instead of reporting it
  }
  void run_nonblock_once() { ev_run(loop_, EVRUN_NOWAIT); }
  void remove_reader(evtool::DispatchPair& pair) {
    ev_io* w = &watchers_[pair.idx];
    if (w->data) ev_io_stop(loop_, w);
  }

 private:
  static void on_read(struct ev_loop*, ev_io* w, int) { static_cast<evtool::DispatchPair*>(w->data)->on_readable(); }

  struct ev_loop* loop_;
  std::unique_ptr<ev_io[]> watchers_;  // value-initialised: data == nullptr
};

}  // namespace

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv, true, false);
  unsigned flags = 0;
  if (!backend_flags(opt.backend, &flags)) {
    std::fprintf(stderr, "dispatch_libev: unknown backend %s\n", opt.backend.c_str());
    return 2;
  }
  struct ev_loop* loop = ev_loop_new(flags);
  if (!loop) {
    std::fprintf(stderr, "dispatch_libev: ev_loop_new failed\n");
    return 1;
  }
  std::string engine = std::string("libev-") + backend_name(ev_backend(loop));
  int rc = 0;
  try {
    LibevLoop adapter(loop, opt.params.fds);
    evtool::DispatchBenchResult r = evtool::run_dispatch_bench(adapter, opt.params);
    bench::print_result(engine, opt.params, r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatch_libev (%s): %s\n", engine.c_str(), e.what());
    rc = 1;
  }
  ev_loop_destroy(loop);
  return rc;
}
