// epoll(7): O(1) registration and dispatch, edge-triggered events,
// EPOLLRDHUP for early close detection.
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
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = to_epoll(new_mask);
    if (new_mask == 0) {
      if (epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) == 0) return 0;
      // Closing an fd removes it from epoll on its own.
      return (errno == EBADF || errno == ENOENT || errno == EPERM) ? 0 : -1;
    }
    int op = old_mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(epfd_, op, fd, &ev) == 0) return 0;
    // The kernel's view can differ from ours after an fd was closed and
    // reopened, or across a changelist batch: retry with the other op.
    if (op == EPOLL_CTL_ADD && errno == EEXIST) return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    if (op == EPOLL_CTL_MOD && errno == ENOENT) return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    return -1;
  }

  int dispatch(std::int64_t timeout_us) override {
    int n = wait(timeout_us);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; ++i) {
      std::uint32_t e = events_[static_cast<std::size_t>(i)].events;
      short what = 0;
      if (e & (EPOLLHUP | EPOLLERR)) what = kRead | kWrite | kClosed;
      if (e & EPOLLIN) what |= kRead;
      if (e & EPOLLOUT) what |= kWrite;
      if (e & EPOLLRDHUP) what |= kClosed;
      sink_.activate_io(events_[static_cast<std::size_t>(i)].data.fd, what);
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
  std::vector<epoll_event> events_;
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
