#include "engine/tls/tls_buffer_event.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/io/socket_buffer_event.h"
#include "engine/util/sockaddr.h"

namespace ev::tls {

// A BIO over the underlying BufferEvent's buffers: records are read from
// its input and written to its output, so the TLS layer never touches a
// socket and works over any BufferEvent.
struct detail::BioTarget {
  BufferEvent* under = nullptr;
  bool eof = false;  // the underlying reported EOF: reads return 0
};

namespace {

using detail::BioTarget;

constexpr std::size_t kRecord = 16 * 1024;         // plaintext per SSL_write / SSL_read
constexpr std::size_t kWireHigh = 256 * 1024;      // ciphertext queued beneath before we stop encrypting
constexpr std::size_t kWireLow = 64 * 1024;        // ... and start again

int bio_write(BIO* bio, const char* data, int len) {
  auto* t = static_cast<BioTarget*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (len <= 0) return 0;
  if (t->under->output().add(data, static_cast<std::size_t>(len)) != 0) return -1;
  return len;
}

int bio_read(BIO* bio, char* out, int len) {
  auto* t = static_cast<BioTarget*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  Buffer& in = t->under->input();
  if (in.empty()) {
    if (t->eof) return 0;
    BIO_set_retry_read(bio);
    return -1;
  }
  return static_cast<int>(in.remove(out, static_cast<std::size_t>(len)));
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* buffer_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "evtool buffer");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// Host-name (or IP) verification and SNI for a client session.
bool set_peer_name(SSL* ssl, const std::string& host, bool verify) {
  if (host.empty()) return true;
  bool ip = parse_ip(host).has_value();
  if (!ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  if (!verify) return true;
  if (ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace


std::unique_ptr<TlsBufferEvent> TlsBufferEvent::wrap(std::unique_ptr<BufferEvent> underlying,
                                                     std::shared_ptr<Context> ctx, Mode mode, std::string_view host,
                                                     int options, std::string* why) {
  SSL* ssl = ctx->new_session();
  if (!ssl) {
    *why = error_queue_string("cannot create a TLS session");
    return nullptr;
  }
  if (mode == Mode::kConnecting && !set_peer_name(ssl, std::string(host), ctx->verify())) {
    SSL_free(ssl);
    *why = "invalid TLS server name '" + std::string(host) + "'";
    return nullptr;
  }
  std::unique_ptr<TlsBufferEvent> self(new TlsBufferEvent(std::move(underlying), std::move(ctx), ssl, mode, options));
  return self;
}

std::unique_ptr<TlsBufferEvent> TlsBufferEvent::accept_socket(EventBase& base, int fd, std::shared_ptr<Context> ctx,
                                                              int options, std::string* why) {
  auto sock = SocketBufferEvent::create(base, fd, options | kCloseOnFree);
  return wrap(std::move(sock), std::move(ctx), Mode::kAccepting, {}, options, why);
}

TlsBufferEvent::TlsBufferEvent(std::unique_ptr<BufferEvent> under, std::shared_ptr<Context> ctx, SSL* ssl, Mode mode,
                               int options)
    : BufferEvent(under->base(), options),
      under_(std::move(under)),
      ctx_(std::move(ctx)),
      ssl_(ssl),
      bio_(std::make_unique<BioTarget>(BioTarget{under_.get(), false})),
      mode_(mode) {
  BIO* bio = BIO_new(buffer_bio_method());
  BIO_set_data(bio, bio_.get());
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
  if (mode_ == Mode::kConnecting) SSL_set_connect_state(ssl_);
  else SSL_set_accept_state(ssl_);
  // The first flight may be queued before a socket has connected: the
  // socket sends it once it has (its kConnected is not passed on; ours
  // comes after the handshake).
  pump_ev_.assign(base_, -1, 0, &TlsBufferEvent::on_pump, this);
  under_->setcb([this](BufferEvent&) { pump(); }, [this](BufferEvent&) { drained(); },
                [this](BufferEvent&, short what) { underlying_event(what); });
  under_->setwatermark(kWrite, kWireLow, 0);
  under_->enable(kRead | kWrite);
  pump_ev_.activate(kTimeout);  // start the handshake from the loop
}

TlsBufferEvent::~TlsBufferEvent() {
  pump_ev_.del();
  SSL_free(ssl_);
}

void TlsBufferEvent::on_pump(int, short, void* arg) { static_cast<TlsBufferEvent*>(arg)->pump(); }

// Runs the TLS state machine as far as it can go: handshake, then records
// in both directions. Callbacks may destroy us: every step checks.
void TlsBufferEvent::pump() {
  if (pumping_ || failed_) return;
  Guard alive(*this);
  pumping_ = true;
  bool ok = established_ || handshake();
  if (!alive.alive()) return;
  // A read callback usually writes a reply (while we are pumping, so
  // output_changed does not recurse): encrypt it before returning.
  while (ok && established_) {
    std::size_t left = output_.length();
    bool renegotiating = SSL_in_init(ssl_);
    ok = write_records() && read_records();
    if (!alive.alive()) return;
    // Nothing moved (writes wait for a renegotiation that the peer's next
    // bytes advance): looping would never let those bytes in.
    bool moved = output_.length() != left || (renegotiating && !SSL_in_init(ssl_));
    if (!ok || !moved || !(enabled_ & kWrite) || output_.empty() || under_->output().length() >= kWireHigh) break;
  }
  pumping_ = false;
  // A callback run by read_records (a reply, a flush at the peer's EOF)
  // may have left data or a close_notify that this pass did not send, and
  // no drained() may come to send it: one more pass from the loop.
  bool unsent = !output_.empty() || shutdown_pending_;
  if (unsent && established_ && !failed_ && (enabled_ & kWrite) && !SSL_in_init(ssl_) &&
      under_->output().length() < kWireHigh)
    pump_ev_.activate(kTimeout);
}

bool TlsBufferEvent::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    schedule_read_event();  // from now on, read only as the user asks
    if (mode_ == Mode::kConnecting) {
      Guard alive(*this);
      run_eventcb(kConnected);
      if (!alive.alive()) return false;
    }
    return true;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  long vr = SSL_get_verify_result(ssl_);
  if (mode_ == Mode::kConnecting && vr != X509_V_OK) {
    verify_failed_ = true;
    ERR_clear_error();
    fail(std::string("certificate verify failed: ") + X509_verify_cert_error_string(vr));
  } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ||
             bio_->eof) {
    std::string detail = error_queue_string("");
    fail("connection closed during the TLS handshake" + (detail.empty() ? "" : ": " + detail));
  } else {
    fail("TLS handshake failed: " + error_queue_string("unknown error"));
  }
  return false;
}

// Plaintext from our output, encrypted into the underlying output while
// it holds less than kWireHigh (then drained() brings us back).
bool TlsBufferEvent::write_records() {
  // A renegotiation in progress is driven by SSL_read: an SSL_write that
  // ran into the peer's application data meanwhile would fail the
  // connection ("unexpected record").
  if (SSL_in_init(ssl_)) return true;
  while ((enabled_ & kWrite) && !output_.empty() && under_->output().length() < kWireHigh) {
    std::size_t n = std::min(output_.length(), kRecord);
    unsigned char* p = output_.pullup(static_cast<ssize_t>(n));
    if (!p) return fail("cannot read the data to send"), false;
    std::size_t written = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, p, n, &written) != 1) {
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
      return fail("TLS write failed: " + error_queue_string("unknown error")), false;
    }
    output_.drain(written);
  }
  if (output_.empty() && shutdown_pending_) {
    shutdown_pending_ = false;
    SSL_shutdown(ssl_);  // close_notify; the peer's answer is not awaited
    under_->flush(kWrite, Flush::Finished);
  }
  return true;
}

// Records from the underlying input, decrypted into our input while
// reading is enabled and below the high watermark.
bool TlsBufferEvent::read_records() {
  Guard alive(*this);
  std::size_t before = input_.length();
  while ((enabled_ & kRead) && !paused() && !peer_closed_) {
    // Nothing to decrypt: skip the SSL_read that would only say so.
    if (under_->input().empty() && !SSL_has_pending(ssl_) && !bio_->eof) break;
    // Plaintext is never longer than the ciphertext it comes from: size
    // the space to what is there (a small request must not cost 16 KiB).
    std::size_t want = std::max(under_->input().length(), static_cast<std::size_t>(SSL_pending(ssl_)));
    want = std::clamp<std::size_t>(want, 1024, kRecord);
    iovec v[1];
    if (input_.reserve_space(want, v, 1) != 1) break;
    // Never past the high watermark: the rest waits inside OpenSSL.
    if (read_high_) v[0].iov_len = std::min(v[0].iov_len, read_high_ - input_.length());
    std::size_t got = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, v[0].iov_base, v[0].iov_len, &got) == 1) {
      v[0].iov_len = got;
      input_.commit_space(v, 1);
      continue;
    }
    int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;  // close_notify: a clean end
    } else if (bio_->eof &&
               (err == SSL_ERROR_SYSCALL ||
                ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      ERR_clear_error();
      peer_closed_ = dirty_shutdown_ = true;  // closed without close_notify
    } else {
      return fail("TLS read failed: " + error_queue_string("unknown error")), false;
    }
  }
  // Full: the wire waits too (input_changed resumes it), as a socket would.
  if (paused()) under_->disable(kRead);
  if (input_.length() > before && input_.length() >= read_low_) {
    run_readcb();
    if (!alive.alive()) return false;
  }
  if (peer_closed_ && (enabled_ & kRead)) {
    disable(kRead);
    run_eventcb(kReading | kEof);
    return false;
  }
  return true;
}

