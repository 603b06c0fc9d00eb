// Internals of dns::Resolver (resolver.h is the manual). ResolverCore is
// one object in three files, one per concept:
//   resolver_search.cpp       a Request walks its candidate names (the
//                             search list and ndots, resolv.conf(5)); each
//                             candidate is one Transaction at a time;
//                             queueing under max-inflight, suspend/resume,
//                             cancel and delivery.
//   resolver_transport.cpp    a Transaction's attempts over UDP and TCP
//                             (RFC 1035 4.2, RFC 7766), timeouts, and
//                             nameserver health: failover, failed-server
//                             detection and probing.
//   resolver_getaddrinfo.cpp  answers that need no query (hosts(5),
//                             localhost, address literals) and
//                             getaddrinfo(3): A and AAAA together.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/resolver.h"
#include "engine/io/socket_buffer_event.h"

namespace ev::dns::detail {

class ResolverCore;

struct Nameserver {
  SocketAddress addr;
  int timeouts = 0;  // consecutive
  bool down = false;
  Duration probe_interval{0};
  Event probe_timer;
};

struct Transaction;

// A UDP socket on a random source port, connected to one nameserver. It
// carries the queries in flight together (told apart by ID and question),
// at most kMaxUses of them, and closes when none is left waiting: a fresh
// socket per query cost four system calls and two epoll changes for every
// name of a bulk lookup, while a query asked alone still gets a port of
// its own and no port outlives kMaxUses queries (c-ares's udp_max_queries).
struct UdpPort {
  static constexpr int kMaxUses = 64;
  ResolverCore* owner = nullptr;
  std::size_t server = 0;
  int fd = -1;
  int uses = 0;
  bool reading = false;  // in on_readable: closing waits until it returns
  Event read_ev;
  std::unordered_map<std::uint16_t, Transaction*> by_id;
  static void on_readable(int, short, void* arg);
  ~UdpPort();
};

// One candidate name being asked: attempt after attempt, server after
// server, until an answer, an error or the attempts run out.
struct Transaction {
  ResolverCore* owner = nullptr;
  Resolver::Request* req = nullptr;
  std::string qname;  // as sent (0x20 case randomisation applied)
  std::uint16_t id = 0;
  std::size_t attempt = 0;
  std::size_t first_server = 0;  // where attempt 0 went; later ones count from it
  std::size_t server = 0;
  UdpPort* port = nullptr;  // the attempt's UDP socket, if it is on UDP
  Event timer;
  std::unique_ptr<SocketBufferEvent> tcp;
  bool over_tcp = false;
  bool unreachable = false;  // refused (ICMP or TCP RST) or closed before our answer
  bool timed_out = false;    // an attempt found no answer within the timeout
  bool launched = false;  // counted in inflight_
};

}  // namespace ev::dns::detail

namespace ev::dns {

class Resolver::Request {
 public:
  std::uint16_t type = kTypeA;
  int flags = 0;
  std::vector<std::string> names;
  std::size_t next_name = 0;
  QueryCallback cb;
  std::unique_ptr<detail::Transaction> tx;
  Result best;  // the most telling failure so far
  bool cancelled = false;
  bool finished = false;
  std::vector<Request*> children;  // getaddrinfo: its A and AAAA queries not yet finished
  Request* parent = nullptr;        // getaddrinfo's, for its A and AAAA queries
  Event skew;                       // getaddrinfo: the other family's grace period
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  int queries_sent = 0;
};

}  // namespace ev::dns

namespace ev::dns::detail {

class ResolverCore {
 public:
  using Request = Resolver::Request;
  using Result = Resolver::Result;
  using QueryCallback = Resolver::QueryCallback;
  using AddrCallback = Resolver::AddrCallback;

  ResolverCore(EventBase& base, ResolvConf conf);
  ~ResolverCore();
  // Every pending request hears kErrShutdown once.
  void shutdown();

  void set_hosts(HostsFile hosts) { hosts_ = std::move(hosts); }
  const ResolvConf& config() const { return conf_; }
  ResolvConf& config() { return conf_; }
  void set_allow_skew(Duration d) { allow_skew_ = d; }
  std::size_t inflight() const { return inflight_; }
  std::size_t waiting() const { return waiting_.size(); }

  // resolver_search.cpp
  Request* query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags);
  void cancel(Request* req);
  void suspend() { suspended_ = true; }
  void resume();

  // resolver_transport.cpp
  void add_nameserver(const SocketAddress& addr);
  void clear_nameservers() {
    servers_.clear();
    for (auto& p : ports_) p->uses = UdpPort::kMaxUses;  // indexes now name other servers
  }
  std::size_t nameserver_count() const { return servers_.size(); }
  std::size_t nameservers_up() const;

  // resolver_getaddrinfo.cpp
  Request* resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags);
  Request* getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags);

 private:
  friend struct Transaction;
  friend struct UdpPort;

  // resolver_search.cpp
  Request* new_request(std::uint16_t type, int flags, QueryCallback cb);
  std::vector<std::string> candidates(std::string_view name, int flags) const;
  void deliver_later(Request* req, Result&& r);
  void start_next_candidate(Request* req);
  void launch(Request* req);
  void pump();
  void on_answer(Transaction& t, Message&& msg);
  void finish(Request* req, Result&& result);
  void finish_transaction(Transaction& t, Result&& result);

  // resolver_transport.cpp
  void send_attempt(Transaction& t);
  void send_tcp(Transaction& t);
  bool is_answer(const Transaction& t, const Message& answer) const;
  void on_udp_readable(UdpPort& p);
  void on_udp_refused(UdpPort& p);
  UdpPort* udp_port(std::size_t server);
  void release_port(Transaction& t);
  void close_port_if_done(UdpPort* p);
  void on_timeout(Transaction& t);
  void retire(std::unique_ptr<Transaction> t);
  Nameserver* pick_server(std::size_t start, std::size_t attempt, std::size_t* index);
  void server_failed(std::size_t index);
  void server_ok(std::size_t index);
  void probe(std::size_t index);

  // resolver_getaddrinfo.cpp
  bool answer_from_hosts(Request* req, std::string_view given);

  EventBase& base_;
  ResolvConf conf_;
  HostsFile hosts_;
  std::vector<std::unique_ptr<Nameserver>> servers_;
  std::vector<std::unique_ptr<UdpPort>> ports_;
  std::size_t next_server_ = 0;
  std::list<std::unique_ptr<Request>> requests_;
  std::deque<Request*> waiting_;  // FIFO: popped from the front
  std::size_t inflight_ = 0;
  bool suspended_ = false;
  Duration allow_skew_{3000000};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ev::dns::detail
