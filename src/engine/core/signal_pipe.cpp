// Signals reach the loop through a self-pipe: the handler does nothing but
// write the signal number (write(2) is async-signal-safe, see
// signal-safety(7)), and the loop's internal read event turns the bytes
// into signal-event activations.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "engine/core/detail/backend.h"

namespace ev::detail {
namespace {

std::atomic<int> g_write_fd{-1};
struct sigaction g_old_actions[NSIG];
bool g_saved[NSIG];

void on_signal(int signum) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(signum);
  int fd = g_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(fd, &b, 1);
  }
  errno = saved;
}

}  // namespace

std::unique_ptr<SignalPipe> SignalPipe::create(ActivationSink& sink, std::string* why) {
  auto sp = std::unique_ptr<SignalPipe>(new SignalPipe(sink));
  if (::pipe2(sp->fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
    if (why) *why = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  // The most recent base to handle signals receives them (one per process).
  g_write_fd.store(sp->fds_[1]);
  return sp;
}

SignalPipe::~SignalPipe() {
  int mine = fds_[1];
  g_write_fd.compare_exchange_strong(mine, -1);
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

int SignalPipe::watch(int signum) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (::sigaction(signum, &sa, &g_old_actions[signum]) != 0) return -1;
  g_saved[signum] = true;
  g_write_fd.store(fds_[1]);
  return 0;
}

int SignalPipe::unwatch(int signum) {
  if (signum <= 0 || signum >= NSIG || !g_saved[signum]) return 0;
  g_saved[signum] = false;
  return ::sigaction(signum, &g_old_actions[signum], nullptr);
}

void SignalPipe::drain() {
  int counts[NSIG] = {};
  unsigned char buf[256];
  for (;;) {
    ssize_t n = ::read(fds_[0], buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i)
      if (buf[i] < NSIG) ++counts[buf[i]];
  }
  for (int sig = 1; sig < NSIG; ++sig)
    if (counts[sig]) sink_.activate_signal(sig, counts[sig]);
}

}  // namespace ev::detail
