// Client: starting requests, resolving, connecting (each address in turn,
// retries with backoff), TLS hand-off, timeouts and completion. The
// exchange itself (request out, response in) is in client_exchange.cpp.
#include "engine/http/client.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "engine/http/detail/connection_pool.h"
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
    : base_(base), opts_(std::move(options)), pool_(std::make_unique<detail::ConnectionPool>(opts_.max_idle)) {
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
  if (opts_.total_timeout) total_timer_.add(*opts_.total_timeout);
  // Begin from the loop, so that even an immediate failure reaches
  // on_complete after start() has returned.
  state_ = State::kBackoff;
  retry_timer_.add(Duration(0));
}

void Client::cancel() {
  if (dns_request_ && opts_.resolver) opts_.resolver->cancel(dns_request_);
  dns_request_ = nullptr;
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
  addrs_.clear();
  next_addr_ = 0;
  last_errno_ = 0;
  if (auto ip = parse_ip(url.host, url.effective_port())) {
    addrs_.push_back(*ip);
    return connect_next();
  }
  resolve();
}

void Client::resolve() {
  const std::string host = req_.url.host;
  const int port = req_.url.effective_port();
  if (!opts_.resolver) {
    if (host == "localhost") {
      addrs_ = {*parse_ip("127.0.0.1", port), *parse_ip("::1", port)};
      return connect_next();
    }
    return finish(ClientError::kDns, "cannot resolve '" + host + "': no resolver");
  }
  state_ = State::kResolving;
  phase_started_ = std::chrono::steady_clock::now();
  trace_info("resolving %s", host.c_str());
  dns_request_ = opts_.resolver->getaddrinfo(host, port, AF_UNSPEC, [this, host, port](int err, const auto& addrs) {
    dns_request_ = nullptr;
    mark(result_.time.dns, phase_started_);
    addrs_ = addrs;
    if (addrs_.empty() && host == "localhost")  // no hosts file: the usual loopbacks
      addrs_ = {*parse_ip("127.0.0.1", port), *parse_ip("::1", port)};
    if (!addrs_.empty()) return connect_next();
    std::string why = "cannot resolve '" + host + "': " + dns::dns_err_to_string(err);
    if (err == dns::kErrTimeout) return schedule_retry(ClientError::kTimeout, why);
    finish(ClientError::kDns, why);
  });
}

// Starts connecting to the next address; when none is left, the attempt failed.
void Client::connect_next() {
  state_ = State::kConnecting;
  conn_.reset();
  while (next_addr_ < addrs_.size()) {
    const SocketAddress& addr = addrs_[next_addr_++];
    trace_info("connecting to %s", addr.to_string().c_str());
    phase_started_ = std::chrono::steady_clock::now();
    conn_ = BufferEvent::socket(base_, -1, BufferEvent::kCloseOnFree);
    conn_->setcb(nullptr, nullptr, [this](BufferEvent&, short what) { on_connect_event(what); });
    if (conn_->connect(addr) == 0) {
      if (opts_.connect_timeout) connect_timer_.add(*opts_.connect_timeout);
      return;
    }
    last_errno_ = errno;
    trace_info("%s: %s", addr.to_string().c_str(), std::strerror(last_errno_));
  }
  conn_.reset();
  connect_failed();
}

void Client::on_connect_event(short what) {
  connect_timer_.del();
  if (state_ == State::kTlsHandshake) {
    if (what & BufferEvent::kConnected) {
      mark(result_.time.tls, phase_started_);
      trace_info("TLS handshake with %s done", req_.url.host.c_str());
      return send_request();
    }
    return finish(ClientError::kTls, "TLS handshake with " + req_.url.host_header() + ": " + opts_.tls->error(*conn_));
  }
  mark(result_.time.connect, phase_started_);
  if (what & BufferEvent::kConnected) return connected();
  last_errno_ = errno ? errno : ECONNREFUSED;
  trace_info("%s: %s", addrs_[next_addr_ - 1].to_string().c_str(), std::strerror(last_errno_));
  connect_next();  // destroys the BufferEvent running this callback: allowed
}

void Client::connected() {
  trace_info("connected to %s", addrs_[next_addr_ - 1].to_string().c_str());
  if (req_.url.scheme != "https") return send_request();
  state_ = State::kTlsHandshake;
  phase_started_ = std::chrono::steady_clock::now();
  std::string why;
  std::unique_ptr<BufferEvent> tls = opts_.tls->wrap(std::move(conn_), req_.url, &why);
  if (!tls) return finish(ClientError::kTls, "TLS with " + req_.url.host_header() + ": " + why);
  conn_ = std::move(tls);
  conn_->setcb(nullptr, nullptr, [this](BufferEvent&, short what) { on_connect_event(what); });
  conn_->enable(kRead | kWrite);
  if (opts_.connect_timeout) connect_timer_.add(*opts_.connect_timeout);
}

void Client::connect_failed() {
  const Uri& url = req_.url;
  std::string target = addrs_.size() == 1 ? addrs_.front().to_string()
                                           : url.host + " port " + std::to_string(url.effective_port());
  if (last_errno_ == ETIMEDOUT) return schedule_retry(ClientError::kTimeout, "connect to " + target + ": timed out");
  ClientError kind = last_errno_ == ECONNREFUSED ? ClientError::kRefused : ClientError::kConnectFailed;
  schedule_retry(kind, "connect to " + target + ": " + std::strerror(last_errno_ ? last_errno_ : ECONNREFUSED));
}

void Client::schedule_retry(ClientError kind, const std::string& why) {
  if (result_.retries >= opts_.retries) return finish(kind, why);
  Duration delay = opts_.retry_delay;
  for (int i = 0; i < result_.retries && delay < kMaxRetryDelay; ++i) delay *= 2;
  delay = std::min(delay, kMaxRetryDelay);
  ++result_.retries;
  trace_info("%s; retry %d of %d in %s", why.c_str(), result_.retries, opts_.retries,
             format_duration(delay).c_str());
  conn_.reset();
  state_ = State::kBackoff;
  retry_timer_.add(delay);
}

// ---- timers -----------------------------------------------------------

void Client::on_total_timeout(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  c->finish(ClientError::kTimeout, "timed out after " + format_duration(*c->opts_.total_timeout));
}

void Client::on_connect_timeout(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  c->mark(c->result_.time.connect, c->phase_started_);
  if (c->state_ == State::kTlsHandshake) return c->finish(ClientError::kTimeout, "TLS handshake timed out");
  c->last_errno_ = ETIMEDOUT;
  c->trace_info("%s: connect timed out", c->addrs_[c->next_addr_ - 1].to_string().c_str());
  c->connect_next();
}

void Client::on_retry(int, short, void* arg) { static_cast<Client*>(arg)->begin_attempt(); }

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
