// Forwarder: relays queries a server cannot answer to an upstream server
// over UDP, asynchronously. Each relayed query gets a fresh random ID; an
// answer is accepted only from the upstream address with a pending ID and
// the same question. A truncated answer is asked again over TCP. No answer
// within the timeout: SERVFAIL.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/server.h"
#include "engine/io/socket_buffer_event.h"

namespace ev::dns {

class Forwarder {
 public:
  // nullptr with `why` set if the socket cannot be created.
  static std::unique_ptr<Forwarder> create(EventBase& base, const SocketAddress& upstream, Duration timeout,
                                           std::string* why);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Takes the request; it is answered later (upstream's answer or SERVFAIL).
  void forward(std::unique_ptr<ServerRequest> req);
  // Called with each forwarded request just before it is answered, its
  // reply filled in (the upstream's answer, or SERVFAIL): for a query log.
  using AnswerCallback = std::function<void(ServerRequest& req)>;
  void set_answer_cb(AnswerCallback cb) { answer_cb_ = std::move(cb); }
  std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::unique_ptr<ServerRequest> req;
    Event timer;
    std::vector<std::uint8_t> query;   // as sent upstream, to resend over TCP
    std::unique_ptr<SocketBufferEvent> tcp;  // after a truncated UDP answer
  };
  Forwarder(EventBase& base, Duration timeout) : base_(base), timeout_(timeout) {}
  static void on_readable(int fd, short what, void* arg);
  void read_answers();
  // True if `answer` answers the pending query `id` (ID and question).
  bool matches(std::uint16_t id, const Message& answer) const;
  void retry_tcp(std::uint16_t id);
  void relay(std::uint16_t id, Message&& answer);
  void fail(std::uint16_t id);
  // Removes a pending query; it is destroyed from the loop, since one of
  // its callbacks (timer, TCP) may be running.
  std::shared_ptr<Pending> take(std::uint16_t id);

  EventBase& base_;
  Duration timeout_;
  SocketAddress upstream_;
  int fd_ = -1;
  Event read_ev_;
  std::unordered_map<std::uint16_t, std::unique_ptr<Pending>> pending_;
  AnswerCallback answer_cb_;
};

}  // namespace ev::dns
