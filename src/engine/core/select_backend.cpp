// select(2): the portable fallback, O(N). The fd sets are sized to the
// highest fd instead of FD_SETSIZE, so it keeps working past 1024
// descriptors (the kernel accepts any nfds up to the descriptor limit).
#include <sys/select.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "engine/core/detail/backend.h"
#include "engine/core/event.h"

namespace ev::detail {
namespace {

using Word = unsigned long;  // the kernel's fd_set word (__fd_mask)
constexpr int kBits = static_cast<int>(sizeof(Word) * CHAR_BIT);

class SelectBackend final : public Backend {
 public:
  explicit SelectBackend(ActivationSink& sink) : sink_(sink) {}

  int change(int fd, short, short new_mask) override {
    std::size_t words = static_cast<std::size_t>(fd / kBits + 1);
    if (words > read_.size()) {
      read_.resize(words, 0);
      write_.resize(words, 0);
    }
    set(read_, fd, new_mask & kRead);
    set(write_, fd, new_mask & kWrite);
    if (new_mask && fd > max_fd_) max_fd_ = fd;
    while (max_fd_ >= 0 && !test(read_, max_fd_) && !test(write_, max_fd_)) --max_fd_;
    return 0;
  }

  int dispatch(std::int64_t timeout_us) override {
    std::size_t words = static_cast<std::size_t>(max_fd_ / kBits + 1);
    rwork_.assign(read_.begin(), read_.begin() + static_cast<long>(std::min(words, read_.size())));
    wwork_.assign(write_.begin(), write_.begin() + static_cast<long>(std::min(words, write_.size())));
    rwork_.resize(words, 0);
    wwork_.resize(words, 0);
    timeval tv{static_cast<time_t>(timeout_us / 1000000), static_cast<suseconds_t>(timeout_us % 1000000)};
    int n = ::select(max_fd_ + 1, reinterpret_cast<fd_set*>(rwork_.data()), reinterpret_cast<fd_set*>(wwork_.data()),
                     nullptr, timeout_us < 0 ? nullptr : &tv);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (std::size_t w = 0; w < words && n > 0; ++w) {
      Word ready = rwork_[w] | wwork_[w];
      while (ready) {
        int bit = __builtin_ctzl(ready);
        ready &= ready - 1;
        int fd = static_cast<int>(w) * kBits + bit;
        short what = 0;
        if (test(rwork_, fd)) what |= kRead;
        if (test(wwork_, fd)) what |= kWrite;
        --n;
        sink_.activate_io(fd, what);
      }
    }
    return 0;
  }

 private:
  static void set(std::vector<Word>& v, int fd, bool on) {
    Word bit = Word{1} << (fd % kBits);
    if (on) v[static_cast<std::size_t>(fd / kBits)] |= bit;
    else v[static_cast<std::size_t>(fd / kBits)] &= ~bit;
  }
  static bool test(const std::vector<Word>& v, int fd) {
    std::size_t w = static_cast<std::size_t>(fd / kBits);
    return w < v.size() && (v[w] >> (fd % kBits)) & 1;
  }

  ActivationSink& sink_;
  std::vector<Word> read_, write_, rwork_, wwork_;
  int max_fd_ = -1;
};

}  // namespace

std::unique_ptr<Backend> make_select_backend(ActivationSink& sink, const BackendOptions&, std::string*) {
  return std::make_unique<SelectBackend>(sink);
}

}  // namespace ev::detail