void TlsBufferEvent::fail(const std::string& why) {
  failed_ = true;
  error_ = why;
  under_->disable(kRead);
  run_eventcb(established_ ? (kReading | kError) : kError);
}

void TlsBufferEvent::underlying_event(short what) {
  if (what & kConnected) return pump();
  if (what & kEof) {
    bio_->eof = true;
    Guard alive(*this);
    pump();  // reads what is left; a handshake in progress fails
    // Full or not reading: what is left is read (and the end seen) later.
    if (!alive.alive() || peer_closed_ || failed_ || !established_ || !(enabled_ & kRead) || paused()) return;
    peer_closed_ = dirty_shutdown_ = true;  // EOF inside a record, or reading disabled
    run_eventcb(kReading | kEof);
    return;
  }
  if (what & kError) {  // the socket left errno for the callback
    int err = errno;
    std::string reason = err ? std::strerror(err) : "connection error";
    error_ = established_ ? reason : "connection failed during the TLS handshake: " + reason;
    errno = err;
  }
  // A timed-out direction is disabled, as on any BufferEvent.
  if ((what & kTimedOut) && (what & kReading)) enabled_ &= static_cast<short>(~kRead);
  if ((what & kTimedOut) && (what & kWriting)) enabled_ &= static_cast<short>(~kWrite);
  run_eventcb(what);
}

