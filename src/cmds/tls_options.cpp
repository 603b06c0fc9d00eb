#include "cmds/tls_options.h"

#include "engine/tls/certificate.h"

namespace evtool {

void add_server_tls_flags(CLI::App* cmd, ServerTlsFlags& f) {
  cmd->add_flag("--tls", f.tls, "Speak TLS (an ephemeral self-signed certificate unless --cert/--key)");
  cmd->add_option("--cert", f.cert, "TLS certificate chain (PEM), with --key")->check(CLI::ExistingFile)->option_text("FILE");
  cmd->add_option("--key", f.key, "TLS private key (PEM), with --cert")->check(CLI::ExistingFile)->option_text("FILE");
}

std::shared_ptr<ev::tls::Context> make_server_tls(const Context& ctx, const ServerTlsFlags& f, const std::string& bind,
                                                  std::vector<std::string> alpn, int* rc) {
  if (!f.tls) {
    if (!f.cert.empty() || !f.key.empty()) throw UsageError("--cert and --key need --tls");
    return nullptr;
  }
  if (f.cert.empty() != f.key.empty()) throw UsageError(f.cert.empty() ? "--key needs --cert" : "--cert needs --key");
  ev::tls::ServerConfig config;
  config.alpn = std::move(alpn);
  config.cert_file = f.cert;
  config.key_file = f.key;
  ev::tls::Certificate ephemeral;
  std::string why;
  if (f.cert.empty()) {
    std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
    if (bind != "0.0.0.0" && bind != "::" && bind != "127.0.0.1" && bind != "::1") names.push_back(bind);
    ephemeral = ev::tls::make_self_signed(names, &why);
    if (!ephemeral.cert) {
      ctx.out.error("cannot make a TLS certificate: %s", why.c_str());
      *rc = kExitTls;
      return nullptr;
    }
    config.cert = ephemeral.cert;
    config.key = ephemeral.key;
  }
  auto tls = ev::tls::Context::server(config, &why);
  if (!tls) {
    ctx.out.error("%s", why.c_str());
    *rc = kExitTls;
    return nullptr;
  }
  if (ephemeral.cert)
    ctx.out.info("TLS: ephemeral self-signed certificate, SHA-256 fingerprint %s",
                 ev::tls::sha256_fingerprint(ephemeral.cert).c_str());
  return tls;
}

void add_client_tls_flags(CLI::App* cmd, ClientTlsFlags& f, TlsChoice choice) {
  if (choice == TlsChoice::kSwitch)
    cmd->add_flag("--tls", f.tls, "Speak TLS, verifying the server's certificate and name");
  if (choice == TlsChoice::kToSwitch)
    cmd->add_flag("--to-tls", f.tls, "Speak TLS to the target, verifying its certificate and name");
  cmd->add_flag("-k,--insecure", f.insecure, "TLS: do not verify the server's certificate");
  cmd->add_option("--cacert", f.cacert, "TLS: trust the CA certificates in FILE")
      ->check(CLI::ExistingFile)->option_text("FILE");
  if (choice != TlsChoice::kScheme)
    cmd->add_option("--servername", f.servername, "TLS: name sent as SNI and verified (default: HOST)")
        ->option_text("NAME");
}

std::shared_ptr<ev::tls::ClientConnector> make_client_tls(const Context& ctx, const ClientTlsFlags& f, TlsChoice choice,
                                                          std::vector<std::string> alpn, bool eager, int* rc) {
  if (choice != TlsChoice::kScheme && !f.tls) {
    if (f.insecure || !f.cacert.empty() || !f.servername.empty())
      throw UsageError(choice == TlsChoice::kSwitch ? "--insecure, --cacert and --servername need --tls"
                                                    : "--insecure, --cacert and --servername need --to-tls");
    return nullptr;
  }
  ev::tls::ClientConfig config;
  config.verify = !f.insecure;
  config.ca_file = f.cacert;
  config.alpn = std::move(alpn);
  if (!eager) return std::make_shared<ev::tls::ClientConnector>(std::move(config));
  std::string why;
  auto tls = ev::tls::Context::client(config, &why);
  if (!tls) {
    ctx.out.error("%s", why.c_str());
    *rc = kExitTls;
    return nullptr;
  }
  return std::make_shared<ev::tls::ClientConnector>(std::move(tls));
}

}  // namespace evtool
