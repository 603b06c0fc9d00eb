// The soak's load client (README.md, "soak"): many short connections (or
// keep-alive HTTP requests, or UDP DNS queries) against one evtool server,
// every reply checked, failures counted rather than fatal. One epoll loop
// straight on the OS, like echo_load; OpenSSL only for --tls.
//
//   --mode echo --conns N [--size 64]     send SIZE bytes, read them back
//   --mode chat --conns N                 (`tcp serve`) even connections send
//       one line and half-close, odd ones reset as soon as they are up; an
//       observer connection must receive every line exactly once
//   --mode http --conns N --get PATH=FILE [--get ...] [--requests R]
//       R = 1: one `Connection: close` request a connection, read to EOF;
//       R > 1: R keep-alive requests a connection, Content-Length framed.
//       Request k of connection n asks for the ((n + k) mod G)-th of the G
//       --get paths; the reply must be status 200 with Content-Length and
//       a body equal to FILE byte for byte
//   --mode dns --conns N [--name NAME]    one length-prefixed A query a TCP
//       connection; the answer must have the query's ID, NOERROR, an answer
//   --mode dns-udp --conns N [--name NAME]  N queries over --parallel UDP
//       sockets, one outstanding each
// Common: --port P [--host 127.0.0.1] [--parallel 64] [--seconds 300]
//   [--conn-timeout 10] [--sources S]; http also [--tls [--cafile PEM]].
// At most --parallel connections (or queries) are open at once; one that
// gets no reply within --conn-timeout fails, and whatever is not done
// after --seconds fails.
//
// Ending a connection: after its reply an even one half-closes (TLS:
// close_notify first) and waits for the server's EOF, an odd one resets
// (SO_LINGER 0), so both ways the server sees a peer leave are exercised;
// `Connection: close` replies end at the server's EOF, then the same. A
// graceful end leaves TIME_WAIT on our side, which loopback may reuse
// (net.ipv4.tcp_tw_reuse); otherwise --sources S spreads connections over
// 127.0.0.1 .. 127.0.0.S (all loopback).
//
// Prints one JSON line; exit 0 when every connection and request
// succeeded, 1 otherwise (the failures by reason on stderr), 2 on bad
// usage. Only loopback targets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "churn_protocols.h"
#include "load_common.h"

namespace {

using Clock = std::chrono::steady_clock;
using load::usage_error;
using churn::Fetch;
using churn::Reply;

enum class Mode { Echo, Chat, Http, Dns, DnsUdp };

struct Options {
  Mode mode = Mode::Echo;
  std::string mode_name;
  long conns = 1000;  // dns-udp: queries
  int parallel = 64;
  int requests = 1;  // http: per connection; 1 = Connection: close
  std::size_t size = 64;
  std::vector<Fetch> gets;
  std::string name = "a.soak.test";
  double seconds = 300;
  double conn_timeout = 10;
  int sources = 1;
  bool tls = false;
  std::string cafile;
  std::string host = "127.0.0.1";
  int port = 0;
};

Fetch parse_get(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || spec.empty() || spec[0] != '/') usage_error("--get wants /PATH=FILE");
  std::ifstream in(spec.substr(eq + 1), std::ios::binary);
  if (!in) usage_error("cannot read " + spec.substr(eq + 1));
  std::ostringstream body;
  body << in.rdbuf();
  return {spec.substr(0, eq), body.str()};
}

