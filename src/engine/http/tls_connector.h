// The OpenSSL TlsConnector for http::Client: wraps a connected TCP
// BufferEvent in a TlsBufferEvent that checks the URL's host (SNI, chain
// and name verification as the context says, ALPN http/1.1).
#pragma once

#include <memory>
#include <string>

#include "engine/http/client.h"
#include "engine/tls/context.h"

namespace ev::http {

// The client context (verify unless insecure, an extra CA file, ALPN
// http/1.1) is made on the first https:// connection: loading the trust
// store costs time and memory a plain http:// transfer should not pay.
class OpenSslConnector final : public TlsConnector {
 public:
  OpenSslConnector(bool insecure, std::string ca_file) : insecure_(insecure), ca_file_(std::move(ca_file)) {}

  std::unique_ptr<BufferEvent> wrap(std::unique_ptr<BufferEvent> tcp, const Uri& url, std::string* why) override;
  std::string error(BufferEvent& tls) override;

 private:
  bool insecure_;
  std::string ca_file_;
  std::shared_ptr<tls::Context> ctx_;
};

}  // namespace ev::http
