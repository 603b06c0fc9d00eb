// dns::Connector: the one resolve-and-connect path of the engine. A host
// name (or an IP literal) and a port become a connected socket
// BufferEvent: the name is resolved A and AAAA together (IPv4 first, as
// getaddrinfo(3) orders them), and each address is tried in turn, each
// with its own timeout, until one accepts. Every client (http::Client,
// `tcp chat`, later WebSocket and RPC) connects through it, so the socket
// layer below never knows about names (libevent's
// bufferevent_socket_connect_hostname, moved above the io layer).
//
// A Connector runs one connect at a time; its callback runs exactly once,
// from the loop, unless cancel() or the destructor comes first.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/event.h"
#include "engine/dns/resolver.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/sockaddr.h"

namespace ev::dns {

class Connector {
 public:
  // What went wrong: resolving (the name has no address, or the resolver
  // failed or timed out) is told apart from connecting.
  enum class Error { kNone, kResolve, kResolveTimeout, kRefused, kConnect, kTimeout };

  struct Result {
    Error error = Error::kNone;
    int dns_error = 0;  // kErr* of the lookup, when resolving failed
    int sys_errno = 0;  // errno of the last address that failed
    std::string message;  // "cannot resolve 'x': ...", "connect to 192.0.2.1:80: Connection refused"
    std::optional<SocketAddress> address;  // the address connected to (or tried last)
    Duration dns{0};      // time spent resolving (0 for a literal)
    Duration connect{0};  // time spent connecting, all addresses together
  };

  struct Options {
    int family = AF_UNSPEC;          // AF_INET / AF_INET6: only that family
    std::optional<Duration> timeout;  // per address; none: the kernel's
    int bev_options = BufferEvent::kCloseOnFree;
  };

  // On success `bev` is connected, with no callbacks set; on failure it is
  // null and `result` says why.
  using Callback = std::function<void(std::unique_ptr<SocketBufferEvent> bev, const Result& result)>;
  // One line per step (resolving, each address tried and why it failed).
  using TraceFn = std::function<void(const std::string& line)>;

  // `resolver` may be null: then only IP literals and "localhost" connect.
  Connector(EventBase& base, Resolver* resolver);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Starts connecting to host:port (a name or an IP literal; IPv6 without
  // brackets). A connect already running is cancelled first.
  void connect(const std::string& host, int port, const Options& opts, Callback done);
  // The same for an address already known: an IP address and port, or a
  // Unix domain socket (SocketAddress::unix_path). Nothing is resolved.
  void connect(const SocketAddress& addr, const Options& opts, Callback done);
  // Stops what is running; its callback is not called.
  void cancel();
  bool running() const { return static_cast<bool>(done_); }
  void set_trace(TraceFn fn) { trace_ = std::move(fn); }

 private:
  static void on_start(int fd, short what, void* arg);
  void resolved(int err, const std::vector<SocketAddress>& addrs);
  void try_next();
  void on_event(short what);
  static void on_timeout(int fd, short what, void* arg);
  void address_failed(int err);
  void fail(Error error, std::string message);
  void trace(const std::string& line) const;

  EventBase& base_;
  Resolver* resolver_;
  Resolver::Request* lookup_ = nullptr;
  Options opts_;
  Callback done_;
  TraceFn trace_;
  std::string host_;
  int port_ = 0;
  std::vector<SocketAddress> addrs_;
  std::size_t next_ = 0;
  int last_errno_ = 0;
  Result result_;
  std::unique_ptr<SocketBufferEvent> bev_;
  Event timer_;     // the current address's timeout
  Event start_ev_;  // connect() starts from the loop
  TimePoint phase_started_{};
};

}  // namespace ev::dns
