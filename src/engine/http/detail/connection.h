// One server-side HTTP connection: reads requests one at a time from its
// BufferEvent, hands each to the Server, and writes the replies in order.
// After a reply that ends the connection it "lingers": half-closes, then
// discards what the peer still sends for a moment, so that the peer reads
// the reply instead of a reset (nginx's lingering close).
#pragma once

#include <memory>
#include <vector>

#include "engine/core/event.h"
#include "engine/http/parser.h"
#include "engine/http/server.h"
#include "engine/io/buffer_event.h"

namespace ev::http::detail {

class Connection {
 public:
  // `bev` is the connection on socket `fd` (plain, or a layer over it);
  // `reject`: over max_connections; the first request gets 503 and close.
  Connection(Server& server, std::unique_ptr<BufferEvent> bev, int fd, const SocketAddress& peer, bool reject);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  Server& server() { return server_; }
  Buffer& output() { return bev_->output(); }
  // The Request has queued its whole reply.
  void reply_done(Request& req);
  // Graceful shutdown: close now if idle, else after the current reply.
  void shutdown();
  std::size_t index = 0;  // position in the server's list

 private:
  enum class State { kHead, kBody, kHandling, kLinger };
  static void on_read(BufferEvent& bev, void* self);
  static void on_header_timeout(int fd, short what, void* self);
  static void on_body_check(int fd, short what, void* self);
  void watch_body_rate();
  void watch_header_time();
  void process();
  bool begin_request();
  bool expect_continue(const BodyFraming& framing);
  void fail(int status, const char* why, std::string_view allow = {});
  void linger();
  void on_drained();
  void on_event(short what);
  bool sending();
  void on_peer_eof();
  void destroy();
  // The access log: replies queued but not yet out, logged in order as
  // their last byte leaves; at the end, with what went out of them.
  void log_sent();
  void log_all_pending();

  Server& server_;
  int fd_;
  std::unique_ptr<BufferEvent> bev_;
  Request req_;
  BodyDecoder decoder_;
  // The whole head must arrive within the timeout, however slowly it
  // trickles in (the read timeout alone restarts with every byte).
  Event header_timer_;
  // A body must keep up a minimum rate once its grace time is over.
  // Made on the first body under --min-rate: an idle connection (most of
  // them) does not carry a second timer.
  std::unique_ptr<Event> body_timer_;
  TimePoint body_started_{};
  State state_ = State::kHead;
  bool reject_;
  bool processing_ = false;  // inside process(): replies must not recurse into it
  bool peer_eof_ = false;
  bool any_request_ = false;  // a request head was parsed
  bool head_parsed_ = false;  // the current request's head was parsed
  bool shutting_down_ = false;
  bool closed_ = false;  // destroy() ran
  struct Unlogged {
    AccessRecord rec;
    std::uint64_t body_begin, end;  // in the output's drained_total() count
  };
  std::vector<Unlogged> unlogged_;
};

}  // namespace ev::http::detail
