// libFuzzer target: zone files and the CLI's --record lines. Whatever the
// text, parsing must not crash; every record it yields must encode into a
// message that parses back with the same RDATA, and its dig text must
// turn back into the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/dns/message.h"
#include "engine/dns/zone_file.h"

namespace {

namespace dns = ev::dns;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_record(const dns::ResourceRecord& rr) {
  check(dns::valid_name(rr.name));
  check(dns::rdata_well_formed(rr.type, rr.rdata));
  std::string why;
  auto again = dns::make_record(rr.name + ".", rr.type, rr.ttl, rr.data_text(), "", &why);
  check(again && again->rdata == rr.rdata && again->name == rr.name);
}

void check_records(const std::vector<dns::ResourceRecord>& records) {
  dns::Message msg;
  for (const dns::ResourceRecord& rr : records) {
    check_record(rr);
    if (msg.answers.size() < 64) msg.answers.push_back(rr);
  }
  std::vector<std::uint8_t> wire = dns::build_message(msg, 65535, false);
  dns::Message back;
  check(dns::parse_message(wire, back).status == dns::ParseStatus::Ok || wire.size() > 65535);
  if (wire.size() > 65535) return;
  check(back.answers.size() == msg.answers.size());
  for (std::size_t i = 0; i < msg.answers.size(); ++i) check(back.answers[i].rdata == msg.answers[i].rdata);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dns::ZoneParseResult zone = dns::parse_zone(text, "example.com", 300, "fuzz.zone");
  check_records(zone.records);

  std::string why;
  std::string_view first_line = text.substr(0, text.find('\n'));
  if (auto rr = dns::parse_record_line(first_line, 60, &why)) check_records({*rr});
  else check(!why.empty());
  return 0;
}
