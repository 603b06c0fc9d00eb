// The dispatch benchmark's floor: the same rounds with no event loop at all,
// only the system calls any epoll loop must make. Each pair's read fd is
// registered once (re-adding a reader is free, as an ideal loop coalesces a
// delete and an add of the same fd), and a loop iteration is one
// epoll_wait(2) that calls the harness for every ready fd. No loop can do
// less work per round; the table's floor column is this program.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <vector>

#include "bench_cli.h"
#include "cmds/dispatch_bench.h"

namespace {

class FloorLoop {
 public:
  explicit FloorLoop(int npairs)
      : epfd_(::epoll_create1(EPOLL_CLOEXEC)), added_(static_cast<std::size_t>(npairs)), events_(4096) {
    if (epfd_ < 0) throw std::runtime_error("epoll_create1 failed");
  }
  ~FloorLoop() { ::close(epfd_); }
  FloorLoop(const FloorLoop&) = delete;
  FloorLoop& operator=(const FloorLoop&) = delete;

  bool add_reader(evtool::DispatchPair& pair) {
    auto i = static_cast<std::size_t>(pair.idx);
    if (added_[i]) return true;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &pair;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, pair.read_fd, &ev) != 0) return false;
    added_[i] = true;
    return true;
  }
  void run_nonblock_once() {
    int n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), 0);
    for (int i = 0; i < n; ++i) static_cast<evtool::DispatchPair*>(events_[static_cast<std::size_t>(i)].data.ptr)->on_readable();
  }
  void remove_reader(evtool::DispatchPair& pair) {
    auto i = static_cast<std::size_t>(pair.idx);
    if (i < added_.size() && added_[i]) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, pair.read_fd, nullptr);
    if (i < added_.size()) added_[i] = false;
  }

 private:
  int epfd_;
  std::vector<bool> added_;
  std::vector<epoll_event> events_;
};

}  // namespace

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv, false, false);
  try {
    FloorLoop loop(opt.params.fds);
    evtool::DispatchBenchResult r = evtool::run_dispatch_bench(loop, opt.params);
    bench::print_result("floor-epoll", opt.params, r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatch_floor: %s\n", e.what());
    return 1;
  }
  return 0;
}