Options parse_options(int argc, char** argv) {
  Options o;
  load::Args args(argc, argv);
  while (args.next()) {
    if (args.is("--mode")) o.mode_name = args.text();
    else if (args.is("--conns")) o.conns = static_cast<long>(args.number(1, 10000000));
    else if (args.is("--parallel")) o.parallel = static_cast<int>(args.number(1, 4096));
    else if (args.is("--requests")) o.requests = static_cast<int>(args.number(1, 1000000));
    else if (args.is("--size")) o.size = static_cast<std::size_t>(args.number(16, 1 << 20));
    else if (args.is("--get")) o.gets.push_back(parse_get(args.text()));
    else if (args.is("--name")) o.name = args.text();
    else if (args.is("--seconds")) o.seconds = args.number(0.1, 3600);
    else if (args.is("--conn-timeout")) o.conn_timeout = args.number(0.1, 600);
    else if (args.is("--sources")) o.sources = static_cast<int>(args.number(1, 254));
    else if (args.is("--tls")) o.tls = true;
    else if (args.is("--cafile")) o.cafile = args.text();
    else if (args.is("--host")) o.host = args.text();
    else if (args.is("--port")) o.port = static_cast<int>(args.number(1, 65535));
    else args.unknown();
  }
  const std::map<std::string, Mode> modes{
      {"echo", Mode::Echo}, {"chat", Mode::Chat}, {"http", Mode::Http}, {"dns", Mode::Dns}, {"dns-udp", Mode::DnsUdp}};
  auto m = modes.find(o.mode_name);
  if (m == modes.end()) usage_error("--mode must be echo, chat, http, dns or dns-udp");
  o.mode = m->second;
  if (o.port == 0) usage_error("--port is required");
  if (o.mode == Mode::Http && o.gets.empty()) usage_error("--mode http needs --get PATH=FILE");
  if (o.tls && o.mode != Mode::Http) usage_error("--tls is for --mode http");
  return o;
}

// ---- connections ----------------------------------------------------------

enum class Phase { Idle, Connecting, Handshake, Exchange, Closing };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::Idle;
  long number = 0;  // which connection (or query) of the run
  int replies = 0;  // HTTP replies on this connection
  std::string out;
  std::size_t out_at = 0;
  std::string in;
  Clock::time_point deadline;
};

// receive()'s and transmit()'s results besides a byte count.
constexpr ssize_t kEof = 0, kWouldBlock = -1, kBroken = -2;

// A recv() or send() result as they report it (`why` for kBroken).
ssize_t socket_result(ssize_t n, const char* call, std::string& why) {
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return kWouldBlock;
  why = std::string(call) + ": " + std::strerror(errno);
  return kBroken;
}

// The same for an SSL call that returned n <= 0.
ssize_t tls_result(SSL* ssl, int n, const char* what, std::string& why) {
  int err = SSL_get_error(ssl, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return kWouldBlock;
  char text[256] = "EOF without close_notify";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, text, sizeof text);
  else if (err == SSL_ERROR_SYSCALL && errno != 0) std::snprintf(text, sizeof text, "%s", std::strerror(errno));
  why = std::string(what) + ": " + text;
  return kBroken;
}

class ChurnClient {
 public:
  explicit ChurnClient(const Options& o);
  ~ChurnClient();
  ChurnClient(const ChurnClient&) = delete;
  ChurnClient& operator=(const ChurnClient&) = delete;

  // Runs every connection (or query); returns the seconds taken.
  double run();
  void report(double elapsed) const;
  bool passed() const { return failures_ == 0 && requests_ok_ == expected_requests(); }

 private:
  // HTTP: every request; chat: a line from each even connection; else one reply a connection.
  long expected_requests() const {
    if (opt_.mode == Mode::Http) return opt_.conns * opt_.requests;
    return opt_.mode == Mode::Chat ? (opt_.conns + 1) / 2 : opt_.conns;
  }
  bool udp() const { return opt_.mode == Mode::DnsUdp; }
  void start(Conn& c, long number);
  void open_tcp(Conn& c);
  void on_event(Conn& c, std::uint32_t events);
  void established(Conn& c);
  void begin_exchange(Conn& c);
  void next_request(Conn& c);
  void drive(Conn& c);
  void flush(Conn& c);
  void pump_read(Conn& c);
  void check(Conn& c, bool eof);
  void reply_done(Conn& c);
  void half_close(Conn& c);
  void finish(Conn& c, bool reset);
  void close_conn(Conn& c, bool reset);
  void fail(Conn& c, const std::string& why);
  ssize_t receive(Conn& c, char* buf, std::size_t len, std::string& why);
  ssize_t transmit(Conn& c, const char* buf, std::size_t len, std::string& why);
  void sweep(Clock::time_point now);
  std::string echo_message(long number) const;
  void open_observer();
  void read_observer();
  void await_observer(Clock::time_point until);

  const Options& opt_;
  sockaddr_in addr_;
  std::vector<Conn> conns_;
  int epfd_ = -1;
  SSL_CTX* tls_ = nullptr;
  long started_ = 0, finished_ = 0, ok_ = 0, failures_ = 0, requests_ok_ = 0;
  long lines_sent_ = 0;  // chat: even connections that ended well
  std::map<std::string, long> reasons_;
  std::vector<char> rbuf_ = std::vector<char>(64 * 1024);
  // chat: the observer connection and the lines it saw.
  int observer_ = -1;
  std::string observed_;
  std::vector<bool> seen_;
};

