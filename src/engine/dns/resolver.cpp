// The resolver's state machine: a Request walks its candidate names (the
// search list); each candidate is one Transaction at a time, which sends
// attempts to the nameservers in turn until an answer, an error or the
// attempts run out.
#include "engine/dns/resolver.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "engine/core/log.h"
#include "engine/dns/tcp_framing.h"
#include "engine/io/buffer_event.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/random.h"

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

struct Resolver::Server {
  SocketAddress addr;
  int timeouts = 0;  // consecutive
  bool down = false;
  Duration probe_interval{0};
  Event probe_timer;
};

class Resolver::Request {
 public:
  std::uint16_t type = kTypeA;
  int flags = 0;
  std::vector<std::string> names;
  std::size_t next_name = 0;
  QueryCallback cb;
  std::unique_ptr<Transaction> tx;
  Result best;  // the most telling failure so far
  bool cancelled = false;
  bool finished = false;
  std::vector<Request*> children;  // getaddrinfo: its A and AAAA queries not yet finished
  Request* parent = nullptr;        // getaddrinfo's, for its A and AAAA queries
  Event skew;                       // getaddrinfo: the other family's grace period
};

struct Resolver::Transaction {
  Resolver* owner = nullptr;
  Request* req = nullptr;
  std::string qname;  // as sent (0x20 case randomisation applied)
  std::uint16_t id = 0;
  std::size_t attempt = 0;
  std::size_t first_server = 0;  // where attempt 0 went; later ones count from it
  std::size_t server = 0;
  int fd = -1;
  Event read_ev, timer;
  std::unique_ptr<SocketBufferEvent> tcp;
  bool over_tcp = false;
  bool launched = false;  // counted in inflight_
  // A plain function, so that the event can be re-assigned for the next
  // attempt from inside its own callback.
  static void on_readable(int, short, void* arg) {
    auto* t = static_cast<Transaction*>(arg);
    t->owner->on_udp_readable(*t);
  }
  ~Transaction() {
    read_ev.del();
    if (fd >= 0) ::close(fd);
  }
};

Resolver::Resolver(EventBase& base, ResolvConf conf) : base_(base), conf_(std::move(conf)) {}

std::unique_ptr<Resolver> Resolver::create(EventBase& base, const ResolvConf& conf, std::string* why) {
  std::unique_ptr<Resolver> r(new Resolver(base, conf));
  for (const SocketAddress& a : conf.nameservers) r->add_nameserver(a);
  if (r->servers_.empty() && why) *why = "no nameservers configured";
  return r;
}

