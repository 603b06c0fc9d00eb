// epoll(7): O(1) registration and dispatch, edge-triggered events,
// EPOLLRDHUP for early close detection.
//
// Ghosts. epoll watches open files, not descriptor numbers: when a deleted
// registration could not reach the kernel (the base defers a deletion to
// the next dispatch, and the caller closed the fd meanwhile while a dup or
// a forked child keeps the file open), the kernel keeps reporting the old
// file under a number that may name another file since. Every registration
// therefore carries a generation in epoll_data's upper half (libev's egen);
// a report whose generation is not the fd's current one, or for an fd we no
// longer watch, is a ghost: it is dropped, and the kernel set is rebuilt
// from our table before the next wait, so the ghost cannot wake us again.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "engine/core/detail/backend.h"
#include "engine/core/event.h"

namespace ev::detail {
namespace {

constexpr int kInitialEvents = 64;
constexpr int kMaxEvents = 4096;

class EpollBackend final : public Backend {
 public:
  EpollBackend(ActivationSink& sink, int epfd, bool precise)
      : sink_(sink), epfd_(epfd), precise_(precise), events_(kInitialEvents) {}
  ~EpollBackend() override { ::close(epfd_); }

  int change(int fd, short old_mask, short new_mask) override {
    Registration& r = slot(fd);
    r.mask = new_mask;
    if (new_mask == 0) {
      epoll_event ev{};
      if (epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) == 0) return 0;
      // Closing an fd removes it from epoll on its own.
      return (errno == EBADF || errno == ENOENT || errno == EPERM) ? 0 : -1;
    }
    int op = old_mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (ctl(op, fd, r) == 0) return 0;
    // The kernel's view can differ from ours after an fd was closed and
    // reopened, or across a deferred deletion: retry with the other op.
    if (op == EPOLL_CTL_ADD && errno == EEXIST) return ctl(EPOLL_CTL_MOD, fd, r);
    if (op == EPOLL_CTL_MOD && errno == ENOENT) return ctl(EPOLL_CTL_ADD, fd, r);
    r.mask = old_mask;
    return -1;
  }

  int dispatch(std::int64_t timeout_us) override {
    if (ghosts_ && rebuild() != 0) return -1;
    int n = wait(timeout_us);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<std::size_t>(i)];
      int fd = static_cast<int>(ev.data.u64 & 0xffffffffu);
      auto gen = static_cast<std::uint32_t>(ev.data.u64 >> 32);
      if (static_cast<std::size_t>(fd) >= regs_.size() || regs_[static_cast<std::size_t>(fd)].gen != gen ||
          regs_[static_cast<std::size_t>(fd)].mask == 0) {
        ghosts_ = true;
        continue;
      }
      std::uint32_t e = ev.events;
      short what = 0;
      if (e & (EPOLLHUP | EPOLLERR)) what = kRead | kWrite | kClosed;
      if (e & EPOLLIN) what |= kRead;
      if (e & EPOLLOUT) what |= kWrite;
      if (e & EPOLLRDHUP) what |= kClosed;
      sink_.activate_io(fd, what);
    }
    if (n == static_cast<int>(events_.size()) && events_.size() < kMaxEvents) events_.resize(events_.size() * 2);
    return 0;
  }

 private:
  static std::uint32_t to_epoll(short mask) {
    std::uint32_t e = 0;
    if (mask & kRead) e |= EPOLLIN;
    if (mask & kWrite) e |= EPOLLOUT;
    if (mask & kClosed) e |= EPOLLRDHUP;
    if (mask & kET) e |= EPOLLET;
    return e;
  }

  struct Registration {
    std::uint32_t gen = 0;  // bumped by every ADD
    short mask = 0;         // what the kernel watches for us; 0: nothing
  };

  Registration& slot(int fd) {
    auto i = static_cast<std::size_t>(fd);
    if (i >= regs_.size()) regs_.resize(std::max<std::size_t>(i + 1, regs_.size() * 2));
    return regs_[i];
  }

  int ctl(int op, int fd, Registration& r) {
    if (op == EPOLL_CTL_ADD) ++r.gen;
    epoll_event ev{};
    ev.events = to_epoll(r.mask);
    ev.data.u64 = static_cast<std::uint32_t>(fd) | (static_cast<std::uint64_t>(r.gen) << 32);
    return epoll_ctl(epfd_, op, fd, &ev);
  }

  // A ghost was seen: a fresh epoll instance with only what we watch.
  int rebuild() {
    int fresh = epoll_create1(EPOLL_CLOEXEC);
    if (fresh < 0) return -1;
    ::close(epfd_);
    epfd_ = fresh;
    ghosts_ = false;
    for (std::size_t fd = 0; fd < regs_.size(); ++fd)
      if (regs_[fd].mask) ctl(EPOLL_CTL_ADD, static_cast<int>(fd), regs_[fd]);
    return 0;
  }

  int wait(std::int64_t timeout_us) {
    int max = static_cast<int>(events_.size());
    if (precise_ && timeout_us > 0) {
      timespec ts{static_cast<time_t>(timeout_us / 1000000), static_cast<long>(timeout_us % 1000000) * 1000};
      int n = epoll_pwait2(epfd_, events_.data(), max, &ts, nullptr);
      if (n >= 0 || errno != ENOSYS) return n;
      precise_ = false;  // kernel without epoll_pwait2
    }
    // Round up so a timer is never woken for early.
    int ms = timeout_us < 0 ? -1 : static_cast<int>(std::min<std::int64_t>((timeout_us + 999) / 1000, INT_MAX));
    return epoll_wait(epfd_, events_.data(), max, ms);
  }

  ActivationSink& sink_;
  int epfd_;
  bool precise_;
  bool ghosts_ = false;
  std::vector<epoll_event> events_;
  std::vector<Registration> regs_;
};

}  // namespace

std::unique_ptr<Backend> make_epoll_backend(ActivationSink& sink, const BackendOptions& opts, std::string* why) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    if (why) *why = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<EpollBackend>(sink, epfd, opts.precise_timer);
}

}  // namespace ev::detail
