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
#include <list>
#include <memory>
#include <string>
#include <string_view>
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
  int fd = -1;
  Event read_ev, timer;
  std::unique_ptr<SocketBufferEvent> tcp;
  bool over_tcp = false;
  bool unreachable = false;  // refused (ICMP or TCP RST) or closed before our answer
  bool timed_out = false;    // an attempt found no answer within the timeout
  bool launched = false;  // counted in inflight_
  // A plain function, so that the event can be re-assigned for the next
  // attempt from inside its own callback.
  static void on_readable(int, short, void* arg);
  ~Transaction();
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
  void clear_nameservers() { servers_.clear(); }
  std::size_t nameserver_count() const { return servers_.size(); }
  std::size_t nameservers_up() const;

  // resolver_getaddrinfo.cpp
  Request* resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags);
  Request* getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags);

 private:
  friend struct Transaction;

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
  void on_udp_readable(Transaction& t);
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
  std::size_t next_server_ = 0;
  std::list<std::unique_ptr<Request>> requests_;
  std::vector<Request*> waiting_;
  std::size_t inflight_ = 0;
  bool suspended_ = false;
  Duration allow_skew_{3000000};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ev::dns::detail