void TlsBufferEvent::drained() {
  Guard alive(*this);
  if (!output_.empty() || shutdown_pending_) pump();
  if (!alive.alive()) return;
  // Not during the handshake: a connecting BufferEvent hears of nothing before kConnected.
  if (established_ && output_.length() <= write_low_ && under_->output().length() <= write_low_) run_writecb();
}

int TlsBufferEvent::flush(short iotype, Flush mode) {
  if ((iotype & kWrite) && mode == Flush::Finished && !failed_) {
    shutdown_pending_ = true;
    if (established_) pump();
  }
  // Pending until the close_notify too has been handed to the socket.
  return output_.empty() && under_->output().empty() && !shutdown_pending_ ? 0 : 1;
}

void TlsBufferEvent::schedule_read_event() {
  // Before the handshake ends the layer reads whatever the user enabled.
  if (!established_ || ((enabled_ & kRead) && !paused())) {
    under_->enable(kRead);
    bool eof = bio_->eof;
    if (established_ && (!under_->input().empty() || eof || SSL_has_pending(ssl_))) pump_ev_.activate(kTimeout);
  } else {
    under_->disable(kRead);
  }
}
void TlsBufferEvent::schedule_write_event() {
  if (enabled_ & kWrite) under_->enable(kWrite);  // after a write timeout disabled it
  if (!pumping_ && established_) pump();
}
void TlsBufferEvent::output_changed() {
  if (!pumping_ && established_) pump();
}
void TlsBufferEvent::input_changed() {
  if (!paused()) schedule_read_event();
}

std::string TlsBufferEvent::alpn() const {
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}
std::string TlsBufferEvent::version() const { return SSL_get_version(ssl_); }
std::string TlsBufferEvent::cipher() const {
  const char* c = SSL_get_cipher_name(ssl_);
  return c ? c : "";
}
bool TlsBufferEvent::session_reused() const { return SSL_session_reused(ssl_) == 1; }

}  // namespace ev::tls
