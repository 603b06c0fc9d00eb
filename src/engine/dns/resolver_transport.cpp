// A Transaction's attempts on the wire and the health of the nameservers.
// UDP first, on sockets with random source ports (RFC 5452), each carrying
// at most UdpPort::kMaxUses queries; a truncated answer is asked again over TCP with the 2-byte
// length prefix (RFC 1035 4.2.2, RFC 7766). Attempts go round the servers
// (RFC 1123 6.1.3.3); max-timeouts silences in a row mark a server down,
// and a down server is probed until it answers.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "engine/core/log.h"
#include "engine/dns/detail/resolver_core.h"
#include "engine/dns/tcp_framing.h"
#include "engine/util/random.h"

namespace ev::dns::detail {

void UdpPort::on_readable(int, short, void* arg) {
  auto* p = static_cast<UdpPort*>(arg);
  p->owner->on_udp_readable(*p);
}

UdpPort::~UdpPort() {
  read_ev.del();
  if (fd >= 0) ::close(fd);
}

// ---- the nameservers ------------------------------------------------------

void ResolverCore::add_nameserver(const SocketAddress& addr) {
  auto s = std::make_unique<Nameserver>();
  s->addr = addr;
  if (addr.port() == 0) s->addr.set_port(53);
  std::size_t index = servers_.size();
  s->probe_timer.assign(base_, -1, 0, [this, index](int, short) { probe(index); });
  servers_.push_back(std::move(s));
}

std::size_t ResolverCore::nameservers_up() const {
  return static_cast<std::size_t>(std::count_if(servers_.begin(), servers_.end(), [](const auto& s) { return !s->down; }));
}

// Attempt n goes to the n-th server that is up, counting from `start` (a
// rotating index, fixed for a transaction when its first attempt is sent:
// a failed server moves next_server_ on, which must not send the next
// attempt back to it); when every server is down they are all tried anyway.
Nameserver* ResolverCore::pick_server(std::size_t start, std::size_t attempt, std::size_t* index) {
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

void ResolverCore::send_attempt(Transaction& t) {
  if (servers_.empty()) {  // cleared while the query was out
    Result r;
    r.err = kErrUnknown;
    return finish_transaction(t, std::move(r));
  }
  if (t.attempt == 0) t.first_server = next_server_;
  pick_server(t.first_server, t.attempt, &t.server);
  release_port(t);
  t.tcp.reset();
  t.timer.add(conf_.timeout);
  ++t.req->queries_sent;
  if (t.over_tcp || (t.req->flags & Resolver::kUseTcp)) {
    t.id = static_cast<std::uint16_t>(secure_random_u32());
    return send_tcp(t);
  }
  UdpPort* p = udp_port(t.server);
  if (!p) return;  // the timer moves on
  // An ID no other query on this port is waiting with.
  do t.id = static_cast<std::uint16_t>(secure_random_u32());
  while (p->by_id.count(t.id));
  std::vector<std::uint8_t> wire = make_query(t.qname, t.req->type, t.id);
  if (::send(p->fd, wire.data(), wire.size(), 0) < 0) return close_port_if_done(p);
  p->by_id.emplace(t.id, &t);
  t.port = p;
}

// The port for the next query to `server`: the newest one other queries
// still wait on, while it has uses left; else a fresh one (nullptr if no
// socket can be made).
UdpPort* ResolverCore::udp_port(std::size_t server) {
  for (auto it = ports_.rbegin(); it != ports_.rend(); ++it) {
    UdpPort* p = it->get();
    if (p->server == server && p->uses < UdpPort::kMaxUses && !p->by_id.empty()) {
      ++p->uses;
      return p;
    }
  }
  int fd = open_udp(servers_[server]->addr, conf_.bind_to);
  if (fd < 0) return nullptr;
  auto port = std::make_unique<UdpPort>();
  port->owner = this;
  port->server = server;
  port->fd = fd;
  port->uses = 1;
  port->read_ev.assign(base_, fd, kRead | kPersist, &UdpPort::on_readable, port.get());
  port->read_ev.add();
  ports_.push_back(std::move(port));
  return ports_.back().get();
}

// The transaction stops listening on its port (an answer, the next
// attempt, TCP, or the end).
void ResolverCore::release_port(Transaction& t) {
  UdpPort* p = std::exchange(t.port, nullptr);
  if (!p) return;
  auto it = p->by_id.find(t.id);
  if (it != p->by_id.end() && it->second == &t) p->by_id.erase(it);
  close_port_if_done(p);
}

// A port closes once nobody waits on it: queries asked one after another
// each get a port of their own, and only queries in flight together share
// one (up to kMaxUses of them).
void ResolverCore::close_port_if_done(UdpPort* p) {
  if (p->reading || !p->by_id.empty()) return;
  auto it = std::find_if(ports_.begin(), ports_.end(), [p](const auto& q) { return q.get() == p; });
  if (it != ports_.end()) ports_.erase(it);
}

void ResolverCore::send_tcp(Transaction& t) {
  t.over_tcp = true;
  release_port(t);
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
      [this, tp](BufferEvent&, short what) {
        if (what & BufferEvent::kConnected) return;
        // Refused, or closed before our answer: no use waiting for the
        // timer; the next attempt goes now (and destroys this BufferEvent).
        tp->unreachable = true;
        tp->timer.del();
        on_timeout(*tp);
      });
  if (t.tcp->connect(servers_[t.server]->addr) != 0) {
    t.tcp.reset();
    t.unreachable = true;
  } else {
    t.tcp->enable(kRead | kWrite);
  }
}

// ---- receiving ------------------------------------------------------------

// Accept only our answer: ID, opcode, and the question exactly as asked
// (with 0x20 the case must match too). The socket being connected to the server
// takes care of its address and port.
bool ResolverCore::is_answer(const Transaction& t, const Message& answer) const {
  return is_reply_to(answer, t.id, Question{t.qname, t.req->type, kClassIN}, conf_.randomize_case);
}

void ResolverCore::on_udp_readable(UdpPort& p) {
  std::uint8_t buf[4096];
  auto alive = alive_;  // answers are delivered from the loop, but be sure
  p.reading = true;
  for (; *alive;) {
    ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
    if (n < 0) {
      // Port unreachable (ICMP, reported on our connected socket): this
      // server will not answer, so the next attempts go now.
      if (errno == ECONNREFUSED) on_udp_refused(p);
      break;  // EAGAIN
    }
    Message answer;
    if (parse_message({buf, static_cast<std::size_t>(n)}, answer).status != ParseStatus::Ok) continue;
    auto it = p.by_id.find(answer.header.id);
    if (it == p.by_id.end() || !is_answer(*it->second, answer)) continue;
    Transaction& t = *it->second;
    release_port(t);
    if (answer.header.tc) {
      ++t.req->queries_sent;
      send_tcp(t);  // the same server, the whole answer
      continue;
    }
    on_answer(t, std::move(answer));
  }
  if (!*alive) return;
  p.reading = false;
  close_port_if_done(&p);
}

// Every query waiting on the port moves to its next attempt.
void ResolverCore::on_udp_refused(UdpPort& p) {
  std::vector<Transaction*> waiting;
  for (auto& [id, t] : p.by_id) waiting.push_back(t);
  p.uses = UdpPort::kMaxUses;  // no new queries on it
  for (Transaction* t : waiting) {
    release_port(*t);
    t->unreachable = true;
    t->timer.del();
    on_timeout(*t);
  }
}

void ResolverCore::on_timeout(Transaction& t) {
  server_failed(t.server);
  std::size_t total = servers_.size() * static_cast<std::size_t>(std::max(1, conf_.attempts));
  if (++t.attempt < total) return send_attempt(t);
  Result r;
  // A server that refused (or closed on us) is a failure, not a wait.
  r.refused = t.unreachable && !t.timed_out;
  r.err = r.refused ? kErrUnknown : kErrTimeout;
  finish_transaction(t, std::move(r));
}

// Silences a transaction that is over (its timer, socket and TCP callbacks)
// and destroys it from the loop: we may be inside one of its callbacks.
void ResolverCore::retire(std::unique_ptr<Transaction> t) {
  if (t->launched) --inflight_;
  t->timer.del();
  release_port(*t);
  if (t->tcp) {
    t->tcp->setcb(nullptr, nullptr, nullptr);
    t->tcp->disable(kRead | kWrite);
  }
  base_.once(-1, 0, [d = std::shared_ptr<Transaction>(std::move(t))](int, short) {});
}

// ---- nameserver health ----------------------------------------------------

// An index from before clear_nameservers() may be out of range.
void ResolverCore::server_ok(std::size_t index) {
  if (index >= servers_.size()) return;
  Nameserver& s = *servers_[index];
  s.timeouts = 0;
  if (s.down) {
    s.down = false;
    s.probe_timer.del();
    log(Severity::Debug, "nameserver %s is back up", s.addr.to_string().c_str());
  }
}

void ResolverCore::server_failed(std::size_t index) {
  if (index >= servers_.size()) return;
  Nameserver& s = *servers_[index];
  next_server_ = (index + 1) % servers_.size();  // rotate away from it
  if (s.down || ++s.timeouts < std::max(1, conf_.max_timeouts)) return;
  s.down = true;
  s.probe_interval = conf_.initial_probe_timeout;
  log(Severity::Debug, "nameserver %s is down; probing", s.addr.to_string().c_str());
  s.probe_timer.add(s.probe_interval);
}

// A down server is asked for the root's NS now and then; any answer
// brings it back, silence doubles the interval (up to an hour).
void ResolverCore::probe(std::size_t index) {
  Nameserver& s = *servers_[index];
  if (!s.down) return;
  int fd = open_udp(s.addr, conf_.bind_to);
  if (fd >= 0) {
    auto id = static_cast<std::uint16_t>(secure_random_u32());
    std::vector<std::uint8_t> wire = make_query("", kTypeNS, id);
    ::send(fd, wire.data(), wire.size(), 0);
    // Only the answer to this probe counts: a stray or spoofed packet does
    // not bring the server back.
    base_.once(fd, kRead, [this, index, fd, id, alive = alive_](int, short what) {
      std::uint8_t buf[4096];
      ssize_t n = (*alive && (what & kRead)) ? ::recv(fd, buf, sizeof buf, 0) : -1;
      Message reply;
      if (n > 0 && parse_message({buf, static_cast<std::size_t>(n)}, reply).status == ParseStatus::Ok &&
          is_reply_to(reply, id, Question{"", kTypeNS, kClassIN}, false))
        server_ok(index);
      ::close(fd);
    }, conf_.timeout);
  }
  s.probe_interval = std::min(s.probe_interval * 2, Duration(3600LL * 1000000));
  s.probe_timer.add(s.probe_interval);
}

}  // namespace ev::dns::detail
