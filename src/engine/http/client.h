// ev::http::Client: an HTTP/1.1 client on BufferEvents. One request at a
// time per Client (redirects and retries included); connections are kept
// alive and reused through a small pool keyed by scheme, host and port.
//
// - Connecting: IP literals directly, names through the caller's
//   dns::Resolver; every address in turn, each within connect_timeout.
//   Connect failures and timeouts (connect, or total_timeout before any of
//   the response reached the caller) are retried `retries` times with
//   exponential backoff, each attempt with the whole total_timeout. A kept-alive connection the server closed before
//   answering is replaced by a fresh one once, transparently.
// - Responses: Content-Length, chunked and close-delimited bodies, decoded
//   and handed over as they arrive. The caller drains the body Buffer; while
//   it holds kBodyHigh bytes or more, reading from the server pauses, so a
//   slow sink (a FIFO, a pipe) bounds memory.
// - Uploads: a RequestBody, files sent from disk in constant memory.
// - Redirects (follow_redirects): Location resolved against the request
//   URL; 301/302/303 become GET without a body (HEAD stays HEAD), 307/308
//   keep the method and body. Credentials are dropped when the origin changes.
// - HTTPS goes through a tls::ClientConnector that wraps the connected
//   socket; without one, https:// URLs fail with kUnsupported.
//
// Callbacks run from the loop. The Client may be destroyed or cancelled
// from inside on_head, on_body and on_complete (not on_trace); cancel()
// stops a request without calling on_complete.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/dns/connector.h"
#include "engine/dns/resolver.h"
#include "engine/http/headers.h"
#include "engine/http/parser.h"
#include "engine/http/request_body.h"
#include "engine/http/uri.h"
#include "engine/io/buffer.h"
#include "engine/io/buffer_event.h"
#include "engine/tls/client_connector.h"
#include "engine/util/sockaddr.h"

namespace ev::http {

namespace detail {
class ConnectionPool;
}

enum class ClientError {
  kOk,
  kConnectFailed,     // unreachable, no route, or every address failed
  kRefused,           // ECONNREFUSED
  kTimeout,           // connect_timeout or total_timeout
  kReset,             // reset, or closed before a response
  kMalformed,         // a response we cannot parse, a truncated body, a bad Location
  kDns,               // the name did not resolve
  kTls,               // handshake or certificate verification
  kTooManyRedirects,  // more than max_redirects
  kUnsupported,       // a scheme we cannot speak (https without a tls::ClientConnector)
  kIo,                // a local error: reading the upload, a socket call
};
// "refused", "timeout", ... for messages and logs.
const char* client_error_name(ClientError e);

// Time spent in each phase of the whole operation (all redirects and
// retries): resolving and connecting (summed), the TLS handshake, and from
// start() to the first byte of the final response (ttfb) and to the end
// (total). Zero for a phase that did not happen (e.g. a reused connection).
struct Timings {
  Duration dns{0}, connect{0}, tls{0}, ttfb{0}, total{0};
};

struct ClientRequest {
  std::string method = "GET";
  Uri url;  // absolute http:// or https:// URL
  // Sent as given, after Host (unless given here), User-Agent and Accept
  // (unless given here) and Authorization from url's user:password (unless
  // given here). Content-Length / Transfer-Encoding come from the body.
  Headers headers;
  // Default fields not to send at all (curl's `-H 'Accept:'`): Host,
  // User-Agent, Accept, Authorization; names compare case-insensitively.
  std::vector<std::string> omit;
  RequestBody body;
};

struct ClientResult {
  ClientError error = ClientError::kOk;
  std::string message;  // empty when error is kOk
  int status = 0;       // of the last response, 0 if none came
  Uri url;              // the last URL requested (after redirects)
  std::uint64_t body_size = 0;  // decoded bytes of the final response
  int redirects = 0;
  int retries = 0;
  Timings time;
};

struct ClientOptions {
  std::optional<Duration> connect_timeout;  // per address; nullopt: the kernel's
  std::optional<Duration> total_timeout;    // each attempt, redirects included
  int retries = 0;                          // extra attempts after a connect failure or a timeout
  Duration retry_delay = std::chrono::milliseconds(500);  // doubles each retry, at most 30 s
  bool follow_redirects = false;
  int max_redirects = 10;
  Limits limits;                    // for response heads (body limit: max_body_size)
  std::size_t max_idle = 4;         // kept-alive connections in the pool
  dns::Resolver* resolver = nullptr;  // for host names; borrowed
  // Every connection goes to this Unix domain socket (curl's
  // --unix-socket); the URL still gives the Host header, path and scheme.
  std::optional<SocketAddress> unix_socket;
  std::shared_ptr<tls::ClientConnector> tls;  // for https://
  std::string user_agent;             // empty: no User-Agent header
};

class Client {
 public:
  // Reading pauses while the body Buffer holds this much, and resumes
  // once the caller has drained it to kBodyLow.
  static constexpr std::size_t kBodyHigh = 1024 * 1024;
  static constexpr std::size_t kBodyLow = 256 * 1024;

