// Certificates: an ephemeral self-signed certificate for servers started
// without --cert/--key (EC P-256, valid from an hour ago for 30 days,
// subjectAltName for localhost, 127.0.0.1, ::1 and the bind address),
// and SHA-256 fingerprints as people compare them ("AB:CD:...").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/tls/context.h"

namespace ev::tls {

struct Certificate {
  Certificate() = default;
  ~Certificate();
  Certificate(Certificate&& other) noexcept;
  Certificate& operator=(Certificate&& other) noexcept;
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

// `names`: DNS names and IP literals for the subjectAltName (the first is
// also the common name). nullopt-like empty Certificate with *why on error.
Certificate make_self_signed(const std::vector<std::string>& names, std::string* why);

// "AB:CD:..." (uppercase hex, 32 pairs) of the DER encoding.
std::string sha256_fingerprint(X509* cert);

}  // namespace ev::tls
