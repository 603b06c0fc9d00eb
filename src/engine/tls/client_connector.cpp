#include "engine/tls/client_connector.h"

namespace ev::tls {

std::unique_ptr<TlsBufferEvent> ClientConnector::wrap(std::unique_ptr<BufferEvent> tcp, std::string_view host,
                                                      int options, std::string* why) {
  if (!ctx_ && !(ctx_ = Context::client(config_, why))) return nullptr;
  return TlsBufferEvent::wrap(std::move(tcp), ctx_, TlsBufferEvent::Mode::kConnecting, host, options, why);
}

}  // namespace ev::tls
