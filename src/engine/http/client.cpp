// Client: starting requests, connecting (through dns::Connector, retries
// with backoff), TLS hand-off, timeouts and completion. The
// exchange itself (request out, response in) is in client_exchange.cpp.
#include "engine/http/client.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "engine/http/detail/connection_pool.h"
#include "engine/io/socket_buffer_event.h"
#include "engine/util/units.h"

namespace ev::http {

const char* client_error_name(ClientError e) {
  switch (e) {
    case ClientError::kOk: return "ok";
    case ClientError::kConnectFailed: return "connect_failed";
    case ClientError::kRefused: return "refused";
    case ClientError::kTimeout: return "timeout";
    case ClientError::kReset: return "reset";
    case ClientError::kMalformed: return "malformed";
    case ClientError::kDns: return "dns";
    case ClientError::kTls: return "tls";
    case ClientError::kTooManyRedirects: return "too_many_redirects";
    case ClientError::kUnsupported: return "unsupported";
    case ClientError::kIo: return "io";
  }
  return "unknown";
}

namespace {
constexpr Duration kMaxRetryDelay = std::chrono::seconds(30);
}  // namespace

Client::Client(EventBase& base, ClientOptions options)
    : base_(base),
      opts_(std::move(options)),
      pool_(std::make_unique<detail::ConnectionPool>(opts_.max_idle)),
      connector_(base, opts_.resolver) {
  connector_.set_trace([this](const std::string& line) { trace(Trace::kInfo, line); });
  total_timer_.assign_timer(base, &Client::on_total_timeout, this);
  connect_timer_.assign_timer(base, &Client::on_connect_timeout, this);
  retry_timer_.assign_timer(base, &Client::on_retry, this);
  resume_ev_.assign_timer(base, &Client::on_resume, this);
  // The caller drained the body below the low mark: read again, from the
  // loop rather than from inside the caller's drain.
  body_.add_cb([this](Buffer& b, const BufferChange& c) {
    if (paused_ && c.n_deleted && b.length() <= kBodyLow) resume_ev_.activate(kTimeout);
  });
}

Client::~Client() {
  *alive_ = false;
  cancel();
}

void Client::start(ClientRequest request, Handlers handlers) {
  cancel();
  req_ = std::move(request);
  handlers_ = std::move(handlers);
  result_ = ClientResult{};
  result_.url = req_.url;
  paused_ = false;
  body_.drain(body_.length());
  stale_retried_ = false;
  started_ = std::chrono::steady_clock::now();
  // Begin from the loop (on_retry arms the --timeout of the attempt), so that even an immediate failure reaches
  // on_complete after start() has returned.
  state_ = State::kBackoff;
  retry_timer_.add(Duration(0));
}

void Client::cancel() {
  connector_.cancel();
  total_timer_.del();
  connect_timer_.del();
  retry_timer_.del();
  resume_ev_.del();
  stream_ev_.del();
  conn_.reset();
  state_ = State::kIdle;
}

std::string Client::origin_key() const {
  return req_.url.scheme + "://" + req_.url.host + ":" + std::to_string(req_.url.effective_port());
}

void Client::mark(Duration& phase, TimePoint since) {
  phase += std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - since);
}

void Client::trace(Trace kind, std::string_view text) const {
  if (handlers_.on_trace) handlers_.on_trace(kind, text);
}

void Client::trace_info(const char* fmt, ...) const {
  if (!handlers_.on_trace) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  handlers_.on_trace(Trace::kInfo, buf);
}

// ---- connecting ---------------------------------------------------------

void Client::begin_attempt() {
  const Uri& url = req_.url;
  if (url.scheme != "http" && url.scheme != "https")
    return finish(ClientError::kUnsupported, "unsupported URL scheme '" + url.scheme + "'");
  if (url.scheme == "https" && !opts_.tls) return finish(ClientError::kUnsupported, "https is not supported yet");
  reused_ = false;
  if (req_.body.replayable() && !stale_retried_) {
    if ((conn_ = pool_->take(origin_key()))) {
      reused_ = true;
      trace_info("reusing the connection to %s", url.host_header().c_str());
      return send_request();
    }
  }
  state_ = parse_ip(url.host) || opts_.unix_socket ? State::kConnecting : State::kResolving;
  dns::Connector::Options copts;
  copts.timeout = opts_.connect_timeout;
  auto done = [this](std::unique_ptr<SocketBufferEvent> bev, const dns::Connector::Result& r) {
    connect_done(std::move(bev), r);
  };
  if (opts_.unix_socket) connector_.connect(*opts_.unix_socket, copts, done);
  else connector_.connect(url.host, url.effective_port(), copts, done);
}

