#include "engine/http/detail/connection.h"

#include <algorithm>
#include <chrono>

#include "engine/util/ascii.h"
#include "engine/util/socket.h"

namespace ev::http::detail {
namespace {

// Pipelined requests are parsed only while the replies before them hold
// less than this in memory, so a client that sends many requests and
// reads nothing cannot make the server buffer their replies.
constexpr std::size_t kPipelineOutputLimit = 256 * 1024;
// Input held at most: a whole head plus some body, then reading pauses.
constexpr std::size_t kInputSlack = 64 * 1024;
// Large files go out in sendfile calls of up to this much (nginx's
// sendfile_max_chunk): fewer loop rounds per megabyte.
constexpr std::size_t kMaxWritePerCall = 2 * 1024 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);

}  // namespace

Connection::Connection(Server& server, std::unique_ptr<BufferEvent> bev, int fd, const SocketAddress& peer,
                       bool reject)
    : server_(server), fd_(fd), bev_(std::move(bev)), reject_(reject) {
  req_.conn_ = this;
  req_.peer_ = peer;
}

Connection::~Connection() = default;

void Connection::start() {
  // A reply's last partial segment must not wait for the ACK of the ones
  // before it (Nagle's algorithm against delayed ACKs: 40 ms per reply).
  make_tcp_nodelay(fd_);
  bev_->input().set_keep_drained_tail(false);
  bev_->output().set_keep_drained_tail(false);
  bev_->setcb([this](BufferEvent& b) { on_read(b, this); }, [this](BufferEvent&) { on_drained(); },
              [this](BufferEvent&, short what) { on_event(what); });
  bev_->setwatermark(kRead, 0, 2 * server_.settings_.limits.max_header_size + kInputSlack);  // a start line and fields
  bev_->set_timeouts(server_.settings_.timeout, server_.settings_.timeout);
  bev_->set_max_single_write(kMaxWritePerCall);
  bev_->enable(kRead | kWrite);
}

void Connection::on_read(BufferEvent& bev, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->state_ == State::kLinger) {
    bev.input().drain(bev.input().length());
    return;
  }
  c->process();
}

// Parses and dispatches as many requests as the input holds, one at a time.
void Connection::process() {
  if (processing_) return;
  processing_ = true;
  Buffer& in = bev_->input();
  while (true) {
    if (state_ == State::kHead) {
      if (in.empty() || output().length() > kPipelineOutputLimit || shutting_down_) break;
      ParseResult r = parse_request_head(in, server_.settings_.limits, req_.head_);
      if (r.code == ParseResult::kIncomplete) break;
      if (r.code == ParseResult::kError) {
        fail(r.status, r.why);
        break;
      }
      if (!begin_request()) break;
    }
    if (state_ != State::kBody) break;
    ParseResult r = decoder_.decode(in, req_.body_);
    if (r.code == ParseResult::kIncomplete) break;
    if (r.code == ParseResult::kError) {
      fail(r.status, r.why);
      break;
    }
    state_ = State::kHandling;
    if (reject_) {
      req_.set_close();
      req_.send_error(503, "too many connections");
    } else {
      server_.dispatch(req_);
    }
  }
  processing_ = false;
  watch_header_time();
}

// Arms the head deadline when a head has begun but is not complete, and
// drops it once the head is parsed. Requests that arrive whole (nearly
// all) never touch the timer.
void Connection::watch_header_time() {
  bool partial_head = state_ == State::kHead && !bev_->input().empty();
  if (partial_head) {
    if (!header_timer_.initialized()) header_timer_.assign_timer(server_.base_, &Connection::on_header_timeout, this);
    if (!header_timer_.pending(kTimeout)) header_timer_.add(server_.settings_.timeout);
  } else if (header_timer_.initialized() && header_timer_.pending(kTimeout)) {
    header_timer_.del();
  }
}

void Connection::on_header_timeout(int, short, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->state_ != State::kHead || c->bev_->input().empty()) return;
  c->fail(408, "request head not received in time");
  c->peer_eof_ = true;  // do not linger for more input
}

