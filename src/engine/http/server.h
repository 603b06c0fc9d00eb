// http::Server: libevent's evhttp. Accepts connections on one or more bound
// sockets, parses requests (keep-alive and pipelining, responses in
// order), and hands each complete request to the callback registered for
// its path, or to the generic one. Replies are whole (with
// Content-Length) or chunked; a body Buffer may hold file ranges, which go
// out with sendfile, so a reply's memory does not grow with the file.
//
// The server enforces the limits (head size 414/431, body 413, header
// timeout 408, malformed input 400, methods 405), answers
// `Expect: 100-continue`, refuses connections beyond max_connections with
// 503, and closes gracefully (stop accepting, finish what is in flight).
// One Server belongs to one EventBase; run one per thread with
// SO_REUSEPORT listeners to use several cores.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/http/headers.h"
#include "engine/http/parser.h"
#include "engine/http/uri.h"
#include "engine/io/buffer.h"
#include "engine/io/buffer_event.h"
#include "engine/io/listener.h"
#include "engine/util/sockaddr.h"

namespace ev::http {

namespace detail {
class Connection;
}

struct ServerSettings {
  Limits limits{16 * 1024, 100, 1024 * 1024};  // head 16 KiB, 100 fields, body 1 MiB
  Duration timeout = std::chrono::seconds(30);  // header read, idle keep-alive, stalled writes
  // A request body must arrive at this many bytes per second at least,
  // counted after a first `timeout` of grace (Apache's mod_reqtimeout
  // MinRate): a body that trickles in is cut with 408. 0: no minimum.
  std::uint64_t min_body_rate = 500;
  std::size_t max_connections = 0;              // 0: no limit; beyond it: 503
  // Counts connections across several Servers (one per thread) for
  // max_connections; nullptr: this server's own count.
  std::shared_ptr<std::atomic<std::size_t>> shared_count;
  // Methods answered at all (empty: any); others get 405 with Allow.
  std::vector<std::string> allowed_methods;
  std::string server_name = "evtool";  // the Server header
};

// One request and its reply. Valid inside the handler, and until its reply
// is complete or its connection closes; a handler may reply later (from
// another callback) as long as the connection is alive.
class Request {
 public:
  const std::string& method() const { return head_.method; }
  const std::string& target() const { return head_.target; }  // raw request-target
  const Uri& uri() const { return uri_; }                      // the target, parsed
  int version_minor() const { return head_.version_minor; }
  const Headers& headers() const { return head_.headers; }
  Buffer& body() { return body_; }  // complete when the handler runs
  const SocketAddress& peer() const { return peer_; }
  bool is_head() const { return head_.method == "HEAD"; }

  // Extra reply header fields (Content-Type, ...); Date, Server,
  // Content-Length / Transfer-Encoding and Connection are added.
  Headers& reply_headers() { return reply_headers_; }
  // A whole reply; `body` is moved out (nothing is sent for HEAD, but
  // Content-Length says its size). An empty reason uses the standard one.
  void send_reply(int status, Buffer& body, std::string_view reason = {});
  void send_reply(int status, std::string_view body = {}, std::string_view reason = {});
  // A reply whose body follows in pieces: chunked for HTTP/1.1, delimited
  // by closing the connection for 1.0.
  void send_reply_start(int status, std::string_view reason = {});
  void send_reply_chunk(Buffer& data);
  void send_reply_end();
  // An error page (a small HTML body naming the status and `detail`).
  void send_error(int status, std::string_view detail = {});

