// Answers that need no nameserver, and getaddrinfo(3) on top of queries.
// The hosts file (hosts(5)) and "localhost" (RFC 6761) answer A, AAAA and
// PTR questions; getaddrinfo() answers an address literal at once and
// otherwise asks A and AAAA together, IPv4 first in the result.
#include <sys/socket.h>

#include <memory>

#include "engine/dns/detail/resolver_core.h"

namespace ev::dns::detail {

// A and AAAA questions for names in the hosts file are answered from it
// (a family the file lacks is NODATA, not a DNS query); "localhost" and
// names under it never leave the machine (RFC 6761).
bool ResolverCore::answer_from_hosts(Request* req, std::string_view given) {
  if (req->type != kTypeA && req->type != kTypeAAAA) return false;
  std::string name(given);
  int family = req->type == kTypeA ? AF_INET : AF_INET6;
  auto addrs = hosts_.lookup(name, family);
  bool known = !addrs.empty() || !hosts_.lookup(name, AF_UNSPEC).empty();
  if (!known && name_in_zone(name, "localhost")) {
    addrs.push_back(*parse_ip(family == AF_INET ? "127.0.0.1" : "::1"));
    known = true;
  }
  if (!known) return false;
  Result r;
  r.name = name;
  r.from_hosts = true;
  r.err = addrs.empty() ? kErrNoData : kErrNone;
  r.answer.header.qr = true;
  r.answer.header.aa = true;
  r.answer.questions.push_back({name, req->type, kClassIN});
  for (const SocketAddress& a : addrs) {
    std::string why;
    if (auto rr = make_record(name, req->type, 0, a.host(), "", &why)) r.answer.answers.push_back(std::move(*rr));
  }
  deliver_later(req, std::move(r));
  return true;
}

ResolverCore::Request* ResolverCore::resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags) {
  std::string rev = reverse_name(addr.host()).value_or("");
  auto name = (flags & Resolver::kNoHosts) ? std::nullopt : hosts_.reverse(addr);
  if (!name) return query(rev, kTypePTR, std::move(cb), flags | Resolver::kNoSearch);
  Request* req = new_request(kTypePTR, 0, std::move(cb));
  Result r;
  r.from_hosts = true;
  r.name = rev;
  r.answer.header.qr = true;
  r.answer.questions.push_back({rev, kTypePTR, kClassIN});
  std::string why;
  if (auto rr = make_record(rev, kTypePTR, 0, *name + ".", "", &why)) r.answer.answers.push_back(std::move(*rr));
  deliver_later(req, std::move(r));
  return req;
}

ResolverCore::Request* ResolverCore::getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags) {
  struct State {
    int pending = 0;
    bool delivered = false;
    std::vector<SocketAddress> v4, v6;
    int err4 = kErrNone, err6 = kErrNone;
    AddrCallback cb;
  };
  auto st = std::make_shared<State>();
  st->cb = std::move(cb);
  // Only the resolver's destruction reaches the parent's own callback.
  Request* p = new_request(kTypeA, 0, [st](const Result& r) {
    if (st->delivered) return;
    st->delivered = true;
    st->cb(r.err, {});
  });
  if (auto literal = parse_ip(name, port)) {
    base_.once(-1, 0, [this, p, st, a = *literal, alive = alive_](int, short) {
      if (!*alive || p->cancelled || st->delivered) return;
      st->delivered = true;
      st->cb(kErrNone, {a});
      finish(p, Result{});
    });
    return p;
  }
  auto deliver = [this, p, port](const std::shared_ptr<State>& st) {
    if (st->delivered || p->cancelled) return;
    st->delivered = true;
    std::vector<SocketAddress> all = st->v4;
    all.insert(all.end(), st->v6.begin(), st->v6.end());
    for (SocketAddress& a : all) a.set_port(port);
    int err = all.empty() ? (st->err4 != kErrNone ? st->err4 : st->err6) : kErrNone;
    for (Request* child : std::vector<Request*>(p->children)) cancel(child);  // a family still pending after the skew
    st->cb(err, all);
    finish(p, Result{});
  };
  auto collected = [this, p, st, deliver](const Result& r, std::uint16_t type, std::vector<SocketAddress>& out, int& err) {
    err = r.err;
    for (const ResourceRecord& rr : r.answer.answers)
      if (rr.type == type)
        if (auto a = parse_ip(rr.data_text())) out.push_back(*a);
    if (--st->pending == 0) return deliver(st);
    if (!out.empty()) p->skew.add(allow_skew_);  // the other family gets a little longer
  };
  p->skew.assign(base_, -1, 0, [w = std::weak_ptr<State>(st), deliver](int, short) {
    if (auto s = w.lock()) deliver(s);
  });
  if (family != AF_INET6) {
    ++st->pending;
    p->children.push_back(query(name, kTypeA, [st, collected](const Result& r) { collected(r, kTypeA, st->v4, st->err4); }, flags));
    p->children.back()->parent = p;
  }
  if (family != AF_INET) {
    ++st->pending;
    p->children.push_back(query(name, kTypeAAAA, [st, collected](const Result& r) { collected(r, kTypeAAAA, st->v6, st->err6); }, flags));
    p->children.back()->parent = p;
  }
  return p;
}

}  // namespace ev::dns::detail
