// TlsBufferEvent: a BufferEvent that speaks TLS over another BufferEvent
// (a socket one, or any filter), like libevent's bufferevent_openssl. The
// user sees plaintext with the same callbacks, watermarks and flush as
// any BufferEvent; timeouts and rate limits set on it apply to the
// underlying one (so they count bytes on the wire).
//
// - Connecting mode (clients): kConnected is reported once the handshake
//   has finished and the peer was verified (context verify on): its chain
//   against the trust store, and its name against `host` (a DNS name,
//   also sent as SNI, or an IP literal). Any failure is kError, and
//   error() says what went wrong in one line.
// - Accepting mode (servers): the handshake runs on the first bytes; a
//   peer that sends garbage gets kError with the reason in error().
// - Shutdown: flush(kWrite, Finished) sends close_notify after the
//   pending data. A peer's close_notify is a clean kEof; a peer that just
//   closes the socket is also kEof (OpenSSL 3 calls it an error), but
//   dirty_shutdown() says so, for callers that must tell truncation apart.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/io/buffer_event.h"
#include "engine/tls/context.h"

namespace ev::tls {

namespace detail {
struct BioTarget;
}

class TlsBufferEvent final : public BufferEvent {
 public:
  enum class Mode { kConnecting, kAccepting };

  // Wraps `underlying` (which it owns). For kConnecting over a socket that
  // is still connecting, the handshake starts once it connects. nullptr
  // with *why set if OpenSSL cannot make a session.
  static std::unique_ptr<TlsBufferEvent> wrap(std::unique_ptr<BufferEvent> underlying, std::shared_ptr<Context> ctx,
                                              Mode mode, std::string_view host, int options, std::string* why);
  // A server connection on an accepted socket.
  static std::unique_ptr<TlsBufferEvent> accept_socket(EventBase& base, int fd, std::shared_ptr<Context> ctx,
                                                       int options, std::string* why);
  ~TlsBufferEvent() override;

  BufferEvent* underlying() override { return under_.get(); }
  int flush(short iotype, Flush mode) override;

  bool handshake_done() const { return established_; }
  // Why the last kError happened ("certificate verify failed: ...").
  const std::string& error() const { return error_; }
  std::string error_detail() const override { return error_; }
  bool verify_failed() const { return verify_failed_; }
  bool dirty_shutdown() const { return dirty_shutdown_; }
  // The negotiated ALPN protocol ("" if none), TLS version ("TLSv1.3"),
  // cipher, and whether the session was resumed.
  std::string alpn() const;
  std::string version() const;
  std::string cipher() const;
  bool session_reused() const;
  SSL* native() const { return ssl_; }

 protected:
  void schedule_read_event() override;
  void schedule_write_event() override;
  void output_changed() override;
  void input_changed() override;

 private:
  TlsBufferEvent(std::unique_ptr<BufferEvent> under, std::shared_ptr<Context> ctx, SSL* ssl, Mode mode, int options);
  static void on_pump(int fd, short what, void* arg);
  void pump();
  bool handshake();
  bool read_records();
  bool write_records();
  void fail(const std::string& why);
  void underlying_event(short what);
  void drained();
  bool paused() const { return read_high_ && input_.length() >= read_high_; }

  std::unique_ptr<BufferEvent> under_;
  std::shared_ptr<Context> ctx_;
  SSL* ssl_;
  std::unique_ptr<detail::BioTarget> bio_;  // what the SSL's BIO reads and writes
  Mode mode_;
  Event pump_ev_;
  bool established_ = false;
  bool peer_closed_ = false;  // close_notify or EOF seen
  bool failed_ = false;
  bool verify_failed_ = false;
  bool dirty_shutdown_ = false;
  bool shutdown_pending_ = false;  // send close_notify once output is written
  bool pumping_ = false;
  std::string error_;
};

}  // namespace ev::tls
