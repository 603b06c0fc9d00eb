// dns::Resolver's public face: construction from a configuration or the
// system's files, and each call handed to the core (detail/resolver_core.h).
#include "engine/dns/resolver.h"

#include "engine/dns/detail/resolver_core.h"

namespace ev::dns {

const char* dns_err_to_string(int err) {
  switch (err) {
    case kErrNone: return "no error";
    case kErrFormat: return "misformatted query";
    case kErrServerFailed: return "server failed";
    case kErrNotExist: return "name does not exist";
    case kErrNotImpl: return "query not implemented";
    case kErrRefused: return "refused";
    case kErrTruncated: return "reply truncated or ill-formed";
    case kErrUnknown: return "unknown";
    case kErrTimeout: return "request timed out";
    case kErrShutdown: return "dns subsystem shut down";
    case kErrCancel: return "dns request canceled";
    case kErrNoData: return "no records in the reply";
  }
  return "[Unknown error code]";
}

Resolver::Resolver(std::unique_ptr<detail::ResolverCore> core) : core_(std::move(core)) {}

std::unique_ptr<Resolver> Resolver::create(EventBase& base, const ResolvConf& conf, std::string* why) {
  std::unique_ptr<Resolver> r(new Resolver(std::make_unique<detail::ResolverCore>(base, conf)));
  for (const SocketAddress& a : conf.nameservers) r->add_nameserver(a);
  if (r->nameserver_count() == 0 && why) *why = "no nameservers configured";
  return r;
}

std::unique_ptr<Resolver> Resolver::system(EventBase& base, std::string* why) {
  return from_files(base, "/etc/resolv.conf", "/etc/hosts", why);
}

// A missing or unreadable file is not an error: a machine without
// resolv.conf gets the defaults, one without hosts gets none.
std::unique_ptr<Resolver> Resolver::from_files(EventBase& base, const std::string& resolv_conf_path,
                                               const std::string& hosts_path, std::string* why) {
  std::string ignored;
  ResolvConf conf = load_resolv_conf(resolv_conf_path, &ignored).value_or(ResolvConf{});
  std::string problem;
  auto resolver = create(base, conf, &problem);
  if (!resolver) {
    if (why) *why = problem;
    return nullptr;
  }
  if (auto hosts = HostsFile::load(hosts_path, &ignored)) resolver->set_hosts(std::move(*hosts));
  return resolver;
}

// The core hears of the destruction while it is still reachable: a
// callback may call back into this Resolver (cancel another request).
Resolver::~Resolver() { core_->shutdown(); }

void Resolver::set_hosts(HostsFile hosts) { core_->set_hosts(std::move(hosts)); }
void Resolver::add_nameserver(const SocketAddress& addr) { core_->add_nameserver(addr); }
void Resolver::clear_nameservers() { core_->clear_nameservers(); }
std::size_t Resolver::nameserver_count() const { return core_->nameserver_count(); }
std::size_t Resolver::nameservers_up() const { return core_->nameservers_up(); }
const ResolvConf& Resolver::config() const { return core_->config(); }
ResolvConf& Resolver::config() { return core_->config(); }

Resolver::Request* Resolver::query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags) {
  return core_->query(name, type, std::move(cb), flags);
}

Resolver::Request* Resolver::resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags) {
  return core_->resolve_reverse(addr, std::move(cb), flags);
}

Resolver::Request* Resolver::getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags) {
  return core_->getaddrinfo(name, port, family, std::move(cb), flags);
}

void Resolver::set_allow_skew(Duration d) { core_->set_allow_skew(d); }
void Resolver::cancel(Request* req) { core_->cancel(req); }
void Resolver::suspend() { core_->suspend(); }
void Resolver::resume() { core_->resume(); }
std::size_t Resolver::inflight() const { return core_->inflight(); }
std::size_t Resolver::waiting() const { return core_->waiting(); }

}  // namespace ev::dns
