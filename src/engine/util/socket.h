// Socket helpers: non-blocking and close-on-exec descriptors (fcntl(2)),
// reusable listeners (SO_REUSEADDR and SO_REUSEPORT, socket(7)), socketpair(2), and an
// owning descriptor type.
#pragma once

#include <utility>

#include "engine/util/sockaddr.h"

namespace ev {

// Owns a file descriptor and closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Each returns 0, or -1 with errno set.
int make_socket_nonblocking(int fd);
int make_socket_closeonexec(int fd);
int make_listen_socket_reuseable(int fd);       // SO_REUSEADDR
int make_listen_socket_reuseable_port(int fd);  // SO_REUSEPORT
int make_tcp_nodelay(int fd);
// A connected AF_UNIX stream pair, non-blocking and close-on-exec.
int make_socketpair(int fds[2]);

// True if a server accepts connections on the Unix socket at addr
// (a connect(2), which a Unix socket answers at once, closed again).
bool unix_socket_listening(const SocketAddress& addr);

// Raises RLIMIT_NOFILE's soft limit to at least `want` (or the hard
// limit); returns the new soft limit.
long raise_fd_limit(long want);

}  // namespace ev
