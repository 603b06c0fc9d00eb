// The echo benchmark's load client (README.md, "echo"). One epoll loop
// written straight against the OS, so `evtool tcp echo` and the libevent
// server face exactly the same client.
//
//   --mode pingpong --conns C --seconds D --size 64
//       each connection sends one message, waits for all of its echo,
//       repeats; counts round trips.
//   --mode bulk --conns C --seconds D --block 65536 [--window BYTES]
//       each connection streams blocks, keeping at most --window bytes
//       (default 16 blocks) sent but not yet echoed; counts echoed bytes.
//   --mode idle --conns 10000 --hold S [--ping]
//       opens the connections (at most 256 still connecting at a time),
//       prints {"ready":true} once all are established and holds them S
//       seconds, for measuring the server's memory. --ping first echoes
//       one --size message on each, so each has been served once.
//
// Every echoed byte is checked against what was sent: byte i of a
// connection's stream is kPattern[i % 251], so a lost, repeated or
// reordered byte is caught. Exit 0 with one JSON line; 1 on a failure
// (refused, reset, wrong echo); 2 on bad usage. Only loopback targets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "load_common.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kPeriod = 251;              // prime: messages do not line up with it
constexpr std::size_t kReadChunk = 256 * 1024;    // one recv() at most
constexpr std::size_t kMaxPendingConnects = 256;  // gentle on the listen backlog
constexpr std::size_t kConnectBatch = 32;         // connections opened per pause
constexpr int kConnectPauseMs = 2;                // ... i.e. at most 16,000 a second
constexpr double kConnectTimeout = 60.0;          // seconds for all connections to be ready
constexpr int kMaxConns = 19000;                  // below the 20,000 descriptors a process may hold

enum class Mode { Pingpong, Bulk, Idle };

struct Options {
  Mode mode = Mode::Pingpong;
  std::string mode_name = "pingpong";
  int conns = 1;
  double seconds = 5;
  std::size_t size = 64;
  std::size_t block = 65536;
  std::size_t window = 0;  // 0: 16 blocks
  double hold = 10;
  bool ping = false;
  std::string host = "127.0.0.1";
  int port = 0;
};

using load::fail;
using load::fail_errno;
using load::usage_error;

Options parse_options(int argc, char** argv) {
  Options o;
  load::Args args(argc, argv);
  while (args.next()) {
    if (args.is("--mode")) o.mode_name = args.text();
    else if (args.is("--conns")) o.conns = static_cast<int>(args.number(1, kMaxConns));
    else if (args.is("--seconds")) o.seconds = args.number(0.1, 600);
    else if (args.is("--size")) o.size = static_cast<std::size_t>(args.number(1, 1 << 20));
    else if (args.is("--block")) o.block = static_cast<std::size_t>(args.number(1, 1 << 20));
    else if (args.is("--window")) o.window = static_cast<std::size_t>(args.number(1, 1 << 28));
    else if (args.is("--hold")) o.hold = args.number(0, 600);
    else if (args.is("--ping")) o.ping = true;
    else if (args.is("--host")) o.host = args.text();
    else if (args.is("--port")) o.port = static_cast<int>(args.number(1, 65535));
    else args.unknown();
  }
  if (o.mode_name == "pingpong") o.mode = Mode::Pingpong;
  else if (o.mode_name == "bulk") o.mode = Mode::Bulk;
  else if (o.mode_name == "idle") o.mode = Mode::Idle;
  else usage_error("--mode must be pingpong, bulk or idle");
  if (o.port == 0) usage_error("--port is required");
  if (o.window == 0) o.window = 16 * o.block;
  return o;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Conn {
  int fd = -1;
  bool connected = false;
  bool ready = false;         // connected (and, with --ping, echoed once)
  std::uint64_t target = 0;   // stream offset to write up to
  std::uint64_t sent = 0;     // bytes written
  std::uint64_t echoed = 0;   // bytes read back and verified
  std::uint64_t round_trips = 0;
};

class LoadClient {
 public:
  LoadClient(const Options& o, const sockaddr_in& addr)
      : opt_(o), addr_(addr), conns_(static_cast<std::size_t>(o.conns)), rbuf_(kReadChunk) {
    pattern_.resize(kPeriod + std::max({kReadChunk, o.block, o.size}));
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<char>(i % kPeriod);  // binary: NUL, CR, LF included
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) fail_errno("epoll_create1");
  }
  ~LoadClient() {
    for (Conn& c : conns_)
      if (c.fd >= 0) close(c.fd);  // SO_LINGER 0: a reset, no TIME_WAIT left behind
    if (epfd_ >= 0) close(epfd_);
  }
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // Opens every connection and waits until all are ready.
  void connect_all();
  // Runs the pingpong or bulk load for opt_.seconds; returns the seconds
  // actually measured.
  double run();
  std::uint64_t round_trips() const;
  std::uint64_t echoed_bytes() const;

 private:
  void open(std::size_t i);
  void on_event(std::size_t i, std::uint32_t events);
  void on_connected(Conn& c);
  void pump_write(Conn& c);
  void pump_read(Conn& c);
  void message_done(Conn& c);
  void verify(const Conn& c, const char* data, std::size_t n) const;
  int wait(int timeout_ms);

  const Options& opt_;
  sockaddr_in addr_;
  std::vector<Conn> conns_;
  std::vector<char> rbuf_;
  std::vector<char> pattern_;
  int epfd_ = -1;
  std::size_t ready_ = 0;
  bool running_ = false;  // the timed phase: messages chain
  epoll_event events_[1024];
};

