// The resolver's state machine: a Request walks its candidate names (the
// search list and ndots of resolv.conf(5)); each candidate is one
// Transaction at a time (resolver_transport.cpp sends its attempts). At
// most max-inflight transactions are out; the rest wait, as do all of
// them while the resolver is suspended.
#include <algorithm>
#include <cctype>

#include "engine/dns/detail/resolver_core.h"
#include "engine/util/random.h"

namespace ev::dns::detail {

ResolverCore::ResolverCore(EventBase& base, ResolvConf conf) : base_(base), conf_(std::move(conf)) {}

ResolverCore::~ResolverCore() = default;

// All pending requests are marked finished before the first callback runs:
// a callback may cancel another request, and a getaddrinfo's A and AAAA
// callbacks reach its parent.
void ResolverCore::shutdown() {
  *alive_ = false;
  std::vector<Request*> pending;
  for (auto& req : requests_)
    if (!req->finished && !req->cancelled) {
      req->finished = true;
      pending.push_back(req.get());
    }
  for (Request* req : pending)
    if (req->cb) {
      Result r;
      r.err = kErrShutdown;
      req->cb(r);
    }
}

ResolverCore::Request* ResolverCore::new_request(std::uint16_t type, int flags, QueryCallback cb) {
  auto owned = std::make_unique<Request>();
  Request* req = owned.get();
  req->type = type;
  req->flags = flags;
  req->cb = std::move(cb);
  requests_.push_back(std::move(owned));
  return req;
}

// The names to try, in order: with fewer than ndots dots the search list
// comes first, otherwise the name as given does.
std::vector<std::string> ResolverCore::candidates(std::string_view name, int flags) const {
  bool absolute = !name.empty() && name.back() == '.';
  std::string base_name(absolute ? name.substr(0, name.size() - 1) : name);
  if (absolute || (flags & Resolver::kNoSearch) || conf_.search.empty()) return {base_name};
  auto dots = std::count(base_name.begin(), base_name.end(), '.');
  std::vector<std::string> out;
  if (dots >= conf_.ndots) out.push_back(base_name);
  for (const std::string& domain : conf_.search)
    if (!domain.empty()) out.push_back(base_name + "." + domain);
  if (dots < conf_.ndots) out.push_back(base_name);
  return out;
}

ResolverCore::Request* ResolverCore::query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags) {
  Request* req = new_request(type, flags, std::move(cb));
  req->best.err = kErrNotExist;
  // An empty name (even with a search list: libevent's CVE-2016-10197) or
  // an invalid one is answered with kErrFormat, never sent.
  std::string_view trimmed = name;
  if (!trimmed.empty() && trimmed.back() == '.') trimmed.remove_suffix(1);
  if (trimmed.empty() || !valid_name(trimmed)) {
    Result r;
    r.err = kErrFormat;
    deliver_later(req, std::move(r));
    return req;
  }
  req->names = candidates(name, flags);
  std::erase_if(req->names, [](const std::string& n) { return !valid_name(n); });
  if (!(flags & Resolver::kNoHosts) && answer_from_hosts(req, trimmed)) return req;
  if (servers_.empty()) {
    Result r;
    r.err = kErrUnknown;
    deliver_later(req, std::move(r));
    return req;
  }
  start_next_candidate(req);
  return req;
}

// Results known at once still reach the callback from the loop, never from
// inside the call that asked.
void ResolverCore::deliver_later(Request* req, Result&& r) {
  base_.once(-1, 0, [this, req, r = std::move(r), alive = alive_](int, short) mutable {
    if (*alive) finish(req, std::move(r));
  });
}

