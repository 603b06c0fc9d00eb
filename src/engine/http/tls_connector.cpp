#include "engine/http/tls_connector.h"

#include "engine/tls/tls_buffer_event.h"

namespace ev::http {

std::unique_ptr<BufferEvent> OpenSslConnector::wrap(std::unique_ptr<BufferEvent> tcp, const Uri& url, std::string* why) {
  if (!ctx_) {
    tls::ClientConfig config;
    config.verify = !insecure_;
    config.ca_file = ca_file_;
    config.alpn = {"http/1.1"};
    ctx_ = tls::Context::client(config, why);
    if (!ctx_) return nullptr;
  }
  return tls::TlsBufferEvent::wrap(std::move(tcp), ctx_, tls::TlsBufferEvent::Mode::kConnecting, url.host, 0, why);
}

std::string OpenSslConnector::error(BufferEvent& bev) {
  auto* t = dynamic_cast<tls::TlsBufferEvent*>(&bev);
  return t && !t->error().empty() ? t->error() : "TLS failure";
}

}  // namespace ev::http