void LoadClient::open(std::size_t i) {
  Conn& c = conns_[i];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) fail_errno("socket");
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  linger lg{1, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 && errno != EINPROGRESS)
    fail_errno("connect");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.u64 = i;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) fail_errno("epoll_ctl");
}

int LoadClient::wait(int timeout_ms) {
  int n = epoll_wait(epfd_, events_, static_cast<int>(std::size(events_)), timeout_ms);
  if (n < 0 && errno != EINTR) fail_errno("epoll_wait");
  for (int k = 0; k < n; ++k) on_event(static_cast<std::size_t>(events_[k].data.u64), events_[k].events);
  return n;
}

void LoadClient::connect_all() {
  Clock::time_point start = Clock::now();
  Clock::time_point next_batch = start;
  std::size_t opened = 0;
  while (ready_ < conns_.size()) {
    // Without --ping a connection is ready before the server accepts it,
    // so the opening is also paced, to stay within small accept queues
    // (libevent's listener asks for 128): a SYN dropped there is retried
    // only after a second or more.
    Clock::time_point now = Clock::now();
    if (now >= next_batch) {
      for (std::size_t b = 0; b < kConnectBatch && opened < conns_.size() && opened - ready_ < kMaxPendingConnects; ++b)
        open(opened++);
      next_batch = now + std::chrono::milliseconds(kConnectPauseMs);
    }
    if (seconds_since(start) > kConnectTimeout)
      fail(std::to_string(ready_) + " of " + std::to_string(conns_.size()) + " connections ready after " +
           std::to_string(static_cast<int>(kConnectTimeout)) + " s");
    wait(opened < conns_.size() ? kConnectPauseMs : 100);
  }
}

void LoadClient::on_event(std::size_t i, std::uint32_t events) {
  Conn& c = conns_[i];
  if (!c.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) fail_errno("connect", err);
    if (!(events & EPOLLOUT)) return;
    on_connected(c);
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) pump_read(c);
  if (events & EPOLLOUT) pump_write(c);
}

void LoadClient::on_connected(Conn& c) {
  c.connected = true;
  if (opt_.mode == Mode::Idle && opt_.ping) {
    c.target = opt_.size;  // one message; ready once it is echoed
    pump_write(c);
    return;
  }
  c.ready = true;
  ++ready_;
}

void LoadClient::pump_write(Conn& c) {
  if (opt_.mode == Mode::Bulk && running_) c.target = c.echoed + opt_.window;
  while (c.sent < c.target) {
    std::size_t unit = opt_.mode == Mode::Bulk ? opt_.block : opt_.size;
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(c.target - c.sent, unit - c.sent % unit));
    ssize_t n = send(c.fd, &pattern_[c.sent % kPeriod], len, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::uint64_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;  // EPOLLOUT (edge-triggered) calls again
    } else if (errno != EINTR) {
      fail_errno("send");
    }
  }
}

