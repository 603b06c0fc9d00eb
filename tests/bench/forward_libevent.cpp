// The forward benchmark's libevent peer: a relay in the shape of
// libevent's le-proxy sample, written here against libevent 2.1 with its
// defaults. Each accepted connection gets a bufferevent connected to the
// target; the read callback moves all input to the partner's output, and
// while that output holds more than kMaxOutput the reader is disabled
// until the partner's write callback sees it drained (a write watermark).
// EOF or an error on one side closes it once the partner's output is
// flushed. Listens on 127.0.0.1 only.
//
//   forward_libevent --port P --target 127.0.0.1:Q   (P 0: any free port)
//
// Prints `listening on 127.0.0.1:PORT` and stops on SIGINT / SIGTERM.
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

constexpr std::size_t kMaxOutput = 512 * 1024;  // le-proxy's MAX_OUTPUT
sockaddr_storage g_target;
int g_target_len = 0;

void relay_read(bufferevent* bev, void* partner_arg);
void relay_drained(bufferevent* bev, void* partner_arg);

// Closes bev once its output has gone out (or it failed meanwhile).
void close_when_flushed(bufferevent* bev, void*) {
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) bufferevent_free(bev);
}
void close_on_event(bufferevent* bev, short, void*) { bufferevent_free(bev); }

void relay_event(bufferevent* bev, short what, void* partner_arg) {
  auto* partner = static_cast<bufferevent*>(partner_arg);
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
  if (partner) {
    relay_read(bev, partner);  // what came before the EOF
    if (evbuffer_get_length(bufferevent_get_output(partner)) > 0) {
      bufferevent_setcb(partner, nullptr, close_when_flushed, close_on_event, nullptr);
      bufferevent_setwatermark(partner, EV_WRITE, 0, 0);
      bufferevent_disable(partner, EV_READ);
    } else {
      bufferevent_free(partner);
    }
  }
  bufferevent_free(bev);
}

void relay_read(bufferevent* bev, void* partner_arg) {
  auto* partner = static_cast<bufferevent*>(partner_arg);
  evbuffer* src = bufferevent_get_input(bev);
  if (!partner) {
    evbuffer_drain(src, evbuffer_get_length(src));
    return;
  }
  evbuffer* dst = bufferevent_get_output(partner);
  evbuffer_add_buffer(dst, src);
  if (evbuffer_get_length(dst) >= kMaxOutput) {
    // The partner is slow: stop reading until its output drains to half.
    bufferevent_setcb(partner, relay_read, relay_drained, relay_event, bev);
    bufferevent_setwatermark(partner, EV_WRITE, kMaxOutput / 2, kMaxOutput);
    bufferevent_disable(bev, EV_READ);
  }
}

void relay_drained(bufferevent* bev, void* partner_arg) {
  auto* partner = static_cast<bufferevent*>(partner_arg);
  bufferevent_setcb(bev, relay_read, nullptr, relay_event, partner);
  bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
  if (partner) bufferevent_enable(partner, EV_READ);
}

void accept_conn(evconnlistener* listener, evutil_socket_t fd, sockaddr*, int, void*) {
  event_base* base = evconnlistener_get_base(listener);
  bufferevent* in = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  bufferevent* out = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!in || !out || bufferevent_socket_connect(out, reinterpret_cast<sockaddr*>(&g_target), g_target_len) < 0) {
    if (in) bufferevent_free(in);
    if (out) bufferevent_free(out);
    return;
  }
  bufferevent_setcb(in, relay_read, nullptr, relay_event, out);
  bufferevent_setcb(out, relay_read, nullptr, relay_event, in);
  bufferevent_enable(in, EV_READ | EV_WRITE);
  bufferevent_enable(out, EV_READ | EV_WRITE);
}


[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --port P --target 127.0.0.1:Q   (P 0: any free port)\n", argv0);
  std::exit(2);
}

int parse_args(int argc, char** argv) {
  if (argc != 5 || std::strcmp(argv[1], "--port") != 0 || std::strcmp(argv[3], "--target") != 0) usage(argv[0]);
  char* end = nullptr;
  long p = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) usage(argv[0]);
  g_target_len = sizeof g_target;
  if (evutil_parse_sockaddr_port(argv[4], reinterpret_cast<sockaddr*>(&g_target), &g_target_len) != 0) usage(argv[0]);
  return static_cast<int>(p);
}

}  // namespace

int main(int argc, char** argv) {
  int port = parse_args(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  if (!base) return 1;
  evconnlistener* listener = bench::listen_loopback(base, port, accept_conn);
  if (!listener) {
    std::fprintf(stderr, "forward_libevent: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  bench::print_listening(evconnlistener_get_fd(listener));
  int rc = bench::dispatch_until_stopped(base);
  evconnlistener_free(listener);
  event_base_free(base);
  return rc;
}
