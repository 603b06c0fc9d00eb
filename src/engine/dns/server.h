// dns::Server: a DNS server (RFC 1035 4.2, RFC 7766), the engine's
// counterpart of libevent's evdns server interface. One UDP socket and one
// TCP listener on the same address; every well-formed query becomes a
// ServerRequest handed to the callback, which inspects it (questions,
// flags, the requesting address), adds records to any section and
// responds (now or later, e.g. after forwarding) or drops it.
//
// Malformed packets get FORMERR when the header is readable and are
// dropped otherwise; nothing a client sends can crash the server.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/answer_cache.h"
#include "engine/dns/message.h"
#include "engine/io/buffer_event.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"

namespace ev::dns {

class Server;
enum class Section { Answer, Authority, Additional };

class ServerRequest {
 public:
  ~ServerRequest();
  ServerRequest(const ServerRequest&) = delete;
  ServerRequest& operator=(const ServerRequest&) = delete;

  const Message& query() const { return query_; }
  const SocketAddress& peer() const { return peer_; }
  bool over_tcp() const { return tcp_; }
  // Largest UDP answer the client accepts (512 without EDNS).
  std::size_t max_udp_size() const;

  // The reply being built: ID, opcode, RD, the questions and (if the query
  // had EDNS) an OPT record are already set.
  Message& reply() { return reply_; }
  void add_record(Section section, ResourceRecord rr);
  void set_rcode(std::uint8_t rcode) { reply_.header.rcode = rcode; }
  void set_authoritative(bool aa) { reply_.header.aa = aa; }
  // The reply depends only on the question (static data): the server may
  // keep its wire form and answer the same question again from it.
  void set_cacheable(bool on) { cacheable_ = on; }

  // Sends the reply (UDP answers over the client's size are truncated with
  // TC set). Returns 0, or -1 if the client (TCP) or the server is gone.
  int respond();
  // Sends nothing.
  void drop();
  bool done() const { return done_; }

 private:
  friend class Server;
  ServerRequest() = default;
  Server* server_ = nullptr;
  std::shared_ptr<const bool> server_alive_;  // false once the server is destroyed
  std::weak_ptr<void> tcp_conn_;  // alive while the TCP connection is
  Message query_, reply_;
  SocketAddress peer_;
  bool tcp_ = false;
  bool done_ = false;
  bool cacheable_ = false;
  std::string cache_key_;  // empty: the query does not qualify
};

class Server {
 public:
  // The callback owns the request; it may respond later (keep the pointer).
  using RequestCallback = std::function<void(std::unique_ptr<ServerRequest> req)>;
  // Called for every packet that was not answerable (for logs).
  using ErrorCallback = std::function<void(const SocketAddress& peer, const std::string& why)>;

  // Binds UDP and TCP on addr (port 0: the same free port for both); a
  // Unix socket address gets one stream listener (TCP's framing).
  static std::unique_ptr<Server> bind(EventBase& base, const SocketAddress& addr, RequestCallback cb, std::string* why);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void set_error_callback(ErrorCallback cb) { errorcb_ = std::move(cb); }
  // Answers to cacheable requests are kept and reused for the same
  // question; a hit does not reach the request callback but the hit
  // callback (for logs), with the query and the answer as sent.
  // clear_answer_cache() after the data changes.
  using HitCallback = std::function<void(const SocketAddress& peer, std::span<const std::uint8_t> query,
                                         std::span<const std::uint8_t> answer)>;
  void enable_answer_cache(std::size_t max_entries, HitCallback on_hit = nullptr);
  void clear_answer_cache() {
    if (cache_) cache_->clear();
  }
  std::uint64_t cache_hits() const { return cache_hits_; }
  SocketAddress address() const;  // the bound address (real port)
  // Counters for tests and logs.
  std::uint64_t queries() const { return queries_; }
  std::uint64_t malformed() const { return malformed_; }

 private:
  friend class ServerRequest;
  struct TcpConn;
  Server(EventBase& base, RequestCallback cb);
  static void on_udp(int fd, short what, void* arg);
  void read_udp();
  void handle_packet(std::span<const std::uint8_t> packet, const SocketAddress& peer, const std::shared_ptr<TcpConn>& conn);
  void send_udp(std::vector<std::uint8_t> wire, const SocketAddress& peer);
  void flush_udp();
  void accept_tcp(int fd, const SocketAddress& peer);
  void read_tcp(const std::shared_ptr<TcpConn>& conn);
  void close_tcp(TcpConn* conn);

  EventBase& base_;
  RequestCallback cb_;
  ErrorCallback errorcb_;
  int udp_fd_ = -1;
  Event udp_ev_;
  std::unique_ptr<ConnListener> listener_;
  std::vector<std::shared_ptr<TcpConn>> conns_;
  std::unique_ptr<std::uint8_t[]> rxbuf_;  // kUdpBatch slots for recvmmsg, touched only where data lands
  struct Outgoing {
    std::vector<std::uint8_t> wire;
    SocketAddress peer;
  };
  std::vector<Outgoing> txq_;  // answers of the current batch
  bool batching_ = false;
  std::uint64_t queries_ = 0, malformed_ = 0, cache_hits_ = 0;
  std::unique_ptr<AnswerCache> cache_;
  HitCallback hitcb_;
  std::string key_scratch_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ev::dns