  enum class Trace { kInfo, kRequestHead, kResponseHead };
  struct Handlers {
    // Every response head, redirects included; `following` is true when
    // the client will follow this one (its body is then discarded).
    std::function<void(const Uri& url, const ResponseHead& head, bool following)> on_head;
    // Decoded body bytes of the final response, in `body`: drain them.
    std::function<void(Buffer& body)> on_body;
    // Exactly once per start() unless cancelled. The body Buffer may still
    // hold bytes the caller has not drained yet.
    std::function<void(const ClientResult& result)> on_complete;
    // Diagnostics: connects, retries, redirects (kInfo) and each line of
    // the heads sent and received, without CRLF.
    std::function<void(Trace kind, std::string_view text)> on_trace;
  };

  Client(EventBase& base, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts a request; only while none is running.
  void start(ClientRequest request, Handlers handlers);
  // Stops the running request (no on_complete) and closes its connection.
  void cancel();
  bool running() const { return state_ != State::kIdle; }

  // The decoded body, drained by the caller.
  Buffer& body() { return body_; }
  const ClientOptions& options() const { return opts_; }

 private:
  enum class State { kIdle, kResolving, kConnecting, kTlsHandshake, kWaitingHead, kReadingBody, kBackoff };

  // Connecting (client.cpp).
  void begin_attempt();
  void connect_done(std::unique_ptr<SocketBufferEvent> bev, const dns::Connector::Result& r);
  void on_handshake_event(short what);
  void schedule_retry(ClientError kind, const std::string& why);
  // The exchange (client_exchange.cpp).
  void send_request();
  std::string request_head() const;
  void send_stream_chunk();
  void on_readable();
  bool read_head();
  bool read_body();
  void on_event(short what);
  void body_complete(bool reusable);
  void follow_redirect();
  void finish(ClientError error, std::string message);
  bool fail(ClientError error, std::string message) {
    finish(error, std::move(message));
    return false;
  }
  void trace(Trace kind, std::string_view text) const;
  void trace_info(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));
  std::string origin_key() const;
  void mark(Duration& phase, TimePoint since);

  static void on_total_timeout(int, short, void* arg);
  static void on_connect_timeout(int, short, void* arg);
  static void on_retry(int, short, void* arg);
  static void on_resume(int, short, void* arg);
  static void on_stream_readable(int, short, void* arg);

  EventBase& base_;
  ClientOptions opts_;
  std::unique_ptr<detail::ConnectionPool> pool_;
  State state_ = State::kIdle;
  ClientRequest req_;
  Handlers handlers_;
  ClientResult result_;
  TimePoint started_{}, phase_started_{};

  // Connecting.
  dns::Connector connector_;
  bool reused_ = false;         // the connection came from the pool
  bool stale_retried_ = false;  // a reused connection already failed once
  std::unique_ptr<BufferEvent> conn_;

  // The exchange.
  ResponseHead head_;
  BodyDecoder decoder_;
  bool following_ = false;  // this response is a redirect we follow
  bool got_bytes_ = false;  // of the current response
  bool upload_done_ = false;
  bool paused_ = false;     // body_ is full: not reading from the server
  Buffer body_, discard_;

  Event total_timer_, connect_timer_, retry_timer_, resume_ev_, stream_ev_;
  bool stream_pump_ = false;  // stream fd not pollable: pumped by timer
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ev::http
