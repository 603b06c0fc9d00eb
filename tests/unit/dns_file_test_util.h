// Helpers for the tests of the DNS configuration files (resolv.conf,
// hosts, zone files): warnings by substring, and files that remove
// themselves.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "test_base.h"

namespace dnsfiles {

inline bool has_warning(const std::vector<std::string>& warnings, std::string_view text) {
  for (const std::string& w : warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// A file that removes itself.
struct TempFile {
  explicit TempFile(std::string_view text) {
    char tmpl[] = "/tmp/evtool-dns-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    path = tmpl;
  }
  ~TempFile() { std::remove(path.c_str()); }
  // Its size made `size` (a hole at the end: no disk used).
  void resize(off_t size) const { REQUIRE(truncate(path.c_str(), size) == 0); }
  std::string path;
};

}  // namespace dnsfiles