void LoadClient::pump_read(Conn& c) {
  for (;;) {
    ssize_t n = recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
    if (n > 0) {
      verify(c, rbuf_.data(), static_cast<std::size_t>(n));
      c.echoed += static_cast<std::uint64_t>(n);
      // A whole message echoed: nothing more can be pending (all that was
      // sent came back), so stopping before EAGAIN loses no edge.
      if (opt_.mode != Mode::Bulk && c.echoed == c.target) return message_done(c);
    } else if (n == 0) {
      fail("the server closed a connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (opt_.mode == Mode::Bulk) pump_write(c);  // the window moved
      return;
    } else if (errno != EINTR) {
      fail_errno("recv");
    }
  }
}

void LoadClient::message_done(Conn& c) {
  if (opt_.mode == Mode::Idle) {
    c.ready = true;
    ++ready_;
    return;
  }
  if (!running_) return;
  ++c.round_trips;
  c.target += opt_.size;
  pump_write(c);
}

void LoadClient::verify(const Conn& c, const char* data, std::size_t n) const {
  if (c.echoed + n > c.sent) fail("the server echoed more bytes than were sent");
  if (std::memcmp(data, &pattern_[c.echoed % kPeriod], n) == 0) return;
  std::size_t at = 0;
  while (data[at] == pattern_[(c.echoed + at) % kPeriod]) ++at;
  fail("echoed byte at offset " + std::to_string(c.echoed + at) + " differs from the byte sent");
}

double LoadClient::run() {
  Clock::time_point start = Clock::now();
  Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.seconds));
  running_ = true;
  for (Conn& c : conns_) {
    c.target = opt_.mode == Mode::Bulk ? opt_.window : opt_.size;
    pump_write(c);
  }
  Clock::time_point now = start;
  while ((now = Clock::now()) < end) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(end - now).count();
    wait(static_cast<int>(std::max<long>(1, left)));
  }
  running_ = false;
  return std::chrono::duration<double>(now - start).count();
}

std::uint64_t LoadClient::round_trips() const {
  std::uint64_t sum = 0;
  for (const Conn& c : conns_) sum += c.round_trips;
  return sum;
}

std::uint64_t LoadClient::echoed_bytes() const {
  std::uint64_t sum = 0;
  for (const Conn& c : conns_) sum += c.echoed;
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  load::program = {"echo_load",
                   "--mode pingpong|bulk|idle --port P [--host 127.0.0.1] [--conns C]\n"
                   "       [--seconds D] [--size BYTES] [--block BYTES] [--window BYTES] [--hold S] [--ping]"};
  Options o = parse_options(argc, argv);
  sockaddr_in addr = load::loopback_address(o.host, o.port);
  load::raise_fd_limit();
  LoadClient client(o, addr);
  Clock::time_point t0 = Clock::now();
  client.connect_all();
  double connect_s = seconds_since(t0);
  if (o.mode == Mode::Idle) {
    std::printf("{\"ready\":true}\n");
    std::fflush(stdout);
    std::chrono::duration<double> hold(o.hold);
    Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(hold);
    while (Clock::now() < until) usleep(50 * 1000);
    std::printf("{\"mode\":\"idle\",\"conns\":%d,\"hold\":%g,\"ping\":%s,\"connect_s\":%.3f}\n", o.conns, o.hold,
                o.ping ? "true" : "false", connect_s);
    return 0;
  }
  double elapsed = client.run();
  if (o.mode == Mode::Pingpong) {
    std::uint64_t n = client.round_trips();
    std::printf("{\"mode\":\"pingpong\",\"conns\":%d,\"seconds\":%g,\"size\":%zu,\"messages\":%llu,"
                "\"messages_per_s\":%.1f,\"elapsed_s\":%.3f}\n",
                o.conns, o.seconds, o.size, static_cast<unsigned long long>(n), static_cast<double>(n) / elapsed,
                elapsed);
  } else {
    std::uint64_t b = client.echoed_bytes();
    std::printf("{\"mode\":\"bulk\",\"conns\":%d,\"seconds\":%g,\"block\":%zu,\"window\":%zu,\"bytes\":%llu,"
                "\"mib_per_s\":%.1f,\"elapsed_s\":%.3f}\n",
                o.conns, o.seconds, o.block, o.window, static_cast<unsigned long long>(b),
                static_cast<double>(b) / elapsed / (1024.0 * 1024.0), elapsed);
  }
  return 0;
}
