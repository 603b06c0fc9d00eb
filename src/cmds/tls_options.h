// TLS flags the commands share: --tls / --cert / --key on servers (an
// ephemeral self-signed certificate when no files are given, its SHA-256
// fingerprint printed on stderr), and --tls / -k / --cacert / --servername
// on clients.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"
#include "engine/tls/client_connector.h"
#include "engine/tls/context.h"

namespace evtool {

struct ServerTlsFlags {
  bool tls = false;
  std::string cert, key;
};

void add_server_tls_flags(CLI::App* cmd, ServerTlsFlags& f);

// The server context the flags ask for (nullptr without --tls). Throws
// UsageError for --cert without --key (or the reverse) or either without
// --tls; on an unusable certificate prints why and sets *rc (kExitTls).
// `bind` joins localhost, 127.0.0.1 and ::1 in an ephemeral certificate.
std::shared_ptr<ev::tls::Context> make_server_tls(const Context& ctx, const ServerTlsFlags& f, const std::string& bind,
                                                  std::vector<std::string> alpn, int* rc);

struct ClientTlsFlags {
  bool tls = false;
  bool insecure = false;
  std::string cacert;
  std::string servername;  // SNI and the name verified; empty: the host
};

// How a client chooses TLS: a --tls switch (tcp chat; with --servername),
// or its URL's scheme (https://, wss://: no switch), or --to-tls (a server
// that is also a client, tcp forward, whose --tls is the server's).
enum class TlsChoice { kSwitch, kScheme, kToSwitch };

// -k/--insecure and --cacert for every client; --tls (or --to-tls) and
// --servername too with TlsChoice::kSwitch (kToSwitch).
void add_client_tls_flags(CLI::App* cmd, ClientTlsFlags& f, TlsChoice choice = TlsChoice::kSwitch);

// The TLS side of a client, as the flags ask (nullptr for a kSwitch client
// without --tls). Throws UsageError for -k / --cacert / --servername
// without --tls. `eager`: load the trust store now and, if the CA file is
// unusable, print why and set *rc (kExitTls); otherwise on first use.
std::shared_ptr<ev::tls::ClientConnector> make_client_tls(const Context& ctx, const ClientTlsFlags& f, TlsChoice choice,
                                                          std::vector<std::string> alpn, bool eager, int* rc);

}  // namespace evtool
