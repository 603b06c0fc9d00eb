#include "engine/tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace ev::tls {
namespace {

// Certificates, keys and CA bundles are read whole by OpenSSL: refuse what
// is not a regular file of sane size (/dev/zero would never end).
constexpr off_t kMaxPemFile = 1024 * 1024;

bool pem_file_ok(const std::string& path, const char* what, std::string* why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *why = std::string("cannot load ") + what + " '" + path + "': " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = std::string("cannot load ") + what + " '" + path + "': not a regular file";
    return false;
  }
  if (st.st_size > kMaxPemFile) {
    *why = std::string("cannot load ") + what + " '" + path + "': larger than 1 MiB";
    return false;
  }
  return true;
}

// ALPN protocol names in wire format: a length byte before each.
std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protos) {
  std::vector<unsigned char> out;
  for (const std::string& p : protos) {
    if (p.empty() || p.size() > 255) continue;
    out.push_back(static_cast<unsigned char>(p.size()));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Partial writes and moving buffers: our records are written from Buffer
  // memory that may move between retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Whole records (and what follows) per BIO read, not header then body.
  SSL_CTX_set_read_ahead(ctx, 1);
  return ctx;
}

}  // namespace

// The server's ALPN choice: its first protocol the client also offers;
// no overlap means no ALPN (not a failed handshake), as nginx does.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
  auto* self = static_cast<Context*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, self->alpn_wire_.data(),
                            static_cast<unsigned>(self->alpn_wire_.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<Context> Context::client(const ClientConfig& config, std::string* why) {
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  if (!ctx) {
    *why = error_queue_string("cannot create a TLS context");
    return nullptr;
  }
  std::shared_ptr<Context> self(new Context(ctx, false, config.verify));
  if (config.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx);
    ERR_clear_error();  // a missing system store is not fatal when a CA file is given
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!config.ca_file.empty() && !pem_file_ok(config.ca_file, "CA file", why)) return nullptr;
  if (!config.ca_file.empty() && SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
    *why = "cannot load CA file '" + config.ca_file + "': " + error_queue_string("unreadable");
    return nullptr;
  }
  std::vector<unsigned char> wire = alpn_wire(config.alpn);
  if (!wire.empty()) SSL_CTX_set_alpn_protos(ctx, wire.data(), static_cast<unsigned>(wire.size()));
  // Clients resume sessions per connection object; no shared cache needed.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return self;
}

std::shared_ptr<Context> Context::server(const ServerConfig& config, std::string* why) {
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  if (!ctx) {
    *why = error_queue_string("cannot create a TLS context");
    return nullptr;
  }
  std::shared_ptr<Context> self(new Context(ctx, true, false));
  if (config.cert && config.key) {
    if (SSL_CTX_use_certificate(ctx, config.cert) != 1 || SSL_CTX_use_PrivateKey(ctx, config.key) != 1) {
      *why = error_queue_string("cannot use the certificate");
      return nullptr;
    }
  } else {
    if (!pem_file_ok(config.cert_file, "certificate", why) || !pem_file_ok(config.key_file, "key", why)) return nullptr;
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
      *why = "cannot load certificate '" + config.cert_file + "': " + error_queue_string("unreadable");
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *why = "cannot load key '" + config.key_file + "': " + error_queue_string("unreadable");
      return nullptr;
    }
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *why = "the key does not match the certificate: " + error_queue_string("mismatch");
    return nullptr;
  }
  static const unsigned char kSessionContext[] = "evtool";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  // Resumption as nginx configures it, without its costs: TLS 1.3 resumes
  // from stateless tickets; TLS 1.2 session IDs live in OpenSSL's cache,
  // bounded (the oldest entry goes when it is full) and never swept as a
  // whole (the automatic sweep walks every cached session each 255
  // handshakes). One ticket per handshake, not two: a client reconnecting
  // uses one, and each costs an encryption and a record.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR);
  SSL_CTX_sess_set_cache_size(ctx, 4096);
  SSL_CTX_set_num_tickets(ctx, 1);
  self->alpn_wire_ = alpn_wire(config.alpn);
  if (!self->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, self.get());
  return self;
}

Context::~Context() { SSL_CTX_free(ctx_); }

SSL* Context::new_session() const { return SSL_new(ctx_); }

std::string error_queue_string(const char* fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    char buf[256];
    if (!reason) {
      ERR_error_string_n(e, buf, sizeof buf);
      reason = buf;
    }
    if (out.find(reason) != std::string::npos) continue;  // the same reason from several layers
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out.empty() ? fallback : out;
}

const char* library_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace ev::tls