// Checks a parsed head; false after answering an error.
bool Connection::begin_request() {
  any_request_ = true;
  head_parsed_ = true;
  const RequestHead& head = req_.head_;
  std::optional<Uri> uri = head.target == "*"          ? std::optional<Uri>(Uri{})
                          : head.target.starts_with('/') ? Uri::parse_origin_form(head.target)
                                                         : Uri::parse(head.target);
  if (!uri || (head.target.front() != '/' && head.target != "*" && uri->scheme.empty())) {
    fail(400, "invalid request target");
    return false;
  }
  req_.uri_ = std::move(*uri);
  std::size_t hosts = head.headers.count("Host");
  if (hosts > 1 || (hosts == 0 && head.version_minor >= 1)) {
    fail(400, hosts ? "more than one Host field" : "no Host field");
    return false;
  }
  BodyFraming framing;
  ParseResult r = request_framing(head, framing);
  if (r.code == ParseResult::kError) {
    fail(r.status, r.why);
    return false;
  }
  const auto& allowed = server_.settings_.allowed_methods;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), head.method) == allowed.end()) {
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    fail(405, "method not allowed", allow);
    return false;
  }
  if (!expect_continue(framing)) return false;
  decoder_.reset(framing, server_.settings_.limits.max_body_size);
  state_ = State::kBody;
  if (framing.kind != BodyFraming::kNone) watch_body_rate();
  return true;
}

// The body's clock starts now; after the grace time it is checked every
// second against the minimum rate.
void Connection::watch_body_rate() {
  if (!server_.settings_.min_body_rate) return;
  if (!body_timer_) {
    body_timer_ = std::make_unique<Event>();
    body_timer_->assign_timer(server_.base_, &Connection::on_body_check, this);
  }
  body_started_ = std::chrono::steady_clock::now();
  body_timer_->add(server_.settings_.timeout);
}

void Connection::on_body_check(int, short, void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->state_ != State::kBody) return;
  const ServerSettings& s = c->server_.settings_;
  auto elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - c->body_started_);
  double late = std::chrono::duration<double>(elapsed - s.timeout).count();
  double required = static_cast<double>(s.min_body_rate) * std::max(0.0, late);
  if (static_cast<double>(c->req_.body_.length()) + 1 < required) {
    c->fail(408, "request body too slow");
    c->peer_eof_ = true;  // do not linger for more input
    return;
  }
  c->body_timer_->add(std::chrono::seconds(1));
}

// `Expect: 100-continue`: say 413 before the body is sent, or invite it.
bool Connection::expect_continue(const BodyFraming& framing) {
  const std::string* expect = req_.head_.headers.find("Expect");
  if (!expect) return true;
  if (!ascii_iequals(*expect, "100-continue")) {
    fail(417, "unsupported expectation");
    return false;
  }
  if (framing.kind == BodyFraming::kLength && framing.length > server_.settings_.limits.max_body_size) {
    fail(413, "body too large");
    return false;
  }
  if (req_.head_.version_minor >= 1 && framing.kind != BodyFraming::kNone && bev_->input().empty() && !reject_)
    output().add("HTTP/1.1 100 Continue\r\n\r\n");
  return true;
}

void Connection::fail(int status, const char* why, std::string_view allow) {
  // For the log: no request line unless this request's head was parsed
  // (a 413 after Expect: 100-continue logs the real one).
  if (state_ == State::kHead && !head_parsed_) req_.head_ = RequestHead{};
  state_ = State::kHandling;
  req_.close_ = true;
  if (!allow.empty()) req_.reply_headers().set("Allow", allow);
  req_.send_error(status, why);
}

void Connection::reply_done(Request& req) {
  if (server_.log_) {
    Buffer& out = output();
    AccessRecord rec{req.peer_, req.head_.method, req.head_.target, req.head_.version_minor, req.status_,
                     0, req.body_bytes_, false};
    unlogged_.push_back({std::move(rec), req.body_begin_, out.drained_total() + out.length()});
    log_sent();
  }
  // After the peer's EOF, requests it sent before are still answered;
  // once none is left, the connection ends.
  bool close = req.close_ || !req.head_.keep_alive() || shutting_down_ || !decoder_.done() ||
               (peer_eof_ && bev_->input().empty());
  if (close) return linger();
  req_.reset();
  state_ = State::kHead;
  head_parsed_ = false;
  if (!(bev_->enabled() & kRead)) bev_->enable(kRead);
  if (!processing_) process();  // a reply sent later: go on with pipelined input
}