void ResolverCore::start_next_candidate(Request* req) {
  if (req->next_name >= req->names.size() || servers_.empty()) {
    Result r = req->best;
    if (servers_.empty() && r.err == kErrNotExist && req->next_name == 0) r.err = kErrUnknown;
    return finish(req, std::move(r));
  }
  auto t = std::make_unique<Transaction>();
  t->owner = this;
  t->req = req;
  t->qname = req->names[req->next_name++];
  t->timer.assign(base_, -1, 0, [this, tp = t.get()](int, short) {
    tp->timed_out = true;
    on_timeout(*tp);
  });
  if (conf_.randomize_case)  // 0x20: a spoofer must also guess the case of each letter
    for (char& c : t->qname)
      if (std::isalpha(static_cast<unsigned char>(c)) && (secure_random_u32() & 1))
        c = static_cast<char>(c ^ 0x20);
  req->tx = std::move(t);
  if (suspended_ || inflight_ >= static_cast<std::size_t>(std::max(1, conf_.max_inflight))) {
    waiting_.push_back(req);
    return;
  }
  launch(req);
}

void ResolverCore::launch(Request* req) {
  ++inflight_;
  req->tx->launched = true;
  send_attempt(*req->tx);
}

void ResolverCore::pump() {
  while (!suspended_ && !waiting_.empty() && inflight_ < static_cast<std::size_t>(std::max(1, conf_.max_inflight))) {
    Request* req = waiting_.front();
    waiting_.pop_front();
    if (req->cancelled || !req->tx) continue;
    launch(req);
  }
}

void ResolverCore::resume() {
  suspended_ = false;
  pump();
}

namespace {
bool has_type(const Message& m, std::uint16_t type) {
  return std::any_of(m.answers.begin(), m.answers.end(),
                     [type](const ResourceRecord& r) { return r.type == type || type == kTypeANY; });
}
}  // namespace

// An answer from a server: the records asked for end the request; NXDOMAIN
// and NODATA move on to the next candidate name; a server error moves on
// to the next server.
void ResolverCore::on_answer(Transaction& t, Message&& msg) {
  server_ok(t.server);
  Request* req = t.req;
  Result r;
  r.name = req->names[req->next_name - 1];
  r.server = servers_[t.server]->addr;
  r.over_tcp = t.over_tcp;
  int rcode = msg.header.rcode;
  r.answer = std::move(msg);
  if (rcode == kNoError && has_type(r.answer, req->type)) return finish_transaction(t, std::move(r));
  if (rcode == kNoError || rcode == kNxDomain) {
    // Try the next candidate of the search list; remember NODATA over NXDOMAIN.
    r.err = rcode == kNoError ? kErrNoData : kErrNotExist;
    if (r.err == kErrNoData || req->best.err == kErrNotExist) req->best = std::move(r);
    retire(std::move(req->tx));
    start_next_candidate(req);
    pump();
    return;
  }
  // SERVFAIL, REFUSED, NOTIMP, FORMERR: another server may do better.
  // Other rcodes are kErrUnknown, as in libevent.
  r.err = rcode <= kRefused ? rcode : kErrUnknown;
  if (++t.attempt < servers_.size()) return send_attempt(t);
  finish_transaction(t, std::move(r));
}

void ResolverCore::finish_transaction(Transaction& t, Result&& result) {
  Request* req = t.req;
  retire(std::move(req->tx));  // == &t
  finish(req, std::move(result));
  pump();
}

void ResolverCore::finish(Request* req, Result&& result) {
  if (req->finished) return;
  req->finished = true;
  req->skew.del();
  if (req->parent) std::erase(req->parent->children, req);
  result.queries_sent = req->queries_sent;
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - req->started);
  if (!req->cancelled && req->cb) req->cb(result);
  auto it = std::find_if(requests_.begin(), requests_.end(), [req](const auto& p) { return p.get() == req; });
  if (it != requests_.end()) {
    auto keep = std::shared_ptr<Request>(std::move(*it));
    requests_.erase(it);
    base_.once(-1, 0, [keep](int, short) {});
  }
}

void ResolverCore::cancel(Request* req) {
  if (!req || req->finished) return;
  req->cancelled = true;
  for (Request* child : std::vector<Request*>(req->children)) cancel(child);  // each leaves the list
  std::erase(waiting_, req);
  if (req->tx && req->tx->launched) {
    Result r;
    r.err = kErrCancel;
    return finish_transaction(*req->tx, std::move(r));
  }
  req->tx.reset();
  Result r;
  r.err = kErrCancel;
  finish(req, std::move(r));
}

}  // namespace ev::dns::detail