constexpr std::uint64_t kObserverTag = ~std::uint64_t{0};

ChurnClient::ChurnClient(const Options& o)
    : opt_(o), addr_(load::loopback_address(o.host, o.port)), conns_(static_cast<std::size_t>(o.parallel)) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) load::fail_errno("epoll_create1");
  if (o.tls) {
    tls_ = SSL_CTX_new(TLS_client_method());
    if (!tls_) load::fail("SSL_CTX_new failed");
    if (!o.cafile.empty()) {
      if (SSL_CTX_load_verify_locations(tls_, o.cafile.c_str(), nullptr) != 1) load::fail("cannot load " + o.cafile);
      SSL_CTX_set_verify(tls_, SSL_VERIFY_PEER, nullptr);
    }
  }
  if (o.mode == Mode::Chat) open_observer();
}

ChurnClient::~ChurnClient() {
  for (Conn& c : conns_) {
    if (c.ssl) SSL_free(c.ssl);
    if (c.fd >= 0) close(c.fd);
  }
  if (observer_ >= 0) close(observer_);
  if (tls_) SSL_CTX_free(tls_);
  if (epfd_ >= 0) close(epfd_);
}

std::string ChurnClient::echo_message(long number) const {
  std::string m = std::to_string(number) + ":";
  while (m.size() < opt_.size) m += static_cast<char>('a' + m.size() % 26);
  return m;
}

void ChurnClient::start(Conn& c, long number) {
  c.number = number;
  c.replies = 0;
  c.in.clear();
  c.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.conn_timeout));
  ++started_;
  if (!udp()) return open_tcp(c);
  if (c.fd < 0) {  // one socket a slot for the whole run
    c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0 || connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0)
      load::fail_errno("udp socket");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) load::fail_errno("epoll_ctl");
  }
  c.phase = Phase::Exchange;
  std::string q = churn::dns_query(static_cast<std::uint16_t>(number), opt_.name);
  if (send(c.fd, q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) fail(c, std::string("udp send: ") + std::strerror(errno));
}

void ChurnClient::open_tcp(Conn& c) {
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail(c, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opt_.sources > 1) {  // the port is picked at connect(), for the whole 4-tuple
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    // number / 2: the even connections, which leave TIME_WAIT, use every source.
    src.sin_addr.s_addr = htonl(0x7f000001u + static_cast<std::uint32_t>(c.number / 2 % opt_.sources));
    if (bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
      return fail(c, std::string("bind: ") + std::strerror(errno));
  }
  c.phase = Phase::Connecting;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) load::fail_errno("epoll_ctl");
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 && errno != EINPROGRESS)
    return fail(c, std::string("connect: ") + std::strerror(errno));
}

void ChurnClient::on_event(Conn& c, std::uint32_t events) {
  if (c.phase == Phase::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return fail(c, std::string("connect: ") + std::strerror(err));
    if (!(events & EPOLLOUT)) return;
    established(c);
  }
  if (c.phase != Phase::Idle) drive(c);
}

void ChurnClient::established(Conn& c) {
  if (opt_.mode == Mode::Chat && c.number % 2 == 1) return finish(c, true);  // up, then reset at once
  if (!tls_) return begin_exchange(c);
  c.ssl = SSL_new(tls_);
  if (!c.ssl) load::fail("SSL_new failed");
  SSL_set_fd(c.ssl, c.fd);
  SSL_set_tlsext_host_name(c.ssl, "localhost");
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl), opt_.host.c_str());
  SSL_set_connect_state(c.ssl);
  c.phase = Phase::Handshake;
}

void ChurnClient::begin_exchange(Conn& c) {
  c.phase = Phase::Exchange;
  c.out_at = 0;
  switch (opt_.mode) {
    case Mode::Echo: c.out = echo_message(c.number); break;
    case Mode::Chat: c.out = "churn " + std::to_string(c.number) + "\n"; break;
    case Mode::Dns: {
      std::string q = churn::dns_query(static_cast<std::uint16_t>(c.number), opt_.name);
      c.out = {char(q.size() >> 8), char(q.size() & 0xff)};
      c.out += q;
      break;
    }
    case Mode::Http: return next_request(c);
    case Mode::DnsUdp: break;
  }
}

