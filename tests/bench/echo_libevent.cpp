// The echo benchmark's peer: the libevent book's bufferevent echo server
// (an evconnlistener; each connection is a bufferevent whose read callback
// moves all of its input to its output), on libevent 2.1 with its
// defaults. Listens on 127.0.0.1 only.
//
//   echo_libevent --port P    (0: any free port)
//
// Prints `listening on 127.0.0.1:PORT` as `evtool tcp echo` does, and
// stops on SIGINT / SIGTERM.
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "libevent_peer.h"

namespace {

void echo_read(bufferevent* bev, void*) {
  evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

void echo_event(bufferevent* bev, short what, void*) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) bufferevent_free(bev);
}

void accept_conn(evconnlistener* listener, evutil_socket_t fd, sockaddr*, int, void*) {
  event_base* base = evconnlistener_get_base(listener);
  bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    evutil_closesocket(fd);
    return;
  }
  bufferevent_setcb(bev, echo_read, nullptr, echo_event, nullptr);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void accept_error(evconnlistener* listener, void*) {
  int err = EVUTIL_SOCKET_ERROR();
  std::fprintf(stderr, "echo_libevent: accept: %s\n", evutil_socket_error_to_string(err));
  event_base_loopexit(evconnlistener_get_base(listener), nullptr);
}


int parse_port(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    char* end = nullptr;
    long p = std::strtol(argv[2], &end, 10);
    if (*end == '\0' && p >= 0 && p <= 65535) return static_cast<int>(p);
  }
  std::fprintf(stderr, "usage: %s --port P   (0: any free port)\n", argv[0]);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = parse_port(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that resets mid-write must not kill the server
  event_base* base = event_base_new();
  if (!base) {
    std::fprintf(stderr, "echo_libevent: event_base_new failed\n");
    return 1;
  }
  evconnlistener* listener = bench::listen_loopback(base, port, accept_conn);
  if (!listener) {
    std::fprintf(stderr, "echo_libevent: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    event_base_free(base);
    return 1;
  }
  evconnlistener_set_error_cb(listener, accept_error);
  bench::print_listening(evconnlistener_get_fd(listener));
  int rc = bench::dispatch_until_stopped(base);
  evconnlistener_free(listener);
  event_base_free(base);
  return rc;
}
