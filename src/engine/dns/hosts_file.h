// hosts(5): static name-to-address table ("ADDRESS NAME [ALIAS...]" with
// # comments), as the resolver and the DNS server consult it before DNS.
// The parser never fails as a whole: a bad line is skipped and reported.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/util/sockaddr.h"

namespace ev::dns {

// HostsFile::load reads at most this much (a large blocklist in hosts form
// is tens of MiB). Only regular files are read.
constexpr std::size_t kMaxHostsFile = std::size_t{64} << 20;  // 64 MiB

class HostsFile {
 public:
  struct Entry {
    SocketAddress address;
    // As written but in the presentation form of message.h (as dig prints
    // it: "a\065" becomes "aA") and without a final dot, so that name + "."
    // is absolute. The first name of a line is its canonical one.
    std::string name;
    bool canonical;
  };
  // Warnings are "line 3: bad address 'x'".
  static HostsFile parse(std::string_view text, std::vector<std::string>* warnings = nullptr);
  // Reads and parses `path`; nullopt with `why` ("PATH: reason") when it
  // cannot be read, is not a regular file or is over kMaxHostsFile.
  static std::optional<HostsFile> load(const std::string& path, std::string* why);

  // Addresses of `name` (case-insensitive), of `family` (AF_INET, AF_INET6,
  // or AF_UNSPEC for both) in file order.
  std::vector<SocketAddress> lookup(std::string_view name, int family) const;
  // The canonical name of an address, for PTR.
  std::optional<std::string> reverse(const SocketAddress& addr) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace ev::dns