void ChurnClient::next_request(Conn& c) {
  const Fetch& f = opt_.gets[static_cast<std::size_t>(c.number + c.replies) % opt_.gets.size()];
  c.out = "GET " + f.path + " HTTP/1.1\r\nHost: x\r\n" + (opt_.requests == 1 ? "Connection: close\r\n" : "") + "\r\n";
  c.out_at = 0;
}

// Moves a connection as far as it can go without waiting.
void ChurnClient::drive(Conn& c) {
  if (c.phase == Phase::Handshake) {
    ERR_clear_error();
    int r = SSL_do_handshake(c.ssl);
    if (r != 1) {
      std::string why;
      if (tls_result(c.ssl, r, "tls handshake", why) == kBroken) fail(c, why);
      return;
    }
    begin_exchange(c);
  }
  if (c.phase == Phase::Exchange) flush(c);
  if (c.phase != Phase::Idle) pump_read(c);
}

void ChurnClient::flush(Conn& c) {
  std::string why;
  while (c.out_at < c.out.size()) {
    ssize_t n = transmit(c, c.out.data() + c.out_at, c.out.size() - c.out_at, why);
    if (n == kWouldBlock) return;
    if (n < 0) return fail(c, why);
    c.out_at += static_cast<std::size_t>(n);
  }
  if (opt_.mode == Mode::Chat) half_close(c);  // the line is out: say goodbye
}

void ChurnClient::pump_read(Conn& c) {
  std::string why;
  while (c.phase == Phase::Exchange || c.phase == Phase::Closing) {
    ssize_t n = receive(c, rbuf_.data(), rbuf_.size(), why);
    if (n == kWouldBlock) return;
    if (n == kBroken) return fail(c, why);
    bool closing = c.phase == Phase::Closing;
    if (n == kEof && !udp()) {
      if (closing) return finish(c, false);
      if (opt_.mode == Mode::Http && opt_.requests == 1) return check(c, true);
      return fail(c, "closed by the server before the reply");
    }
    if (opt_.mode == Mode::Chat) continue;  // other clients' lines: not ours to check
    if (closing) return fail(c, "data after the reply");
    if (udp()) c.in.clear();  // one datagram, one answer
    c.in.append(rbuf_.data(), static_cast<std::size_t>(n));
    check(c, false);
  }
}

// Looks at what has arrived; on a whole reply moves the connection on.
void ChurnClient::check(Conn& c, bool eof) {
  std::string why;
  switch (opt_.mode) {
    case Mode::Echo:
      if (c.in.size() < c.out.size()) return;
      if (c.in != c.out) return fail(c, "echo: bytes differ from those sent");
      break;
    case Mode::Dns: {
      if (c.in.size() < 2) return;
      std::size_t len = static_cast<unsigned char>(c.in[0]) << 8 | static_cast<unsigned char>(c.in[1]);
      if (c.in.size() < 2 + len) return;
      if (c.in.size() > 2 + len) return fail(c, "dns: bytes after the answer");
      why = churn::dns_check(std::string_view(c.in).substr(2), static_cast<std::uint16_t>(c.number));
      if (!why.empty()) return fail(c, why);
      break;
    }
    case Mode::DnsUdp:
      // A late answer to a query that already timed out has another ID: skipped.
      if (c.in.size() >= 2 && churn::dns_id(c.in) != static_cast<std::uint16_t>(c.number)) return c.in.clear();
      why = churn::dns_check(c.in, static_cast<std::uint16_t>(c.number));
      if (!why.empty()) return fail(c, why);
      break;
    case Mode::Http: {
      const Fetch& f = opt_.gets[static_cast<std::size_t>(c.number + c.replies) % opt_.gets.size()];
      Reply r = churn::http_check(c.in, f, opt_.requests > 1, eof, why);
      if (r == Reply::Incomplete) return;
      if (r == Reply::Bad) return fail(c, why);
      ++requests_ok_;
      if (++c.replies < opt_.requests) {
        next_request(c);
        return flush(c);
      }
      if (eof) return finish(c, c.number % 2 == 1);  // the server closed: close too
      return half_close(c);
    }
    case Mode::Chat: return;
  }
  ++requests_ok_;
  reply_done(c);
}

