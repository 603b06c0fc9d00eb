// Socket helpers (non-blocking, close-on-exec, reusable
// listeners, socketpair) and the owning UniqueFd.
#include "engine/util/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "test_base.h"

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
  return value;
}

ev::UniqueFd tcp_socket() {
  ev::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd);
  return fd;
}

}  // namespace

TEST_CASE("make_socket_nonblocking") {
  ev::UniqueFd fd = tcp_socket();
  CHECK_FALSE((::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) != 0);
  CHECK(ev::make_socket_nonblocking(fd.get()) == 0);
  CHECK((::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) != 0);
  CHECK(ev::make_socket_nonblocking(fd.get()) == 0);  // idempotent
  CHECK((::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) != 0);
  errno = 0;
  CHECK(ev::make_socket_nonblocking(-1) == -1);
  CHECK(errno == EBADF);
}

TEST_CASE("make_socket_closeonexec") {
  ev::UniqueFd fd = tcp_socket();
  CHECK_FALSE((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(ev::make_socket_closeonexec(fd.get()) == 0);
  CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(ev::make_socket_closeonexec(fd.get()) == 0);
  CHECK(ev::make_socket_closeonexec(-1) == -1);
}

TEST_CASE("reusable listeners and TCP_NODELAY") {
  ev::UniqueFd fd = tcp_socket();
  CHECK(int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR) == 0);
  CHECK(ev::make_listen_socket_reuseable(fd.get()) == 0);
  CHECK(int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR) != 0);
  CHECK(ev::make_listen_socket_reuseable_port(fd.get()) == 0);
  CHECK(int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT) != 0);
  CHECK(ev::make_tcp_nodelay(fd.get()) == 0);
  CHECK(int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY) != 0);
  CHECK(ev::make_listen_socket_reuseable(-1) == -1);
}

TEST_CASE("two SO_REUSEPORT listeners share a port") {
  ev::UniqueFd a = tcp_socket(), b = tcp_socket();
  REQUIRE(ev::make_listen_socket_reuseable_port(a.get()) == 0);
  REQUIRE(ev::make_listen_socket_reuseable_port(b.get()) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(a.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(a.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  CHECK(::bind(b.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
}

TEST_CASE("make_socketpair gives a connected, non-blocking, close-on-exec pair") {
  int fds[2] = {-1, -1};
  REQUIRE(ev::make_socketpair(fds) == 0);
  ev::UniqueFd a(fds[0]), b(fds[1]);
  for (int fd : fds) {
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  }
  CHECK(::write(a.get(), "ping", 4) == 4);
  char buf[8] = {};
  CHECK(::read(b.get(), buf, sizeof buf) == 4);
  CHECK(std::string(buf) == "ping");
  CHECK(::write(b.get(), "pong", 4) == 4);
  CHECK(::read(a.get(), buf, sizeof buf) == 4);
  // Non-blocking: an empty read fails at once.
  errno = 0;
  CHECK(::read(a.get(), buf, sizeof buf) == -1);
  CHECK(errno == EAGAIN);
}

TEST_CASE("UniqueFd owns and closes its descriptor") {
  int raw = ::dup(STDERR_FILENO);
  REQUIRE(raw >= 0);
  {
    ev::UniqueFd fd(raw);
    CHECK(fd);
    CHECK(fd.get() == raw);
  }
  CHECK_FALSE(is_open(raw));

  ev::UniqueFd empty;
  CHECK_FALSE(empty);
  CHECK(empty.get() == -1);

  int r1 = ::dup(STDERR_FILENO);
  ev::UniqueFd a(r1);
  ev::UniqueFd b(std::move(a));
  CHECK(a.get() == -1);
  CHECK(b.get() == r1);
  ev::UniqueFd c;
  c = std::move(b);
  CHECK(c.get() == r1);
  CHECK(is_open(r1));

  int r2 = ::dup(STDERR_FILENO);
  c.reset(r2);
  CHECK_FALSE(is_open(r1));
  CHECK(is_open(r2));
  int released = c.release();
  CHECK(released == r2);
  CHECK_FALSE(c);
  CHECK(is_open(r2));
  ::close(r2);
}

TEST_CASE("raise_fd_limit never lowers the limit") {
  rlimit rl{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  long current = static_cast<long>(rl.rlim_cur);
  CHECK(ev::raise_fd_limit(16) >= current);
  long raised = ev::raise_fd_limit(current + 1);
  CHECK(raised >= current);
  if (rl.rlim_max == RLIM_INFINITY || static_cast<long>(rl.rlim_max) > current) CHECK(raised == current + 1);
}
