// dns::Resolver: asynchronous name resolution for an EventBase, the
// engine's counterpart of libevent's evdns_base.
//
// Queries (RFC 1035) go to the configured nameservers over UDP with EDNS0
// (RFC 6891, 1232-byte payload), random IDs and source ports, and optional
// 0x20 case randomisation; an answer must match the ID, the question and
// the server it was sent to. A truncated answer is asked again over TCP
// (RFC 1035 4.2.2, RFC 1123 6.1.3.2, RFC 7766). Names are tried through
// the search list with ndots as resolv.conf(5) describes; the hosts(5)
// file and "localhost" (RFC 6761) are answered without a query. Several
// nameservers take turns and fail over (RFC 1123 6.1.3.3); one that keeps
// timing out is marked down and probed until it answers again; a limit on
// queries in flight and suspend / resume behave as in libevent.
// getaddrinfo() asks A and AAAA together, like getaddrinfo(3) with
// AF_UNSPEC.
//
// Every callback runs once (never, after cancel()) and from the loop, never
// from inside the call that started the lookup. The EventBase must outlive the
// Resolver; destroying the Resolver answers what is pending with
// kErrShutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

namespace detail {
class ResolverCore;
}

// The error a lookup ends with: the RCODEs of RFC 1035 4.1.1, then
// libevent's own DNS_ERR_* codes, same numbers.
enum DnsError : int {
  kErrNone = 0,
  kErrFormat = 1,        // the server could not read our query (or the name is invalid)
  kErrServerFailed = 2,  // SERVFAIL
  kErrNotExist = 3,      // NXDOMAIN
  kErrNotImpl = 4,
  kErrRefused = 5,
  kErrTruncated = 65,
  kErrUnknown = 66,  // e.g. no nameservers
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
    // Where the answer came from, for a verbose report: the server that
    // sent it (none from the hosts file or on a failure without one),
    // whether over TCP, how many queries were sent for this request
    // (every server, try and search-list name) and how long it took.
    std::optional<SocketAddress> server;
    bool over_tcp = false;
    bool refused = false;  // no answer because every server refused (ICMP port unreachable, TCP RST)
    int queries_sent = 0;
    std::chrono::microseconds elapsed{0};
  };
  using QueryCallback = std::function<void(const Result& result)>;
  using AddrCallback = std::function<void(int err, const std::vector<SocketAddress>& addrs)>;
  class Request;  // a pending lookup; pass to cancel()

  // A resolver using conf's nameservers and options. Without nameservers
  // it still works (hosts, literals) and says so in `why`.
  static std::unique_ptr<Resolver> create(EventBase& base, const ResolvConf& conf, std::string* why);
  // The system's resolver: /etc/resolv.conf (the defaults when it is
  // missing or unreadable) and /etc/hosts (none when unreadable). nullptr,
  // with `why`, only when the resolver itself cannot be made.
  static std::unique_ptr<Resolver> system(EventBase& base, std::string* why = nullptr);
  // Same, from other files.
  static std::unique_ptr<Resolver> from_files(EventBase& base, const std::string& resolv_conf_path,
                                              const std::string& hosts_path, std::string* why = nullptr);
  ~Resolver();  // pending callbacks get kErrShutdown
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  void set_hosts(HostsFile hosts);
  // Manual configuration (evdns_base_nameserver_ip_add and friends). Port
  // 0 means 53.
  void add_nameserver(const SocketAddress& addr);
  void clear_nameservers();
  std::size_t nameserver_count() const;
  std::size_t nameservers_up() const;
  const ResolvConf& config() const;
  ResolvConf& config();

  // Any type. The callback runs exactly once (never from inside query()).
  Request* query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags = 0);
  Request* resolve_ipv4(std::string_view name, QueryCallback cb, int flags = 0) {
    return query(name, kTypeA, std::move(cb), flags);
  }
  Request* resolve_ipv6(std::string_view name, QueryCallback cb, int flags = 0) {
    return query(name, kTypeAAAA, std::move(cb), flags);
  }
  // PTR for the address (in-addr.arpa / ip6.arpa), or its canonical name
  // from the hosts file.
  Request* resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags = 0);
  // getaddrinfo(3)-style: A and AAAA together (IPv4 first), literals and
  // hosts answered at once; `family` is AF_INET, AF_INET6 or AF_UNSPEC.
  // Allow-skew: once one family has answered, the other gets only this
  // much longer before the results are delivered without it (libevent's
  // getaddrinfo-allow-skew, default 3 s).
  Request* getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags = 0);
  void set_allow_skew(Duration d);
  // The callback is not called (kErrCancel is not delivered either).
  void cancel(Request* req);

  // While suspended, new queries wait; resume() sends them.
  void suspend();
  void resume();
  std::size_t inflight() const;
  std::size_t waiting() const;

 private:
  explicit Resolver(std::unique_ptr<detail::ResolverCore> core);
  std::unique_ptr<detail::ResolverCore> core_;
};

}  // namespace ev::dns