void ChurnClient::reply_done(Conn& c) {
  if (udp() || c.number % 2 == 1) return finish(c, true);
  half_close(c);
}

// Our side is done: FIN (TLS: close_notify first), then read to the server's EOF.
void ChurnClient::half_close(Conn& c) {
  if (c.ssl) SSL_shutdown(c.ssl);
  shutdown(c.fd, SHUT_WR);
  c.phase = Phase::Closing;
}

// The connection (or query) succeeded; `reset` ends it with an RST
// instead of a FIN.
void ChurnClient::finish(Conn& c, bool reset) {
  ++ok_;
  ++finished_;
  if (opt_.mode == Mode::Chat && c.number % 2 == 0) ++lines_sent_;
  if (udp()) {
    c.phase = Phase::Idle;
    return;
  }
  close_conn(c, reset);
}

void ChurnClient::close_conn(Conn& c, bool reset) {
  if (reset) {
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  } else if (c.ssl && !(SSL_get_shutdown(c.ssl) & SSL_SENT_SHUTDOWN)) {
    SSL_shutdown(c.ssl);
  }
  if (c.ssl) SSL_free(c.ssl);
  c.ssl = nullptr;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.phase = Phase::Idle;
}

void ChurnClient::fail(Conn& c, const std::string& why) {
  ++reasons_[why];
  ++failures_;
  ++finished_;
  if (udp()) c.phase = Phase::Idle;
  else close_conn(c, true);
}

ssize_t ChurnClient::receive(Conn& c, char* buf, std::size_t len, std::string& why) {
  if (!c.ssl) {
    ssize_t n;
    do n = recv(c.fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    return socket_result(n, "recv", why);
  }
  ERR_clear_error();
  int n = SSL_read(c.ssl, buf, static_cast<int>(len));
  if (n > 0) return n;
  if (SSL_get_error(c.ssl, n) == SSL_ERROR_ZERO_RETURN) return kEof;
  ssize_t r = tls_result(c.ssl, n, "tls read", why);
  // EOF without close_notify counts only once we have said goodbye.
  return r == kBroken && c.phase == Phase::Closing ? kEof : r;
}

ssize_t ChurnClient::transmit(Conn& c, const char* buf, std::size_t len, std::string& why) {
  if (!c.ssl) {
    ssize_t n;
    do n = send(c.fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return socket_result(n, "send", why);
  }
  ERR_clear_error();
  int n = SSL_write(c.ssl, buf, static_cast<int>(len));
  return n > 0 ? n : tls_result(c.ssl, n, "tls write", why);
}

// Connections (or queries) past their --conn-timeout fail.
void ChurnClient::sweep(Clock::time_point now) {
  for (Conn& c : conns_)
    if (c.phase != Phase::Idle && now > c.deadline) fail(c, "no reply within --conn-timeout");
}

// ---- chat: the observer ---------------------------------------------------

// Connects the observer and makes sure the server has it before any line
// is sent: the server accepts in order, so once a later probe
// connection's line has been relayed, the observer is a member.
void ChurnClient::open_observer() {
  seen_.assign(static_cast<std::size_t>(opt_.conns), false);
  auto dial = [this] {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) load::fail_errno("connect");
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  };
  observer_ = dial();
  std::string got;
  char buf[256];
  for (int attempt = 0; got.find("probe\n") == std::string::npos; ++attempt) {
    if (attempt == 5) load::fail("the chat server does not relay a probe line to the observer");
    int probe = dial();
    send(probe, "probe\n", 6, MSG_NOSIGNAL);
    shutdown(probe, SHUT_WR);
    while (recv(probe, buf, sizeof buf, 0) > 0) {
    }
    close(probe);
    ssize_t n = recv(observer_, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  }
  if (fcntl(observer_, F_SETFL, fcntl(observer_, F_GETFL) | O_NONBLOCK) != 0) load::fail_errno("fcntl");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = kObserverTag;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, observer_, &ev) != 0) load::fail_errno("epoll_ctl");
}

