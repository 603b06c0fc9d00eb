// poll(2): works on any fd (FDS), O(N) per dispatch. The pollfd array stays
// dense: a removed fd's slot is filled with the last entry.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "engine/core/detail/backend.h"
#include "engine/core/event.h"

namespace ev::detail {
namespace {

class PollBackend final : public Backend {
 public:
  PollBackend(ActivationSink& sink, bool precise) : sink_(sink), precise_(precise) {}

  int change(int fd, short, short new_mask) override {
    if (static_cast<std::size_t>(fd) >= index_.size()) index_.resize(static_cast<std::size_t>(fd) + 1, -1);
    int& idx = index_[static_cast<std::size_t>(fd)];
    if (new_mask == 0) {
      if (idx < 0) return 0;
      pollfd last = pfds_.back();
      pfds_[static_cast<std::size_t>(idx)] = last;
      index_[static_cast<std::size_t>(last.fd)] = idx;
      pfds_.pop_back();
      idx = -1;
      return 0;
    }
    short events = 0;
    if (new_mask & kRead) events |= POLLIN;
    if (new_mask & kWrite) events |= POLLOUT;
    if (new_mask & kClosed) events |= POLLRDHUP;
    if (idx < 0) {
      idx = static_cast<int>(pfds_.size());
      pfds_.push_back({fd, events, 0});
    } else {
      pfds_[static_cast<std::size_t>(idx)].events = events;
    }
    return 0;
  }

  int dispatch(std::int64_t timeout_us) override {
    int n;
    if (precise_ && timeout_us > 0) {
      timespec ts{static_cast<time_t>(timeout_us / 1000000), static_cast<long>(timeout_us % 1000000) * 1000};
      n = ::ppoll(pfds_.data(), pfds_.size(), &ts, nullptr);
    } else {
      int ms = timeout_us < 0 ? -1 : static_cast<int>(std::min<std::int64_t>((timeout_us + 999) / 1000, INT_MAX));
      n = ::poll(pfds_.data(), pfds_.size(), ms);
    }
    if (n < 0) return errno == EINTR ? 0 : -1;
    // Callbacks run after dispatch, so the array cannot change under us.
    for (std::size_t i = 0; i < pfds_.size() && n > 0; ++i) {
      short r = pfds_[i].revents;
      if (!r) continue;
      --n;
      short what = 0;
      if (r & (POLLERR | POLLHUP | POLLNVAL)) what = kRead | kWrite | kClosed;
      if (r & POLLIN) what |= kRead;
      if (r & POLLOUT) what |= kWrite;
      if (r & POLLRDHUP) what |= kClosed;
      sink_.activate_io(pfds_[i].fd, what);
    }
    return 0;
  }

 private:
  ActivationSink& sink_;
  bool precise_;
  std::vector<pollfd> pfds_;
  std::vector<int> index_;  // fd -> position in pfds_, or -1
};

}  // namespace

std::unique_ptr<Backend> make_poll_backend(ActivationSink& sink, const BackendOptions& opts, std::string*) {
  return std::make_unique<PollBackend>(sink, opts.precise_timer);
}

}  // namespace ev::detail
