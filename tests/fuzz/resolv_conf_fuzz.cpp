// libFuzzer target: resolv.conf. Whatever the text, parsing must not
// crash and every option must stay in its documented range (hosts files
// have their own target, hosts_file_fuzz).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/dns/message.h"
#include "engine/dns/resolv_conf.h"

namespace {

namespace dns = ev::dns;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dns::ResolvConf conf = dns::parse_resolv_conf(text);
  check(conf.ndots >= 0 && conf.ndots <= 15);
  check(conf.attempts >= 1 && conf.max_inflight >= 1 && conf.max_timeouts >= 1);
  check(conf.timeout.count() > 0 && conf.initial_probe_timeout.count() > 0);
  for (const std::string& s : conf.search) check(dns::valid_name(s) && !s.empty());
  for (const ev::SocketAddress& a : conf.nameservers) check(a.family() == AF_INET || a.family() == AF_INET6);
  return 0;
}