// Every even connection's "churn N" line must arrive once.
void ChurnClient::read_observer() {
  for (;;) {
    ssize_t n = recv(observer_, rbuf_.data(), rbuf_.size(), 0);
    if (n > 0) {
      observed_.append(rbuf_.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    ++reasons_["chat: the server disconnected the observer"];
    ++failures_;
    close(observer_);  // which also takes it out of the epoll set
    observer_ = -1;
    break;
  }
  std::size_t at = 0, nl;
  while ((nl = observed_.find('\n', at)) != std::string::npos) {
    std::string line = observed_.substr(at, nl - at);
    at = nl + 1;
    char* end = nullptr;
    long number = line.compare(0, 6, "churn ") == 0 ? std::strtol(line.c_str() + 6, &end, 10) : -1;
    bool ours = end && *end == '\0' && number >= 0 && number < opt_.conns && number % 2 == 0;
    if (ours && !seen_[static_cast<std::size_t>(number)]) {
      seen_[static_cast<std::size_t>(number)] = true;
      ++requests_ok_;
    } else if (line != "probe") {
      ++reasons_[ours ? "chat: a line relayed twice" : "chat: a line nobody sent"];
      ++failures_;
    }
  }
  observed_.erase(0, at);
}

// After the last connection: the lines still on their way, until `until`.
void ChurnClient::await_observer(Clock::time_point until) {
  epoll_event ev[8];
  while (observer_ >= 0 && requests_ok_ < lines_sent_ && Clock::now() < until)
    if (epoll_wait(epfd_, ev, 8, 100) > 0) read_observer();
  if (requests_ok_ < lines_sent_) {
    reasons_["chat: a line never reached the observer"] += lines_sent_ - requests_ok_;
    failures_ += lines_sent_ - requests_ok_;
  }
}

// ---- the run --------------------------------------------------------------

double ChurnClient::run() {
  Clock::time_point begin = Clock::now();
  Clock::time_point end = begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.seconds));
  Clock::time_point next_sweep = begin;
  epoll_event events[256];
  while (finished_ < opt_.conns) {
    for (Conn& c : conns_)
      if (c.phase == Phase::Idle && started_ < opt_.conns) start(c, started_);
    Clock::time_point now = Clock::now();
    if (now >= end) break;
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + std::chrono::milliseconds(100);
    }
    int n = epoll_wait(epfd_, events, static_cast<int>(std::size(events)), 50);
    if (n < 0 && errno != EINTR) load::fail_errno("epoll_wait");
    for (int k = 0; k < n; ++k) {
      if (events[k].data.u64 == kObserverTag) read_observer();
      else on_event(conns_[events[k].data.u64], events[k].events);
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  for (Conn& c : conns_)
    if (c.phase != Phase::Idle) fail(c, "still open at the end of --seconds");
  if (started_ < opt_.conns) {
    reasons_["not started within --seconds"] += opt_.conns - started_;
    failures_ += opt_.conns - started_;
  }
  if (opt_.mode == Mode::Chat)
    await_observer(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.conn_timeout)));
  return elapsed;
}

void ChurnClient::report(double elapsed) const {
  std::printf("{\"mode\":\"%s\",\"conns\":%ld,\"parallel\":%d,\"ok\":%ld,\"failures\":%ld,\"requests\":%ld,"
              "\"requests_ok\":%ld,\"elapsed_s\":%.3f,\"conns_per_s\":%.1f,\"requests_per_s\":%.1f}\n",
              opt_.mode_name.c_str(), opt_.conns, opt_.parallel, ok_, failures_, expected_requests(), requests_ok_,
              elapsed, static_cast<double>(ok_) / elapsed, static_cast<double>(requests_ok_) / elapsed);
  for (const auto& [why, count] : reasons_) std::fprintf(stderr, "churn_load: %ld x %s\n", count, why.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  load::program = {"churn_load",
                   "--mode echo|chat|http|dns|dns-udp --port P [--host 127.0.0.1] [--conns N]\n"
                   "       [--parallel K] [--requests R] [--size BYTES] [--get /PATH=FILE]... [--name NAME]\n"
                   "       [--seconds D] [--conn-timeout S] [--sources S] [--tls [--cafile PEM]]"};
  Options o = parse_options(argc, argv);
  load::raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(2), not send(MSG_NOSIGNAL)
  ChurnClient client(o);
  double elapsed = client.run();
  client.report(elapsed);
  return client.passed() ? 0 : 1;
}