// Half-close once the reply is out, then drop input until EOF or timeout.
void Connection::linger() {
  state_ = State::kLinger;
  bev_->input().drain(bev_->input().length());
  bev_->set_timeouts(std::chrono::duration_cast<Duration>(kLingerTime), server_.settings_.timeout);
  if (bev_->flush(kWrite, BufferEvent::Flush::Finished) == 0 && peer_eof_) destroy();
}

void Connection::log_sent() {
  std::uint64_t gone = output().drained_total();
  std::size_t n = 0;
  for (; n < unlogged_.size() && unlogged_[n].end <= gone; ++n) {
    AccessRecord& rec = unlogged_[n].rec;
    rec.body_bytes = rec.body_size;
    rec.complete = true;
    server_.logged(rec);
  }
  unlogged_.erase(unlogged_.begin(), unlogged_.begin() + static_cast<std::ptrdiff_t>(n));
}

// The connection ends: whatever was not handed to the socket never will be.
void Connection::log_all_pending() {
  log_sent();
  std::uint64_t gone = output().drained_total();
  for (Unlogged& u : unlogged_) {
    std::uint64_t sent = gone > u.body_begin ? gone - u.body_begin : 0;
    u.rec.body_bytes = std::min(sent, u.rec.body_size);
    server_.logged(u.rec);
  }
  unlogged_.clear();
}

void Connection::on_drained() {
  if (!unlogged_.empty()) log_sent();
  if (state_ == State::kLinger) {
    if (peer_eof_) destroy();
    return;
  }
  if (state_ == State::kHead && !bev_->input().empty()) process();
}

// True while a reply is still on its way out (in any layer).
bool Connection::sending() {
  for (BufferEvent* b = bev_.get(); b; b = b->underlying())
    if (!b->output().empty()) return true;
  return false;
}

void Connection::on_event(short what) {
  if (what & BufferEvent::kEof) return on_peer_eof();
  // A timeout means no progress. A client that reads a long reply sends
  // nothing meanwhile: its silence is not idleness while the reply still
  // moves (the write timeout watches that), so reading goes on.
  if ((what & BufferEvent::kTimedOut) && (what & BufferEvent::kReading) && state_ != State::kLinger && sending()) {
    bev_->enable(kRead);
    return;
  }
  bool mid_request = state_ == State::kBody || (state_ == State::kHead && !bev_->input().empty());
  if ((what & BufferEvent::kTimedOut) && (what & BufferEvent::kReading) && mid_request) {
    bev_->enable(kWrite);
    fail(408, "request timed out");
    peer_eof_ = true;  // do not linger for more input
    return;
  }
  // A layer that failed before any request (a TLS handshake with a peer
  // that speaks plain HTTP, say) says why; the server's owner may log it.
  if ((what & BufferEvent::kError) && !any_request_ && server_.error_) {
    std::string why = bev_->error_detail();
    if (!why.empty()) server_.error_(req_.peer_, why);
  }
  destroy();
}

// The peer half-closed (or closed): what it asked before is still
// answered and written, then the connection ends.
void Connection::on_peer_eof() {
  peer_eof_ = true;
  if (state_ == State::kHandling) return;  // reply_done() ends it
  if (state_ == State::kLinger) {
    if (output().empty()) destroy();
    return;
  }
  if (state_ == State::kHead && !bev_->input().empty()) {
    process();  // complete pipelined requests
    if (state_ != State::kHead) return;
  }
  if (output().empty()) return destroy();
  linger();
}

void Connection::shutdown() {
  shutting_down_ = true;
  bool idle = state_ == State::kHead && bev_->input().empty() && output().empty();
  if (idle) destroy();
}

// Unlinks from the server, which frees us from the loop shortly: until
// then no callback of ours may run again.
void Connection::destroy() {
  if (closed_) return;
  closed_ = true;
  if (!unlogged_.empty()) log_all_pending();
  header_timer_.del();
  if (body_timer_) body_timer_->del();
  bev_->setcb(nullptr, nullptr, nullptr);
  bev_->disable(kRead | kWrite);
  server_.closed(this);
}

}  // namespace ev::http::detail
