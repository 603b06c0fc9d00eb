#include "engine/dns/forwarder.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    auto it = pending_.find(answer.header.id);
    if (it == pending_.end() || !answer.header.qr) continue;
    ServerRequest& req = *it->second->req;
    const auto& asked = req.query().questions;
    if (answer.questions.size() != 1 || asked.size() != 1 || !names_equal(answer.questions[0].name, asked[0].name) ||
        answer.questions[0].type != asked[0].type)
      continue;  // not the answer to our question: a spoofing attempt or a stale reply
    Message& reply = req.reply();
    reply.header.rcode = answer.header.rcode;
    reply.header.ra = answer.header.ra;
    reply.header.aa = false;
    reply.answers = std::move(answer.answers);
    reply.authority = std::move(answer.authority);
    reply.additional = std::move(answer.additional);
    req.respond();
    pending_.erase(it);
  }
}

void Forwarder::fail(std::uint16_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);
  p->req->set_rcode(kServFail);
  p->req->respond();
  base_.once(-1, 0, [keep = std::shared_ptr<Pending>(std::move(p))](int, short) {});  // its timer is running now
}

}  // namespace ev::dns
