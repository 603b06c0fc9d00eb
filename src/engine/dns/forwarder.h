// Forwarder: relays queries a server cannot answer to an upstream server
// over UDP, asynchronously. Each relayed query gets a fresh random ID; an
// answer is accepted only from the upstream address with a pending ID and
// the same question. No answer within the timeout: SERVFAIL.
#pragma once

#include <memory>
#include <unordered_map>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/server.h"

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
  std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::unique_ptr<ServerRequest> req;
    Event timer;
  };
  Forwarder(EventBase& base, Duration timeout) : base_(base), timeout_(timeout) {}
  static void on_readable(int fd, short what, void* arg);
  void read_answers();
  void fail(std::uint16_t id);

  EventBase& base_;
  Duration timeout_;
  SocketAddress upstream_;
  int fd_ = -1;
  Event read_ev_;
  std::unordered_map<std::uint16_t, std::unique_ptr<Pending>> pending_;
};

}  // namespace ev::dns
