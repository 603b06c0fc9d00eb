// TLS contexts: OpenSSL's SSL_CTX behind RAII, configured the way a
// careful client or server wants it (libevent's bufferevent_openssl
// leaves that to the caller, and never checks the peer's host name;
// here it is RFC 6125 host-name checking by default).
//
// - Client: TLS 1.2 and 1.3, the system trust store plus an optional CA
//   file, peer verification on unless `insecure`, ALPN when asked. The
//   host name (or IP) is checked per connection (see TlsBufferEvent).
// - Server: a certificate chain and key from PEM files, or an ephemeral
//   self-signed certificate (certificate.h); session resumption (tickets
//   and a session cache); ALPN "http/1.1" chosen when the client offers it.
//
// Errors come back as one readable line built from OpenSSL's error queue.
#pragma once

#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace ev::tls {

struct ClientConfig {
  bool verify = true;                // false: -k / --insecure
  std::string ca_file;               // extra trust anchors (PEM); empty: system store only
  std::vector<std::string> alpn;     // e.g. {"http/1.1"}; empty: none offered
};

struct ServerConfig {
  std::string cert_file;  // PEM chain (leaf first)
  std::string key_file;   // PEM private key
  // Used instead of the files when set (an ephemeral certificate).
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  std::vector<std::string> alpn;  // protocols to accept, in preference order
};

class Context {
 public:
  // nullptr with *why set when OpenSSL refuses (unreadable file, key not
  // matching the certificate, ...).
  static std::shared_ptr<Context> client(const ClientConfig& config, std::string* why);
  static std::shared_ptr<Context> server(const ServerConfig& config, std::string* why);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool is_server() const { return server_; }
  bool verify() const { return verify_; }
  // A new SSL for one connection, or nullptr.
  SSL* new_session() const;

 private:
  Context(SSL_CTX* ctx, bool server, bool verify) : ctx_(ctx), server_(server), verify_(verify) {}
  SSL_CTX* ctx_;
  bool server_;
  bool verify_;
  std::vector<unsigned char> alpn_wire_;  // server: accepted protocols, wire format
  friend int select_alpn(SSL*, const unsigned char**, unsigned char*, const unsigned char*, unsigned, void*);
};

// Everything on OpenSSL's error queue (which is emptied) as one line, e.g.
// "certificate verify failed; wrong version number"; `fallback` if empty.
std::string error_queue_string(const char* fallback = "TLS error");

// "OpenSSL 3.0.x ..." of the library linked in.
const char* library_version();

}  // namespace ev::tls