  // After the reply: its status and the body bytes it carried (for logs).
  int status() const { return status_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  // Close the connection after this reply, whatever keep-alive says.
  void set_close() { close_ = true; }

 private:
  friend class detail::Connection;
  void reset();
  void write_head(int status, std::string_view reason, std::int64_t content_length, bool chunked);
  void finish();

  detail::Connection* conn_ = nullptr;
  RequestHead head_;
  Uri uri_;
  Buffer body_;
  Headers reply_headers_;
  SocketAddress peer_;
  int status_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t body_begin_ = 0;  // where the body starts in the output's drained_total() count
  bool close_ = false;
  bool replying_ = false;  // a chunked reply has started
  bool chunked_ = false;
};

// What the access log learns of one reply, once it has left (its last
// byte handed to the socket) or its connection ended first. body_bytes is
// what went out of the body, as nginx's $body_bytes_sent: less than
// body_size for a download cut short.
struct AccessRecord {
  SocketAddress peer;
  std::string method, target;  // empty if the request line was bad
  int version_minor = 1;
  int status = 0;
  std::uint64_t body_bytes = 0;  // sent
  std::uint64_t body_size = 0;   // the reply's whole body (HEAD: 0)
  bool complete = false;         // every byte of the reply left
};

class Server {
 public:
  using Handler = std::function<void(Request& req)>;
  // Called once per reply when it has left or its connection ended (also
  // for the server's own error replies), in the order of the replies.
  using LogCallback = std::function<void(const AccessRecord& rec)>;
  // Called when a connection fails before any request with a reason its
  // BufferEvent gives (error_detail(): a TLS handshake that went wrong,
  // e.g. a client speaking plain HTTP to HTTPS).
  using ErrorCallback = std::function<void(const SocketAddress& peer, const std::string& what)>;
  // Makes the BufferEvent of an accepted socket (libevent's
  // evhttp_set_bevcb): a TLS layer in accepting mode, say. It owns fd; on
  // failure it closes it and returns nullptr with `why` set. The server
  // never learns what the layers are. Default: a socket BufferEvent.
  using BevFactory = std::function<std::unique_ptr<BufferEvent>(EventBase& base, int fd, std::string* why)>;

  explicit Server(EventBase& base, ServerSettings settings = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (ConnListener flags, e.g. kReusablePort); false with
  // `why` set on failure. May be called several times.
  bool bind(const SocketAddress& addr, int listener_flags, std::string* why);
  // The bound addresses (real ports when bound to port 0), in bind order.
  std::vector<SocketAddress> addresses() const;

  // Serves a connection accepted elsewhere (a listener the caller owns,
  // e.g. shared with other protocols); the server owns fd from now on.
  void accept(int fd, const SocketAddress& peer);
  void set_bevcb(BevFactory factory) { bevcb_ = std::move(factory); }

  // `path` is matched exactly against the request's path (without query).
  void set_callback(std::string path, Handler handler);
  void set_generic_callback(Handler handler) { generic_ = std::move(handler); }
  void set_log_callback(LogCallback cb) { log_ = std::move(cb); }
  void set_error_callback(ErrorCallback cb) { error_ = std::move(cb); }
  const ServerSettings& settings() const { return settings_; }

  std::size_t connections() const { return connections_.size(); }
  // Stops accepting, closes idle connections, lets the others finish their
  // current reply, then runs `done` (at once if nothing is in flight).
  void shutdown(std::function<void()> done);

 private:
  friend class detail::Connection;
  friend class Request;
  void dispatch(Request& req);
  void closed(detail::Connection* conn);
  void logged(const AccessRecord& rec) {
    if (log_) log_(rec);
  }
  // "Date: Tue, 15 Nov 1994 08:12:31 GMT\r\n", recomputed once a second.
  std::string_view date_line();

  EventBase& base_;
  ServerSettings settings_;
  std::vector<std::unique_ptr<ConnListener>> listeners_;
  std::vector<std::pair<std::string, Handler>> callbacks_;
  Handler generic_;
  LogCallback log_;
  ErrorCallback error_;
  BevFactory bevcb_;
  std::vector<std::unique_ptr<detail::Connection>> connections_;
  std::vector<std::unique_ptr<detail::Connection>> dead_;  // closed, freed by reaper_
  Event reaper_;
  static void on_reap(int fd, short what, void* arg);
  std::function<void()> shutdown_done_;
  bool shutting_down_ = false;
  long date_second_ = -1;
  char date_line_[64] = {};
  std::size_t date_len_ = 0;
};

// "Tue, 15 Nov 1994 08:12:31 GMT" (RFC 9110 IMF-fixdate) for a Unix time.
std::string http_date(long unix_seconds);
// Parses the three date formats RFC 9110 allows; -1 if none matches.
long parse_http_date(std::string_view text);

}  // namespace ev::http
