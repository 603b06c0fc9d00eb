#include "engine/tls/certificate.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <utility>

#include "engine/util/sockaddr.h"

namespace ev::tls {
namespace {

bool add_san(X509* cert, const std::vector<std::string>& names) {
  std::string san;
  for (const std::string& n : names) {
    if (n.empty() || n.find(',') != std::string::npos) continue;
    if (!san.empty()) san += ",";
    san += (parse_ip(n) ? "IP:" : "DNS:") + n;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

Certificate::~Certificate() {
  X509_free(cert);
  EVP_PKEY_free(key);
}

Certificate::Certificate(Certificate&& other) noexcept
    : cert(std::exchange(other.cert, nullptr)), key(std::exchange(other.key, nullptr)) {}

Certificate& Certificate::operator=(Certificate&& other) noexcept {
  std::swap(cert, other.cert);
  std::swap(key, other.key);
  return *this;
}

Certificate make_self_signed(const std::vector<std::string>& names, std::string* why) {
  Certificate c;
  c.key = EVP_EC_gen("P-256");
  c.cert = X509_new();
  if (!c.key || !c.cert) {
    *why = error_queue_string("cannot generate a key");
    return {};
  }
  X509_set_version(c.cert, 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    *why = error_queue_string("no random bytes for a serial number");
    return {};
  }
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.cert), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c.cert);
  std::string cn = names.empty() ? "localhost" : names.front();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("evtool ephemeral"), -1,
                             -1, 0);
  X509_set_issuer_name(c.cert, name);
  X509_set_pubkey(c.cert, c.key);
  if (!add_san(c.cert, names) || X509_sign(c.cert, c.key, EVP_sha256()) == 0) {
    *why = error_queue_string("cannot sign the certificate");
    return {};
  }
  return c;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace ev::tls