// The Connector's answer: a connected socket, or why there is none.
void Client::connect_done(std::unique_ptr<SocketBufferEvent> bev, const dns::Connector::Result& r) {
  result_.time.dns += r.dns;
  result_.time.connect += r.connect;
  using E = dns::Connector::Error;
  switch (r.error) {
    case E::kNone: break;
    case E::kResolve: return finish(ClientError::kDns, r.message);
    case E::kResolveTimeout:
    case E::kTimeout: return schedule_retry(ClientError::kTimeout, r.message);
    case E::kRefused: return schedule_retry(ClientError::kRefused, r.message);
    case E::kConnect: return schedule_retry(ClientError::kConnectFailed, r.message);
  }
  conn_ = std::move(bev);
  if (req_.url.scheme != "https") return send_request();
  state_ = State::kTlsHandshake;
  phase_started_ = std::chrono::steady_clock::now();
  std::string why;
  std::unique_ptr<BufferEvent> tls = opts_.tls->wrap(std::move(conn_), req_.url.host, 0, &why);
  if (!tls) return finish(ClientError::kTls, "TLS with " + req_.url.host_header() + ": " + why);
  conn_ = std::move(tls);
  conn_->setcb(nullptr, nullptr, [this](BufferEvent&, short what) { on_handshake_event(what); });
  conn_->enable(kRead | kWrite);
  if (opts_.connect_timeout) connect_timer_.add(*opts_.connect_timeout);
}

void Client::on_handshake_event(short what) {
  connect_timer_.del();
  mark(result_.time.tls, phase_started_);
  if (what & BufferEvent::kConnected) {
    trace_info("TLS handshake with %s done", req_.url.host.c_str());
    return send_request();
  }
  std::string why = conn_->error_detail();
  finish(ClientError::kTls, "TLS handshake with " + req_.url.host_header() + ": " + (why.empty() ? "TLS failure" : why));
}

void Client::schedule_retry(ClientError kind, const std::string& why) {
  if (result_.retries >= opts_.retries) return finish(kind, why);
  Duration delay = opts_.retry_delay;
  for (int i = 0; i < result_.retries && delay < kMaxRetryDelay; ++i) delay *= 2;
  delay = std::min(delay, kMaxRetryDelay);
  ++result_.retries;
  trace_info("%s; retry %d of %d in %s", why.c_str(), result_.retries, opts_.retries,
             format_duration(delay).c_str());
  resume_ev_.del();
  stream_ev_.del();
  total_timer_.del();  // each attempt has its own
  conn_.reset();
  paused_ = false;
  body_.drain(body_.length());
  state_ = State::kBackoff;
  retry_timer_.add(delay);
}

// ---- timers -----------------------------------------------------------

// The attempt's time is up. Retried (with --retries) when nothing of the
// final response has reached the caller yet and the body can be sent again.
void Client::on_total_timeout(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  std::string why = "timed out after " + format_duration(*c->opts_.total_timeout);
  bool nothing_delivered = c->state_ != State::kReadingBody && c->state_ != State::kIdle;
  if (nothing_delivered && c->req_.body.replayable() && c->result_.retries < c->opts_.retries) {
    c->connector_.cancel();  // not from inside its callback: this is a timer's
    c->connect_timer_.del();
    return c->schedule_retry(ClientError::kTimeout, why);
  }
  c->finish(ClientError::kTimeout, why);
}

void Client::on_connect_timeout(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  c->mark(c->result_.time.tls, c->phase_started_);
  c->finish(ClientError::kTimeout, "TLS handshake timed out");
}

// Every attempt (the first, then each retry) gets the whole of
// total_timeout; redirects within an attempt share it.
void Client::on_retry(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  if (c->opts_.total_timeout) c->total_timer_.add(*c->opts_.total_timeout);
  c->begin_attempt();
}

// ---- completion ---------------------------------------------------------

void Client::finish(ClientError error, std::string message) {
  auto conn = std::move(conn_);  // freed after the callback: it may be running now
  cancel();
  result_.error = error;
  result_.message = std::move(message);
  result_.time.total = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
  auto on_complete = std::move(handlers_.on_complete);
  handlers_.on_complete = nullptr;
  if (on_complete) on_complete(result_);
}

}  // namespace ev::http
