// dns::Resolver: asynchronous name resolution (the guide's evdns_base).
// Queries go to the configured nameservers over UDP, with random IDs and
// source ports, optional 0x20 case randomisation, answers checked against
// ID, question and server; a truncated answer is retried over TCP. The
// search list and ndots, the hosts file, several nameservers with failover,
// failed-server detection with probing, a limit on queries in flight and
// suspend / resume behave as in libevent.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/hosts_file.h"
#include "engine/dns/message.h"
#include "engine/dns/resolv_conf.h"
#include "engine/util/sockaddr.h"

namespace ev::dns {

// libevent's DNS_ERR_* codes.
enum DnsError : int {
  kErrNone = 0,
  kErrFormat = 1,        // the server could not read our query
  kErrServerFailed = 2,  // SERVFAIL
  kErrNotExist = 3,      // NXDOMAIN
  kErrNotImpl = 4,
  kErrRefused = 5,
  kErrTruncated = 65,
  kErrUnknown = 66,
  kErrTimeout = 67,
  kErrShutdown = 68,  // the resolver was destroyed
  kErrCancel = 69,
  kErrNoData = 70,  // the name exists but has no record of the type
};
const char* dns_err_to_string(int err);

class Resolver {
 public:
  enum Flag : int {
    kNoSearch = 0x01,  // do not try the search list
    kUseTcp = 0x02,    // TCP from the start
    kNoHosts = 0x04,   // skip the hosts file
  };
  struct Result {
    int err = kErrNone;
    std::string name;  // the name that was answered (after the search list)
    Message answer;    // the whole answer, when one came
    bool from_hosts = false;
  };
  using QueryCallback = std::function<void(const Result& result)>;
  using AddrCallback = std::function<void(int err, const std::vector<SocketAddress>& addrs)>;
  class Request;  // a pending lookup; pass to cancel()

  static std::unique_ptr<Resolver> create(EventBase& base, const ResolvConf& conf, std::string* why);
  ~Resolver();  // pending callbacks get kErrShutdown
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  void set_hosts(HostsFile hosts) { hosts_ = std::move(hosts); }
  // Manual configuration (evdns_base_nameserver_ip_add and friends).
  void add_nameserver(const SocketAddress& addr);
  void clear_nameservers();
  std::size_t nameserver_count() const { return servers_.size(); }
  std::size_t nameservers_up() const;
  const ResolvConf& config() const { return conf_; }
  ResolvConf& config() { return conf_; }

  // Any type. The callback runs exactly once (never from inside query()).
  Request* query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags = 0);
  Request* resolve_ipv4(std::string_view name, QueryCallback cb, int flags = 0) { return query(name, kTypeA, std::move(cb), flags); }
  Request* resolve_ipv6(std::string_view name, QueryCallback cb, int flags = 0) { return query(name, kTypeAAAA, std::move(cb), flags); }
  Request* resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags = 0);
  // getaddrinfo-style: A and AAAA together (IPv4 first), literals and hosts
  // answered at once. Allow-skew: once one family has answered, the other
  // gets only this much longer before the results are delivered without it
  // (libevent's getaddrinfo-allow-skew, default 3 s).
  Request* getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags = 0);
  void set_allow_skew(Duration d) { allow_skew_ = d; }
  // The callback is not called (kErrCancel is not delivered either).
  void cancel(Request* req);

  // While suspended, new queries wait; resume() sends them.
  void suspend();
  void resume();
  std::size_t inflight() const { return inflight_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  struct Server;
  struct Transaction;
  friend class Request;

  Resolver(EventBase& base, ResolvConf conf);
  std::vector<std::string> candidates(std::string_view name, int flags) const;
  bool answer_from_hosts(Request* req, std::string_view given);
  void deliver_later(Request* req, Result&& r);
  void start_next_candidate(Request* req);
  void launch(Request* req);
  void pump();
  void send_attempt(Transaction& t);
  void send_tcp(Transaction& t);
  bool is_answer(const Transaction& t, const Message& answer) const;
  void on_udp_readable(Transaction& t);
  void on_answer(Transaction& t, Message&& msg);
  void on_timeout(Transaction& t);
  void finish(Request* req, Result&& result);
  void finish_transaction(Transaction& t, Result&& result);
  void retire(std::unique_ptr<Transaction> t);
  Server* pick_server(std::size_t start, std::size_t attempt, std::size_t* index);
  void server_failed(std::size_t index);
  void server_ok(std::size_t index);
  void probe(std::size_t index);

  EventBase& base_;
  ResolvConf conf_;
  HostsFile hosts_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::size_t next_server_ = 0;
  std::list<std::unique_ptr<Request>> requests_;
  std::vector<Request*> waiting_;
  std::size_t inflight_ = 0;
  bool suspended_ = false;
  Duration allow_skew_{3000000};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ev::dns
