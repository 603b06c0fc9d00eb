#include "engine/dns/forwarder.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/dns/tcp_framing.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/random.h"

namespace ev::dns {

std::unique_ptr<Forwarder> Forwarder::create(EventBase& base, const SocketAddress& upstream, Duration timeout,
                                             std::string* why) {
  std::unique_ptr<Forwarder> f(new Forwarder(base, timeout));
  f->upstream_ = upstream;
  // connect() makes the kernel drop datagrams from any other address.
  f->fd_ = ::socket(upstream.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (f->fd_ < 0 || ::connect(f->fd_, upstream.sa(), upstream.length) != 0) {
    if (why) *why = "cannot reach " + upstream.to_string() + ": " + std::strerror(errno);
    return nullptr;
  }
  f->read_ev_.assign(base, f->fd_, kRead | kPersist, &Forwarder::on_readable, f.get());
  f->read_ev_.add();
  return f;
}

Forwarder::~Forwarder() {
  read_ev_.del();
  if (fd_ >= 0) ::close(fd_);
}

void Forwarder::forward(std::unique_ptr<ServerRequest> req) {
  if (pending_.size() >= 60000) {  // ID space nearly used up
    req->set_rcode(kServFail);
    req->respond();
    return;
  }
  std::uint16_t id;
  do id = static_cast<std::uint16_t>(secure_random_u32()); while (pending_.count(id));
  Message query;
  query.header.id = id;
  query.header.rd = true;
  query.questions = req->query().questions;
  query.edns = Edns{1232, 0, 0, false};
  std::vector<std::uint8_t> wire = build_message(query);
  if (::send(fd_, wire.data(), wire.size(), 0) < 0) {
    req->set_rcode(kServFail);
    req->respond();
    return;
  }
  auto p = std::make_unique<Pending>();
  p->req = std::move(req);
  p->query = std::move(wire);
  p->timer.assign(base_, -1, 0, [this, id](int, short) { fail(id); });
  p->timer.add(timeout_);
  pending_.emplace(id, std::move(p));
}

void Forwarder::on_readable(int, short, void* arg) { static_cast<Forwarder*>(arg)->read_answers(); }

void Forwarder::read_answers() {
  std::uint8_t buf[65536];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return;
    Message answer;
    if (parse_message({buf, static_cast<std::size_t>(n)}, answer).status != ParseStatus::Ok) continue;
    std::uint16_t id = answer.header.id;
    if (!matches(id, answer)) continue;  // not the answer to our question: a spoofing attempt or a stale reply
    if (pending_.at(id)->tcp) continue;  // already asking over TCP
    if (answer.header.tc) retry_tcp(id);
    else relay(id, std::move(answer));
  }
}

bool Forwarder::matches(std::uint16_t id, const Message& answer) const {
  auto it = pending_.find(id);
  if (it == pending_.end()) return false;
  const auto& asked = it->second->req->query().questions;
  return asked.size() == 1 && is_reply_to(answer, id, asked[0], false);
}

// The same query (same ID) over TCP: two-byte length, then the message.
void Forwarder::retry_tcp(std::uint16_t id) {
  Pending& p = *pending_.at(id);
  p.tcp = SocketBufferEvent::create(base_, -1, BufferEvent::kCloseOnFree);
  write_tcp_message(p.tcp->output(), p.query);
  p.tcp->setcb(
      [this, id](BufferEvent& b) {
        std::vector<std::uint8_t> msg;
        if (!read_tcp_message(b.input(), msg)) return;
        Message answer;
        if (parse_message(msg, answer).status == ParseStatus::Ok && answer.header.id == id &&
            matches(id, answer))
          relay(id, std::move(answer));
        else
          fail(id);
      },
      nullptr,
      [this, id](BufferEvent&, short what) {
        if (!(what & BufferEvent::kConnected)) fail(id);  // refused or closed before the answer
      });
  if (p.tcp->connect(upstream_) != 0) return fail(id);
  p.tcp->enable(kRead | kWrite);
}

void Forwarder::relay(std::uint16_t id, Message&& answer) {
  auto p = take(id);
  if (!p) return;
  Message& reply = p->req->reply();
  reply.header.rcode = answer.header.rcode;
  reply.header.ra = answer.header.ra;
  reply.header.aa = false;
  reply.header.tc = answer.header.tc;  // still truncated (over TCP): say so, never pass it off as whole
  reply.answers = std::move(answer.answers);
  reply.authority = std::move(answer.authority);
  reply.additional = std::move(answer.additional);
  if (answer_cb_) answer_cb_(*p->req);
  p->req->respond();
}

void Forwarder::fail(std::uint16_t id) {
  auto p = take(id);
  if (!p) return;
  p->req->set_rcode(kServFail);
  if (answer_cb_) answer_cb_(*p->req);
  p->req->respond();
}

std::shared_ptr<Forwarder::Pending> Forwarder::take(std::uint16_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return nullptr;
  std::shared_ptr<Pending> p(std::move(it->second));
  pending_.erase(it);
  p->timer.del();
  if (p->tcp) {  // its ID may be reused at once: nothing more from this connection
    p->tcp->setcb(nullptr, nullptr, nullptr);
    p->tcp->disable(kRead | kWrite);
  }
  base_.once(-1, 0, [p](int, short) {});  // its timer or TCP callback may be running now
  return p;
}

}  // namespace ev::dns
