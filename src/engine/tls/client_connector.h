// tls::ClientConnector: puts the client side of TLS over connected
// sockets, for every client of the engine (http::Client, `tcp chat`, later
// WebSocket and RPC): a TlsBufferEvent in connecting mode that sends SNI
// and verifies the peer's chain and name, as the ClientConfig says.
//
// Made from a config, the context (trust store, CA file, ALPN) is loaded on
// the first wrap(): loading the system trust store costs time and memory
// that a run which never speaks TLS should not pay.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/io/buffer_event.h"
#include "engine/tls/context.h"
#include "engine/tls/tls_buffer_event.h"

namespace ev::tls {

class ClientConnector {
 public:
  explicit ClientConnector(ClientConfig config) : config_(std::move(config)) {}
  explicit ClientConnector(std::shared_ptr<Context> ctx) : ctx_(std::move(ctx)) {}

  // Wraps `tcp` (which the result owns). `host` is sent as SNI and
  // verified (a DNS name or an IP literal). kConnected comes once the
  // handshake and the checks passed, else kError with error_detail().
  // nullptr with *why set if the context or the session cannot be made.
  std::unique_ptr<TlsBufferEvent> wrap(std::unique_ptr<BufferEvent> tcp, std::string_view host, int options,
                                       std::string* why);

 private:
  ClientConfig config_;
  std::shared_ptr<Context> ctx_;
};

}  // namespace ev::tls
