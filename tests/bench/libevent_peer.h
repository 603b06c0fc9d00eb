// What the benchmarks' libevent peers share (echo_libevent,
// forward_libevent, http_evhttp): a listener on 127.0.0.1, the
// `listening on 127.0.0.1:PORT` line that the scripts read, and running
// the loop until SIGINT or SIGTERM.
#pragma once

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>

namespace bench {

// An evconnlistener on 127.0.0.1:port (0: any free port), or nullptr.
inline evconnlistener* listen_loopback(event_base* base, int port, evconnlistener_cb cb) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return evconnlistener_new_bind(base, cb, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                 reinterpret_cast<sockaddr*>(&sin), sizeof sin);
}

// Prints the port that listening socket fd is bound to, as evtool does.
inline void print_listening(int fd) {
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
  std::fflush(stdout);
}

// Dispatches until SIGINT or SIGTERM; 0, or 1 if the loop failed.
inline int dispatch_until_stopped(event_base* base) {
  auto stop = [](evutil_socket_t, short, void* arg) { event_base_loopexit(static_cast<event_base*>(arg), nullptr); };
  event* sigint = evsignal_new(base, SIGINT, stop, base);
  event* sigterm = evsignal_new(base, SIGTERM, stop, base);
  event_add(sigint, nullptr);
  event_add(sigterm, nullptr);
  int rc = event_base_dispatch(base) < 0 ? 1 : 0;
  event_free(sigint);
  event_free(sigterm);
  return rc;
}

}  // namespace bench
