// libFuzzer target: resolv.conf and hosts files. Whatever the text,
// parsing must not crash, every option must stay in its documented range,
// and every hosts entry must be found again by name and address.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns/hosts_file.h"
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

  std::vector<std::string> warnings;
  dns::HostsFile hosts = dns::HostsFile::parse(text, &warnings);
  std::size_t checked = 0;
  for (const dns::HostsFile::Entry& e : hosts.entries()) {
    if (++checked > 16) break;
    check(!hosts.lookup(e.name, AF_UNSPEC).empty());
    check(!hosts.lookup(e.name, e.address.family()).empty());
    check(hosts.reverse(e.address).has_value());
  }
  return 0;
}
