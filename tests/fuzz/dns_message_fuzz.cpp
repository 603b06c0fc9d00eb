// libFuzzer target: the DNS message parser (the shape of libevent's
// CVE-2016-10195). Whatever the packet, parsing must not crash or read
// past it. What parses must build into a message that parses back to the
// same content, builds to the same bytes again, still parses when
// truncated to 512 bytes, and whose records' dig text turns back into the
// same RDATA.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/dns/message.h"

namespace {

namespace dns = ev::dns;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_records(const std::vector<dns::ResourceRecord>& a, const std::vector<dns::ResourceRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].rclass != b[i].rclass || a[i].ttl != b[i].ttl ||
        a[i].rdata != b[i].rdata)
      return false;
  return true;
}

bool same_message(const dns::Message& a, const dns::Message& b) {
  if (a.questions.size() != b.questions.size() || a.edns.has_value() != b.edns.has_value()) return false;
  for (std::size_t i = 0; i < a.questions.size(); ++i)
    if (a.questions[i].name != b.questions[i].name || a.questions[i].type != b.questions[i].type ||
        a.questions[i].qclass != b.questions[i].qclass)
      return false;
  return a.header.id == b.header.id && a.header.rcode == b.header.rcode && same_records(a.answers, b.answers) &&
         same_records(a.authority, b.authority) && same_records(a.additional, b.additional);
}

// data_text() -> make_record() gives the RDATA back (meta types are not
// records).
void check_text_round_trip(const dns::ResourceRecord& rr) {
  std::string text = rr.data_text();
  rr.target();
  rr.soa();
  std::string why;
  auto again = dns::make_record(rr.name + ".", rr.type, rr.ttl, text, "", &why);
  bool meta = rr.type == dns::kTypeOPT || (rr.type >= 128 && rr.type <= 255);
  if (!again) return check(meta);
  check(again->rdata == rr.rdata && dns::names_equal(again->name, rr.name));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dns::Message msg;
  dns::ParseResult r = dns::parse_message({data, size}, msg);
  check((r.status == dns::ParseStatus::ShortHeader) == (size < 12));
  if (r.status != dns::ParseStatus::Ok) return 0;

  std::vector<std::uint8_t> wire = dns::build_message(msg, 65535, false);
  dns::Message back;
  check(dns::parse_message(wire, back).status == dns::ParseStatus::Ok);
  check(same_message(msg, back));
  check(dns::build_message(back, 65535, false) == wire);

  std::vector<std::uint8_t> small = dns::build_message(msg, 512);
  dns::Message cut;
  check(dns::parse_message(small, cut).status == dns::ParseStatus::Ok);
  check(cut.questions.size() == msg.questions.size());
  check(cut.answers.size() <= msg.answers.size() && cut.additional.size() <= msg.additional.size());

  for (const auto* section : {&msg.answers, &msg.authority, &msg.additional})
    for (const dns::ResourceRecord& rr : *section) check_text_round_trip(rr);
  return 0;
}
