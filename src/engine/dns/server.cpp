#include "engine/dns/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/dns/tcp_framing.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/socket.h"

namespace ev::dns {
namespace {
constexpr int kUdpPerWakeup = 128;          // fairness with TCP and timers
constexpr int kUdpBatch = 32;               // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kUdpSlot = 65536;     // bytes per received datagram: any UDP query
constexpr int kTcpBatch = 16;               // queries of one TCP client per turn
constexpr std::size_t kTcpOutputHigh = 64 * 1024;  // unsent answers before we stop reading
constexpr std::uint16_t kBadVers = 16;      // RFC 6891 6.1.3
constexpr int kUdpReceiveBuffer = 8 << 20;  // SO_RCVBUF for bursts
constexpr Duration kTcpIdle{10000000};
constexpr std::uint16_t kOurUdpSize = 1232;  // the EDNS size we advertise
}  // namespace

struct Server::TcpConn {
  std::unique_ptr<BufferEvent> bev;
  SocketAddress peer;
  Event more;  // the next batch of a long pipeline, from the loop
};

// ---- requests -------------------------------------------------------------

ServerRequest::~ServerRequest() = default;

std::size_t ServerRequest::max_udp_size() const {
  if (!query_.edns) return 512;
  return std::clamp<std::size_t>(query_.edns->udp_size, 512, 4096);
}

void ServerRequest::add_record(Section section, ResourceRecord rr) {
  switch (section) {
    case Section::Answer: reply_.answers.push_back(std::move(rr)); break;
    case Section::Authority: reply_.authority.push_back(std::move(rr)); break;
    case Section::Additional: reply_.additional.push_back(std::move(rr)); break;
  }
}

int ServerRequest::respond() {
  if (done_ || !server_) return -1;
  done_ = true;
  if (!*server_alive_) return -1;  // a request kept past its server's life
  if (!tcp_) {
    std::vector<std::uint8_t> wire = build_message(reply_, max_udp_size());
    if (cacheable_ && server_->cache_ && !cache_key_.empty()) server_->cache_->store(std::move(cache_key_), wire);
    server_->send_udp(std::move(wire), peer_);
    return 0;
  }
  auto conn = std::static_pointer_cast<Server::TcpConn>(tcp_conn_.lock());
  if (!conn) return -1;
  std::vector<std::uint8_t> wire = build_message(reply_, 65535);  // TC set if it does not fit
  write_tcp_message(conn->bev->output(), wire);
  return 0;
}

void ServerRequest::drop() { done_ = true; }

// ---- the server -----------------------------------------------------------

Server::Server(EventBase& base, RequestCallback cb) : base_(base), cb_(std::move(cb)), rxbuf_(new std::uint8_t[kUdpBatch * kUdpSlot]) {}

Server::~Server() {
  *alive_ = false;
  udp_ev_.del();
  if (udp_fd_ >= 0) ::close(udp_fd_);
}

static int bind_udp(const SocketAddress& addr, std::string* why) {
  int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || make_listen_socket_reuseable(fd) != 0 || ::bind(fd, addr.sa(), addr.length) != 0) {
    if (why) *why = "cannot bind udp " + addr.to_string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  // A burst of queries should wait in the socket, not be dropped by the
  // kernel: ask for a large receive buffer (beyond rmem_max when allowed).
  int size = kUdpReceiveBuffer;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

std::unique_ptr<Server> Server::bind(EventBase& base, const SocketAddress& addr, RequestCallback cb, std::string* why) {
  std::unique_ptr<Server> s(new Server(base, std::move(cb)));
  if (addr.is_unix()) {  // a Unix socket is a stream: DNS over TCP's framing only
    Server* raw = s.get();
    s->listener_ = ConnListener::bind(
        base, addr, ConnListener::kCloseOnExec, -1,
        [raw](ConnListener&, int fd, const SocketAddress& peer) { raw->accept_tcp(fd, peer); }, why);
    return s->listener_ ? std::move(s) : nullptr;
  }
  // With port 0 the UDP port is picked first and TCP must get the same one;
  // if TCP's is taken, try another.
  for (int attempt = 0; attempt < 8; ++attempt) {
    s->udp_fd_ = bind_udp(addr, why);
    if (s->udp_fd_ < 0) return nullptr;
    SocketAddress bound = s->address();
    Server* raw = s.get();
    s->listener_ = ConnListener::bind(
        base, bound, ConnListener::kReusable | ConnListener::kCloseOnExec, -1,
        [raw](ConnListener&, int fd, const SocketAddress& peer) { raw->accept_tcp(fd, peer); }, why);
    if (s->listener_) break;
    ::close(s->udp_fd_);
    s->udp_fd_ = -1;
    if (addr.port() != 0) return nullptr;
  }
  if (!s->listener_) return nullptr;
  s->udp_ev_.assign(base, s->udp_fd_, kRead | kPersist, &Server::on_udp, s.get());
  if (s->udp_ev_.add() != 0) {
    if (why) *why = "cannot watch the udp socket";
    return nullptr;
  }
  return s;
}

SocketAddress Server::address() const {
  if (udp_fd_ < 0 && listener_) return listener_->local_address();  // a Unix socket
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

void Server::on_udp(int, short, void* arg) { static_cast<Server*>(arg)->read_udp(); }

// Datagrams come in and go out in batches (recvmmsg / sendmmsg): one
// system call each way per wake-up instead of two per query.
void Server::read_udp() {
  auto alive = alive_;
  for (int round = 0; round < kUdpPerWakeup / kUdpBatch && *alive; ++round) {
    mmsghdr msgs[kUdpBatch];
    iovec iov[kUdpBatch];
    sockaddr_storage from[kUdpBatch];
    for (int i = 0; i < kUdpBatch; ++i) {
      iov[i] = {rxbuf_.get() + static_cast<std::size_t>(i) * kUdpSlot, kUdpSlot};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(udp_fd_, msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN, or an ICMP error from an earlier send
    batching_ = true;
    for (int i = 0; i < n && *alive; ++i) {
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {  // larger than any sane query
        ++malformed_;
        continue;
      }
      auto* peer = reinterpret_cast<sockaddr*>(&from[i]);
      handle_packet({static_cast<const std::uint8_t*>(iov[i].iov_base), msgs[i].msg_len},
                    SocketAddress::from(peer, msgs[i].msg_hdr.msg_namelen), nullptr);
    }
    if (!*alive) return;
    batching_ = false;
    flush_udp();
    if (n < kUdpBatch) return;
  }
}

void Server::send_udp(std::vector<std::uint8_t> wire, const SocketAddress& peer) {
  if (batching_) {
    txq_.push_back({std::move(wire), peer});
    return;
  }
  ::sendto(udp_fd_, wire.data(), wire.size(), 0, peer.sa(), peer.length);
}

void Server::flush_udp() {
  std::size_t done = 0;
  while (done < txq_.size()) {
    std::size_t count = std::min<std::size_t>(txq_.size() - done, kUdpBatch);
    mmsghdr msgs[kUdpBatch];
    iovec iov[kUdpBatch];
    for (std::size_t i = 0; i < count; ++i) {
      Outgoing& o = txq_[done + i];
      iov[i] = {o.wire.data(), o.wire.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = o.peer.sa();
      msgs[i].msg_hdr.msg_namelen = o.peer.length;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = ::sendmmsg(udp_fd_, msgs, static_cast<unsigned>(count), MSG_DONTWAIT);
    // A datagram the kernel refuses (buffer full, bad peer) is skipped:
    // DNS clients retry, and one bad peer must not hold up the others.
    done += sent > 0 ? static_cast<std::size_t>(sent) : 1;
  }
  txq_.clear();
}

void Server::enable_answer_cache(std::size_t max_entries, HitCallback on_hit) {
  cache_ = std::make_unique<AnswerCache>(max_entries);
  hitcb_ = std::move(on_hit);
}

void Server::handle_packet(std::span<const std::uint8_t> packet, const SocketAddress& peer,
                           const std::shared_ptr<TcpConn>& conn) {
  bool cache_key = cache_ && !conn && AnswerCache::key_of(packet, key_scratch_);
  if (cache_key) {
    std::vector<std::uint8_t> wire;
    if (cache_->lookup(key_scratch_, packet, wire)) {
      ++queries_;
      ++cache_hits_;
      if (hitcb_) hitcb_(peer, packet, wire);
      send_udp(std::move(wire), peer);
      return;
    }
  }
  std::unique_ptr<ServerRequest> req(new ServerRequest());
  if (cache_key) req->cache_key_ = key_scratch_;
  req->server_ = this;
  req->server_alive_ = alive_;
  req->peer_ = peer;
  req->tcp_ = conn != nullptr;
  if (conn) req->tcp_conn_ = conn;
  ParseResult parsed = parse_message(packet, req->query_);
  if (parsed.status == ParseStatus::ShortHeader || req->query_.header.qr) {
    ++malformed_;
    if (errorcb_) errorcb_(peer, parsed.status == ParseStatus::ShortHeader ? parsed.error : "not a query");
    return;  // nothing we could answer: drop
  }
  Message& reply = req->reply_;
  reply.header.id = req->query_.header.id;
  reply.header.qr = true;
  reply.header.opcode = req->query_.header.opcode;
  reply.header.rd = req->query_.header.rd;
  if (parsed.status == ParseStatus::Malformed) {
    ++malformed_;
    if (errorcb_) errorcb_(peer, parsed.error);
    reply.header.rcode = kFormErr;
    req->respond();
    return;
  }
  ++queries_;
  reply.questions = req->query_.questions;
  if (req->query_.edns) reply.edns = Edns{kOurUdpSize, 0, 0, false};
  if (req->query_.edns && req->query_.edns->version != 0) {  // we speak EDNS version 0 only
    reply.edns->extended_rcode = kBadVers >> 4;
    reply.header.rcode = kBadVers & 0x0f;
    req->respond();
    return;
  }
  if (reply.header.opcode != 0 || req->query_.questions.size() != 1) {
    reply.header.rcode = reply.header.opcode != 0 ? kNotImp : kFormErr;
    req->respond();
    return;
  }
  cb_(std::move(req));
}

// ---- TCP: two-byte length, then the message (RFC 1035 4.2.2) --------------

void Server::accept_tcp(int fd, const SocketAddress& peer) {
  auto conn = std::make_shared<TcpConn>();
  conn->peer = peer;
  conn->bev = SocketBufferEvent::create(base_, fd, BufferEvent::kCloseOnFree);
  std::weak_ptr<TcpConn> weak = conn;
  TcpConn* raw = conn.get();
  auto resume = [this, weak](BufferEvent&) {
    if (auto c = weak.lock()) read_tcp(c);
  };
  conn->bev->setcb(resume, resume, [this, raw](BufferEvent&, short) { close_tcp(raw); });
  // Input is bounded (a query is at most 64 KiB); answers waiting to be sent
  // are too: past kTcpOutputHigh the client's queries wait until it reads.
  conn->bev->setwatermark(kRead, 0, 2 + 65535);
  conn->bev->setwatermark(kWrite, kTcpOutputHigh / 2, 0);
  conn->bev->set_timeouts(kTcpIdle, kTcpIdle);
  conn->bev->enable(kRead | kWrite);
  conn->more.assign(base_, -1, 0, [this, weak](int, short) {
    if (auto c = weak.lock()) read_tcp(c);
  });
  conns_.push_back(std::move(conn));
}

// RFC 7766 6.2.1.1: one client's pipeline must not hold up the others.
// A turn answers at most kTcpBatch queries, then lets the loop serve UDP
// and other clients before the next; while the client does not read its
// answers, its queries wait (and reading stops once input is full).
void Server::read_tcp(const std::shared_ptr<TcpConn>& conn) {
  auto alive = alive_;  // the request callback may destroy the server
  BufferEvent& bev = *conn->bev;
  std::vector<std::uint8_t> msg;
  for (int n = 0; n < kTcpBatch; ++n) {
    if (bev.output().length() >= kTcpOutputHigh) return;  // the write callback resumes
    if (!read_tcp_message(bev.input(), msg)) return;
    handle_packet(msg, conn->peer, conn);
    if (!*alive) return;
  }
  if (!bev.input().empty()) conn->more.activate(kTimeout);
}

void Server::close_tcp(TcpConn* conn) {
  auto it = std::find_if(conns_.begin(), conns_.end(), [conn](const auto& c) { return c.get() == conn; });
  if (it == conns_.end()) return;
  std::shared_ptr<TcpConn> keep = *it;  // may be running one of its callbacks
  conns_.erase(it);
  base_.once(-1, 0, [keep](int, short) {});  // destroy after the callback returns
}

}  // namespace ev::dns
