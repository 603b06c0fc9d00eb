// The echo benchmark's floor: an echo server with no framework, only the
// system calls any echo server must make. One level-triggered epoll set;
// a readable socket is read into a 64 KiB stack buffer and written straight
// back; what the socket does not take is kept per connection and the
// connection stops reading (EPOLLOUT instead of EPOLLIN) until it is out.
// No timeouts, no limits, no logging: the floor, not a server to use.
//
//   echo_floor --port P    (0: any free port; listens on 127.0.0.1)
//
// Prints `listening on 127.0.0.1:PORT` as `evtool tcp echo` does; stops on
// SIGINT / SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "floor_main.h"

namespace {

struct Conn {
  std::string pending;  // echoed bytes the socket has not taken yet
};

void watch(int ep, int op, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(ep, op, fd, &ev);
}

// Sends conn's pending bytes; false when the connection failed.
bool flush(int ep, int fd, Conn& c) {
  while (!c.pending.empty()) {
    ssize_t n = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) return false;
      watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
      return true;
    }
    c.pending.erase(0, static_cast<std::size_t>(n));
  }
  watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
  return true;
}

// Reads what fd has and echoes it; false when the connection is over.
bool echo(int ep, int fd, Conn& c) {
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return false;
  if (n < 0) return true;
  ssize_t w = ::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN) return false;
  if (w == n) return true;
  c.pending.assign(buf + (w > 0 ? w : 0), buf + n);
  return flush(ep, fd, c);
}

int listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || ::listen(fd, 4096) != 0) {
    std::fprintf(stderr, "echo_floor: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int port = floor_main::start(argc, argv);
  int lfd = listen_on(port);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  watch(ep, EPOLL_CTL_ADD, lfd, EPOLLIN);
  std::vector<Conn> conns;
  std::vector<epoll_event> events(1024);
  while (!floor_main::g_stop) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (static_cast<std::size_t>(c) >= conns.size()) conns.resize(static_cast<std::size_t>(c) + 1024);
          watch(ep, EPOLL_CTL_ADD, c, EPOLLIN);
        }
        continue;
      }
      Conn& c = conns[static_cast<std::size_t>(fd)];
      bool ok = (events[static_cast<std::size_t>(i)].events & EPOLLOUT) ? flush(ep, fd, c) : echo(ep, fd, c);
      if (!ok) {
        c.pending.clear();
        ::close(fd);
      }
    }
  }
  return 0;
}