// Every pending request hears kErrShutdown once. All are marked finished
// before the first callback runs: a callback may cancel another request,
// and a getaddrinfo's A and AAAA callbacks reach its parent.
Resolver::~Resolver() {
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

void Resolver::add_nameserver(const SocketAddress& addr) {
  auto s = std::make_unique<Server>();
  s->addr = addr;
  if (addr.port() == 0) s->addr.set_port(53);
  std::size_t index = servers_.size();
  s->probe_timer.assign(base_, -1, 0, [this, index](int, short) { probe(index); });
  servers_.push_back(std::move(s));
}

void Resolver::clear_nameservers() { servers_.clear(); }

std::size_t Resolver::nameservers_up() const {
  return static_cast<std::size_t>(std::count_if(servers_.begin(), servers_.end(), [](const auto& s) { return !s->down; }));
}

// The names to try, in order: with fewer than ndots dots the search list
// comes first, otherwise the name as given does.
std::vector<std::string> Resolver::candidates(std::string_view name, int flags) const {
  bool absolute = !name.empty() && name.back() == '.';
  std::string base_name(absolute ? name.substr(0, name.size() - 1) : name);
  if (absolute || (flags & kNoSearch) || conf_.search.empty()) return {base_name};
  auto dots = std::count(base_name.begin(), base_name.end(), '.');
  std::vector<std::string> out;
  if (dots >= conf_.ndots) out.push_back(base_name);
  for (const std::string& domain : conf_.search)
    if (!domain.empty()) out.push_back(base_name + "." + domain);
  if (dots < conf_.ndots) out.push_back(base_name);
  return out;
}

Resolver::Request* Resolver::query(std::string_view name, std::uint16_t type, QueryCallback cb, int flags) {
  auto owned = std::make_unique<Request>();
  Request* req = owned.get();
  req->type = type;
  req->flags = flags;
  req->cb = std::move(cb);
  req->best.err = kErrNotExist;
  requests_.push_back(std::move(owned));
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
  if (!(flags & kNoHosts) && answer_from_hosts(req, trimmed)) return req;
  if (servers_.empty()) {
    Result r;
    r.err = kErrUnknown;
    deliver_later(req, std::move(r));
    return req;
  }
  start_next_candidate(req);
  return req;
}

// A and AAAA questions for names in the hosts file are answered from it
// (a family the file lacks is NODATA, not a DNS query); "localhost" and
// names under it never leave the machine (RFC 6761).
bool Resolver::answer_from_hosts(Request* req, std::string_view given) {
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

// Results known at once still reach the callback from the loop, never from
// inside the call that asked.
void Resolver::deliver_later(Request* req, Result&& r) {
  base_.once(-1, 0, [this, req, r = std::move(r), alive = alive_](int, short) mutable {
    if (*alive) finish(req, std::move(r));
  });
}

void Resolver::start_next_candidate(Request* req) {
  if (req->next_name >= req->names.size() || servers_.empty()) {
    Result r = req->best;
    if (servers_.empty() && r.err == kErrNotExist && req->next_name == 0) r.err = kErrUnknown;
    return finish(req, std::move(r));
  }
  auto t = std::make_unique<Transaction>();
  t->owner = this;
  t->req = req;
  t->qname = req->names[req->next_name++];
  t->timer.assign(base_, -1, 0, [this, tp = t.get()](int, short) { on_timeout(*tp); });
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

void Resolver::launch(Request* req) {
  ++inflight_;
  req->tx->launched = true;
  send_attempt(*req->tx);
}

void Resolver::pump() {
  while (!suspended_ && !waiting_.empty() && inflight_ < static_cast<std::size_t>(std::max(1, conf_.max_inflight))) {
    Request* req = waiting_.front();
    waiting_.erase(waiting_.begin());
    if (req->cancelled || !req->tx) continue;
    launch(req);
  }
}

void Resolver::suspend() { suspended_ = true; }

void Resolver::resume() {
  suspended_ = false;
  pump();
}

// Attempt n goes to the n-th server that is up, counting from `start` (a
// rotating index, fixed for a transaction when its first attempt is sent:
// a failed server moves next_server_ on, which must not send the next
// attempt back to it); when every server is down they are all tried anyway.
Resolver::Server* Resolver::pick_server(std::size_t start, std::size_t attempt, std::size_t* index) {
  std::size_t n = servers_.size();
  bool any_up = nameservers_up() > 0;
  std::size_t seen = 0;
  for (std::size_t i = 0; i < n * 2; ++i) {
    std::size_t idx = (start + i) % n;
    if (any_up && servers_[idx]->down) continue;
    if (seen++ == attempt % (any_up ? nameservers_up() : n)) {
      *index = idx;
      return servers_[idx].get();
    }
  }
  *index = 0;
  return servers_[0].get();
}

// ---- sending --------------------------------------------------------------

namespace {

// The local address for sockets to `server`: bind-to when it is of the
// same family, else any.
SocketAddress local_for(const SocketAddress& server, const std::optional<SocketAddress>& bind_to) {
  if (bind_to && bind_to->family() == server.family()) return *bind_to;
  SocketAddress local;
  local.storage.ss_family = static_cast<sa_family_t>(server.family());
  local.length = server.family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  return local;
}

// A UDP socket on a random source port, connected to the server (so the
// kernel drops datagrams from anyone else).
int open_udp(const SocketAddress& server, const std::optional<SocketAddress>& bind_to) {
  int fd = ::socket(server.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  SocketAddress local = local_for(server, bind_to);
  for (int i = 0; i < 8; ++i) {
    local.set_port(static_cast<int>(1024 + secure_random_uniform(65536 - 1024)));
    if (::bind(fd, local.sa(), local.length) == 0) break;
  }
  if (::connect(fd, server.sa(), server.length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A TCP socket bound to bind-to (any port), or -1 to let BufferEvent make
// one when there is no bind-to.
int open_tcp(const SocketAddress& server, const std::optional<SocketAddress>& bind_to) {
  if (!bind_to || bind_to->family() != server.family()) return -1;
  int fd = ::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  SocketAddress local = *bind_to;
  local.set_port(0);
  if (::bind(fd, local.sa(), local.length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::vector<std::uint8_t> make_query(const std::string& qname, std::uint16_t type, std::uint16_t id) {
  Message q;
  q.header.id = id;
  q.header.rd = true;
  q.questions.push_back({qname, type, kClassIN});
  q.edns = Edns{1232, 0, 0, false};
  return build_message(q);
}

}  // namespace

void Resolver::send_attempt(Transaction& t) {
  if (servers_.empty()) {  // cleared while the query was out
    Result r;
    r.err = kErrUnknown;
    return finish_transaction(t, std::move(r));
  }
  if (t.attempt == 0) t.first_server = next_server_;
  pick_server(t.first_server, t.attempt, &t.server);
  t.id = static_cast<std::uint16_t>(secure_random_u32());
  t.read_ev.del();
  if (t.fd >= 0) ::close(t.fd);
  t.fd = -1;
  t.tcp.reset();
  t.timer.add(conf_.timeout);
  if (t.over_tcp || (t.req->flags & kUseTcp)) return send_tcp(t);
  t.fd = open_udp(servers_[t.server]->addr, conf_.bind_to);
  std::vector<std::uint8_t> wire = make_query(t.qname, t.req->type, t.id);
  if (t.fd < 0 || ::send(t.fd, wire.data(), wire.size(), 0) < 0) return;  // the timer moves on
  t.read_ev.assign(base_, t.fd, kRead | kPersist, &Transaction::on_readable, &t);
  t.read_ev.add();
}

void Resolver::send_tcp(Transaction& t) {
  t.over_tcp = true;
  t.read_ev.del();
  t.tcp = SocketBufferEvent::create(base_, open_tcp(servers_[t.server]->addr, conf_.bind_to), BufferEvent::kCloseOnFree);
  std::vector<std::uint8_t> wire = make_query(t.qname, t.req->type, t.id);
  write_tcp_message(t.tcp->output(), wire);
  Transaction* tp = &t;
  t.tcp->setcb(
      [this, tp](BufferEvent& b) {
        std::vector<std::uint8_t> msg;
        while (read_tcp_message(b.input(), msg)) {
          Message answer;
          if (parse_message(msg, answer).status == ParseStatus::Ok && is_answer(*tp, answer))
            return on_answer(*tp, std::move(answer));  // which may destroy this BufferEvent
        }
      },
      nullptr,
      [tp](BufferEvent&, short what) {
        if (what & BufferEvent::kConnected) return;
        tp->tcp->disable(kRead | kWrite);  // failed or closed early: the timer moves on
      });
  if (t.tcp->connect(servers_[t.server]->addr) != 0) t.tcp.reset();
  else t.tcp->enable(kRead | kWrite);
}

// ---- receiving ------------------------------------------------------------

// Accept only our answer: ID, and the question exactly as asked (with 0x20
// the case must match too). The socket being connected to the server
// takes care of its address and port.
bool Resolver::is_answer(const Transaction& t, const Message& answer) const {
  if (!answer.header.qr || answer.header.id != t.id || answer.questions.size() != 1) return false;
  const Question& q = answer.questions[0];
  return q.type == t.req->type && q.qclass == kClassIN &&
         (conf_.randomize_case ? q.name == t.qname : names_equal(q.name, t.qname));
}

void Resolver::on_udp_readable(Transaction& t) {
  std::uint8_t buf[4096];
  for (;;) {
    ssize_t n = ::recv(t.fd, buf, sizeof buf, 0);
    if (n < 0) return;  // EAGAIN; or ECONNREFUSED (ICMP): the timer moves on
    Message answer;
    if (parse_message({buf, static_cast<std::size_t>(n)}, answer).status != ParseStatus::Ok) continue;
    if (!is_answer(t, answer)) continue;
    if (answer.header.tc) {
      send_tcp(t);  // the same server, the whole answer
      return;
    }
    return on_answer(t, std::move(answer));
  }
}

namespace {
bool has_type(const Message& m, std::uint16_t type) {
  return std::any_of(m.answers.begin(), m.answers.end(),
                     [type](const ResourceRecord& r) { return r.type == type || type == kTypeANY; });
}
}  // namespace

void Resolver::on_answer(Transaction& t, Message&& msg) {
  server_ok(t.server);
  Request* req = t.req;
  Result r;
  r.name = req->names[req->next_name - 1];
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

void Resolver::on_timeout(Transaction& t) {
  server_failed(t.server);
  std::size_t total = servers_.size() * static_cast<std::size_t>(std::max(1, conf_.attempts));
  if (++t.attempt < total) return send_attempt(t);
  Result r;
  r.err = kErrTimeout;
  finish_transaction(t, std::move(r));
}

void Resolver::finish_transaction(Transaction& t, Result&& result) {
  Request* req = t.req;
  retire(std::move(req->tx));  // == &t
  finish(req, std::move(result));
  pump();
}

// Silences a transaction that is over (its timer, socket and TCP callbacks)
// and destroys it from the loop: we may be inside one of its callbacks.
void Resolver::retire(std::unique_ptr<Transaction> t) {
  if (t->launched) --inflight_;
  t->timer.del();
  t->read_ev.del();
  if (t->tcp) {
    t->tcp->setcb(nullptr, nullptr, nullptr);
    t->tcp->disable(kRead | kWrite);
  }
  base_.once(-1, 0, [d = std::shared_ptr<Transaction>(std::move(t))](int, short) {});
}

void Resolver::finish(Request* req, Result&& result) {
  if (req->finished) return;
  req->finished = true;
  req->skew.del();
  if (req->parent) std::erase(req->parent->children, req);
  if (!req->cancelled && req->cb) req->cb(result);
  auto it = std::find_if(requests_.begin(), requests_.end(), [req](const auto& p) { return p.get() == req; });
  if (it != requests_.end()) {
    auto keep = std::shared_ptr<Request>(std::move(*it));
    requests_.erase(it);
    base_.once(-1, 0, [keep](int, short) {});
  }
}

void Resolver::cancel(Request* req) {
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

// ---- nameserver health ----------------------------------------------------

// An index from before clear_nameservers() may be out of range.
void Resolver::server_ok(std::size_t index) {
  if (index >= servers_.size()) return;
  Server& s = *servers_[index];
  s.timeouts = 0;
  if (s.down) {
    s.down = false;
    s.probe_timer.del();
    log(Severity::Debug, "nameserver %s is back up", s.addr.to_string().c_str());
  }
}

void Resolver::server_failed(std::size_t index) {
  if (index >= servers_.size()) return;
  Server& s = *servers_[index];
  next_server_ = (index + 1) % servers_.size();  // rotate away from it
  if (s.down || ++s.timeouts < std::max(1, conf_.max_timeouts)) return;
  s.down = true;
  s.probe_interval = conf_.initial_probe_timeout;
  log(Severity::Debug, "nameserver %s is down; probing", s.addr.to_string().c_str());
  s.probe_timer.add(s.probe_interval);
}

// A down server is asked for the root's NS now and then; any answer
// brings it back, silence doubles the interval (up to an hour).
void Resolver::probe(std::size_t index) {
  Server& s = *servers_[index];
  if (!s.down) return;
  int fd = open_udp(s.addr, conf_.bind_to);
  if (fd >= 0) {
    std::vector<std::uint8_t> wire = make_query("", kTypeNS, static_cast<std::uint16_t>(secure_random_u32()));
    ::send(fd, wire.data(), wire.size(), 0);
    base_.once(fd, kRead, [this, index, fd, alive = alive_](int, short what) {
      std::uint8_t buf[512];
      if (*alive && (what & kRead) && ::recv(fd, buf, sizeof buf, 0) >= 12) server_ok(index);
      ::close(fd);
    }, conf_.timeout);
  }
  s.probe_interval = std::min(s.probe_interval * 2, Duration(3600LL * 1000000));
  s.probe_timer.add(s.probe_interval);
}

// ---- convenience lookups --------------------------------------------------

Resolver::Request* Resolver::resolve_reverse(const SocketAddress& addr, QueryCallback cb, int flags) {
  std::string rev = reverse_name(addr.host()).value_or("");
  auto name = (flags & kNoHosts) ? std::nullopt : hosts_.reverse(addr);
  if (!name) return query(rev, kTypePTR, std::move(cb), flags | kNoSearch);
  auto owned = std::make_unique<Request>();
  Request* req = owned.get();
  req->type = kTypePTR;
  req->cb = std::move(cb);
  requests_.push_back(std::move(owned));
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

Resolver::Request* Resolver::getaddrinfo(std::string_view name, int port, int family, AddrCallback cb, int flags) {
  struct State {
    int pending = 0;
    bool delivered = false;
    std::vector<SocketAddress> v4, v6;
    int err4 = kErrNone, err6 = kErrNone;
    AddrCallback cb;
  };
  auto st = std::make_shared<State>();
  st->cb = std::move(cb);
  auto parent = std::make_unique<Request>();
  Request* p = parent.get();
  // Only the resolver's destruction reaches the parent's own callback.
  p->cb = [st](const Result& r) {
    if (st->delivered) return;
    st->delivered = true;
    st->cb(r.err, {});
  };
  requests_.push_back(std::move(parent));
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

std::unique_ptr<Resolver> Resolver::system(EventBase& base, std::string* why) {
  std::string ignored;
  auto conf = load_resolv_conf("/etc/resolv.conf", &ignored).value_or(ResolvConf{});
  auto resolver = create(base, conf, why);
  if (resolver)
    if (auto hosts = HostsFile::load("/etc/hosts", &ignored)) resolver->set_hosts(std::move(*hosts));
  return resolver;
}

}  // namespace ev::dns
