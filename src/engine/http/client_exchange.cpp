// Client: one exchange on a connection. The request head and body go out
// (a stream body chunked, as it is read), the response head is parsed,
// its body decoded into body_ (with back-pressure) or discarded when it
// is a redirect being followed; then the connection goes back to the pool.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/http/client.h"
#include "engine/http/detail/connection_pool.h"
#include "engine/util/ascii.h"
#include "engine/util/base64.h"

namespace ev::http {
namespace {

// A stream body is read while the connection's output holds less than this.
constexpr std::size_t kStreamHigh = 1024 * 1024;
constexpr std::size_t kStreamLow = 256 * 1024;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "user:pass" (percent-encoded, as in the URL) -> the Basic credentials.
std::string basic_credentials(const std::string& userinfo) {
  std::string::size_type colon = userinfo.find(':');
  std::string user = userinfo.substr(0, colon);
  std::string pass = colon == std::string::npos ? "" : userinfo.substr(colon + 1);
  std::string plain = percent_decode(user).value_or(user) + ":" + percent_decode(pass).value_or(pass);
  return "Basic " + base64_encode(plain);
}

bool same_origin(const Uri& a, const Uri& b) {
  return a.scheme == b.scheme && a.host == b.host && a.effective_port() == b.effective_port();
}

}  // namespace

std::string Client::request_head() const {
  const Uri& url = req_.url;
  const Headers& given = req_.headers;
  std::string h = req_.method + " " + url.request_target() + " HTTP/1.1\r\n";
  auto field = [&h](std::string_view name, std::string_view value) {
    h.append(name).append(": ").append(value).append("\r\n");
  };
  auto by_default = [&given, this](std::string_view name) {
    return !given.has(name) && std::none_of(req_.omit.begin(), req_.omit.end(),
                                            [name](const std::string& o) { return ascii_iequals(o, name); });
  };
  if (by_default("Host")) field("Host", url.host_header());
  if (!opts_.user_agent.empty() && by_default("User-Agent")) field("User-Agent", opts_.user_agent);
  if (by_default("Accept")) field("Accept", "*/*");
  if (!url.userinfo.empty() && by_default("Authorization")) field("Authorization", basic_credentials(url.userinfo));
  for (const auto& [name, value] : given) field(name, value);
  bool wants_length = !req_.body.empty() || req_.method == "POST" || req_.method == "PUT" || req_.method == "PATCH";
  if (wants_length && !given.has("Content-Length") && !given.has("Transfer-Encoding")) {
    if (auto length = req_.body.length()) field("Content-Length", std::to_string(*length));
    else field("Transfer-Encoding", "chunked");
  }
  return h + "\r\n";
}

void Client::send_request() {
  state_ = State::kWaitingHead;
  head_ = ResponseHead{};
  got_bytes_ = false;
  following_ = false;
  upload_done_ = true;
  conn_->setcb([this](BufferEvent&) { on_readable(); }, [this](BufferEvent&) { send_stream_chunk(); },
               [this](BufferEvent&, short what) { on_event(what); });
  const std::string head = request_head();
  for (std::size_t pos = 0, end; (end = head.find("\r\n", pos)) != pos; pos = end + 2)
    trace(Trace::kRequestHead, std::string_view(head).substr(pos, end - pos));
  conn_->write(head.data(), head.size());
  if (int fd = req_.body.stream_fd(); fd >= 0) {
    upload_done_ = false;
    conn_->setwatermark(kWrite, kStreamLow, 0);
    stream_ev_.del();
    stream_ev_.assign(base_, fd, kRead | kPersist, &Client::on_stream_readable, this);
    stream_pump_ = stream_ev_.add() != 0;
    if (stream_pump_) {  // a regular file or /dev/null under epoll: always ready
      stream_ev_.assign(base_, -1, 0, &Client::on_stream_readable, this);
      stream_ev_.add(Duration(0));
    }
  } else if (!req_.body.append_to(conn_->output())) {
    return finish(ClientError::kIo, std::string("reading the request body: ") + std::strerror(errno));
  }
  conn_->enable(kRead | kWrite);
}

// The connection's output drained: read more of a stream body.
void Client::send_stream_chunk() {
  if (upload_done_ || stream_ev_.pending(kRead | kTimeout)) return;
  if (stream_pump_) stream_ev_.add(Duration(0));
  else stream_ev_.add();
}

void Client::on_stream_readable(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  char buf[64 * 1024];
  ssize_t n = ::read(c->req_.body.stream_fd(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    if (c->stream_pump_) c->stream_ev_.add(Duration(1000));
    return;
  }
  if (n < 0) return c->finish(ClientError::kIo, std::string("reading the request body: ") + std::strerror(errno));
  Buffer& out = c->conn_->output();
  if (n == 0) {
    c->stream_ev_.del();
    c->upload_done_ = true;
    out.add("0\r\n\r\n");
    return;
  }
  out.add_printf("%zx\r\n", static_cast<std::size_t>(n));
  out.add(buf, static_cast<std::size_t>(n));
  out.add("\r\n");
  if (out.length() >= kStreamHigh) c->stream_ev_.del();  // the write callback resumes it
  else if (c->stream_pump_) c->stream_ev_.add(Duration(0));
}

// ---- the response -------------------------------------------------------

void Client::on_readable() {
  if (state_ == State::kWaitingHead && !read_head()) return;
  if (state_ == State::kReadingBody) read_body();
}

// True once a final head is parsed and its body may be read.
bool Client::read_head() {
  Buffer& in = conn_->input();
  if (!got_bytes_ && !in.empty()) {
    got_bytes_ = true;
    result_.time.ttfb = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
  }
  for (;;) {
    head_ = ResponseHead{};
    ParseResult r = parse_response_head(in, opts_.limits, head_);
    if (r.code == ParseResult::kIncomplete) return false;
    if (r.code == ParseResult::kError)
      return fail(ClientError::kMalformed, "malformed response from " + req_.url.host_header() + ": " + r.why);
    trace(Trace::kResponseHead, "HTTP/" + std::to_string(head_.version_major) + "." + std::to_string(head_.version_minor) +
                                    " " + std::to_string(head_.status) + " " + head_.reason);
    for (const auto& [name, value] : head_.headers) trace(Trace::kResponseHead, name + ": " + value);
    if (head_.status < 100 || head_.status >= 200 || head_.status == 101) break;
    // 100 Continue, 103 Early Hints: informational, the real head follows.
  }
  BodyFraming framing;
  ParseResult r = response_framing(head_, req_.method, framing);
  if (r.code == ParseResult::kError || head_.status == 101)
    return fail(ClientError::kMalformed, "malformed response from " + req_.url.host_header() + ": " +
                                             (head_.status == 101 ? "unexpected 101" : r.why));
  result_.status = head_.status;
  following_ = opts_.follow_redirects && is_redirect(head_.status) && head_.headers.has("Location");
  bool too_many = following_ && result_.redirects >= opts_.max_redirects;
  if (too_many) following_ = false;
  decoder_.reset(framing, opts_.limits.max_body_size);
  state_ = State::kReadingBody;
  if (handlers_.on_head) {
    auto alive = alive_;
    handlers_.on_head(req_.url, head_, following_);
    if (!*alive || state_ != State::kReadingBody) return false;
  }
  if (too_many)
    return fail(ClientError::kTooManyRedirects,
                "maximum of " + std::to_string(opts_.max_redirects) + " redirects reached");
  return true;
}

// Decodes what has arrived; false when the exchange ended or reading paused.
bool Client::read_body() {
  if (!following_ && body_.length() >= kBodyHigh) {
    paused_ = true;
    conn_->disable(kRead);
    return false;
  }
  Buffer& out = following_ ? discard_ : body_;
  ParseResult r = decoder_.decode(conn_->input(), out);
  discard_.drain(discard_.length());
  if (r.code == ParseResult::kError)
    return fail(ClientError::kMalformed, "malformed body from " + req_.url.host_header() + ": " + r.why);
  if (!following_ && !body_.empty() && handlers_.on_body) {
    auto alive = alive_;
    handlers_.on_body(body_);
    if (!*alive || state_ != State::kReadingBody) return false;
  }
  if (r.code == ParseResult::kDone) {
    body_complete(upload_done_ && conn_->input().empty() && conn_->output().empty() && head_.keep_alive());
    return false;
  }
  if (!following_ && body_.length() >= kBodyHigh) {
    paused_ = true;
    conn_->disable(kRead);
    return false;
  }
  return true;
}

void Client::on_resume(int, short, void* arg) {
  auto* c = static_cast<Client*>(arg);
  if (!c->paused_ || c->state_ != State::kReadingBody) return;
  c->paused_ = false;
  if (c->read_body()) c->conn_->enable(kRead);
}

void Client::on_event(short what) {
  if ((what & BufferEvent::kEof) && state_ == State::kReadingBody) {
    Buffer& out = following_ ? discard_ : body_;
    ParseResult r = decoder_.decode(conn_->input(), out, true);
    discard_.drain(discard_.length());
    if (!following_ && !body_.empty() && handlers_.on_body) {
      auto alive = alive_;
      handlers_.on_body(body_);
      if (!*alive || state_ != State::kReadingBody) return;
    }
    if (r.code == ParseResult::kDone) return body_complete(false);
    return finish(ClientError::kMalformed, "connection closed after " + std::to_string(decoder_.decoded()) +
                                               " bytes of the body: " + r.why);
  }
  int err = (what & BufferEvent::kEof) ? 0 : errno;
  if (state_ == State::kWaitingHead && reused_ && !got_bytes_ && !stale_retried_) {
    // The server closed a kept-alive connection as we reused it: a race
    // every client must expect. Once, on a fresh connection.
    stale_retried_ = true;
    trace_info("the kept-alive connection was closed; reconnecting");
    conn_.reset();
    return begin_attempt();
  }
  const std::string peer = req_.url.host_header();
  if (err == 0 && state_ == State::kWaitingHead)
    return finish(got_bytes_ ? ClientError::kMalformed : ClientError::kReset,
                  got_bytes_ ? "connection to " + peer + " closed in the middle of the response head"
                             : "connection to " + peer + " closed without a response");
  bool reset = err == ECONNRESET || err == EPIPE;
  finish(reset ? ClientError::kReset : ClientError::kIo,
         "connection to " + peer + ": " + std::strerror(err ? err : ECONNRESET));
}

void Client::body_complete(bool reusable) {
  if (!following_) result_.body_size = decoder_.decoded();
  stream_ev_.del();
  if (reusable && req_.body.replayable()) pool_->put(origin_key(), std::move(conn_));
  else conn_.reset();  // may be the BufferEvent running this callback: allowed
  if (following_) return follow_redirect();
  finish(ClientError::kOk, {});
}

void Client::follow_redirect() {
  const std::string location(head_.headers.get("Location"));
  std::optional<Uri> next = req_.url.resolve(location);
  if (!next || (next->scheme != "http" && next->scheme != "https") || next->host.empty())
    return finish(ClientError::kMalformed, "cannot follow the redirect to '" + location + "'");
  const int status = head_.status;
  if (status == 301 || status == 302 || status == 303) {
    if (req_.method != "HEAD") req_.method = "GET";
    req_.body = RequestBody();
    for (const char* name : {"Content-Type", "Content-Length", "Transfer-Encoding"}) req_.headers.remove(name);
  } else if (!req_.body.replayable()) {
    return finish(ClientError::kUnsupported, "cannot send a streamed body again for a " + std::to_string(status) +
                                                 " redirect");
  }
  if (!same_origin(req_.url, *next)) {
    // Credentials are for the origin they were given for.
    req_.headers.remove("Authorization");
    req_.headers.remove("Cookie");
  } else if (next->userinfo.empty()) {
    next->userinfo = req_.url.userinfo;
  }
  ++result_.redirects;
  trace_info("following the %d redirect to %s", status, next->to_string().c_str());
  req_.url = std::move(*next);
  result_.url = req_.url;
  begin_attempt();
}

}  // namespace ev::http
