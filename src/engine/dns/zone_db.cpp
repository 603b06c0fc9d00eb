#include "engine/dns/zone_db.h"

#include <algorithm>

namespace ev::dns {
namespace {
constexpr int kMaxCnameChain = 8;
}

void ZoneDb::add(ResourceRecord rr) {
  std::string key = lower_name(rr.name);
  if (rr.type == kTypeSOA && std::find(zones_.begin(), zones_.end(), key) == zones_.end()) zones_.push_back(key);
  auto& list = names_[key];
  for (const ResourceRecord& r : list)  // an identical record is not added twice
    if (r.type == rr.type && r.rdata == rr.rdata) return;
  list.push_back(std::move(rr));
  ++count_;
}

void ZoneDb::add_hosts(const HostsFile& hosts, std::uint32_t ttl) {
  for (const HostsFile::Entry& e : hosts.entries()) {
    std::string ip = e.address.host();
    std::string why;
    std::uint16_t type = e.address.family() == AF_INET6 ? kTypeAAAA : kTypeA;
    if (auto rr = make_record(e.name, type, ttl, ip, "", &why)) add(std::move(*rr));
    if (!e.canonical) continue;
    if (auto rev = reverse_name(ip))
      if (auto ptr = make_record(*rev, kTypePTR, ttl, e.name + ".", "", &why)) add(std::move(*ptr));
  }
}

void ZoneDb::add_localhost(std::uint32_t ttl) {
  std::string why;
  for (auto [type, ip] : {std::pair<std::uint16_t, const char*>{kTypeA, "127.0.0.1"}, {kTypeAAAA, "::1"}}) {
    if (auto rr = make_record("localhost", type, ttl, ip, "", &why)) add(std::move(*rr));
    if (auto rev = reverse_name(ip))
      if (auto ptr = make_record(*rev, kTypePTR, ttl, "localhost.", "", &why)) add(std::move(*ptr));
  }
}

const std::vector<ResourceRecord>* ZoneDb::find(std::string_view name) const {
  auto it = names_.find(lower_name(name));
  return it == names_.end() ? nullptr : &it->second;
}

const std::string* ZoneDb::zone_of(std::string_view name) const {
  const std::string* best = nullptr;
  for (const std::string& z : zones_)
    if (name_in_zone(name, z) && (!best || z.size() > best->size())) best = &z;
  return best;
}

// An empty non-terminal (a name with data only below it) exists: NODATA,
// not NXDOMAIN.
bool ZoneDb::has_descendant(std::string_view name) const {
  std::string suffix(1, '.');
  suffix += lower_name(name);
  for (const auto& [key, list] : names_)
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
  return false;
}

// The zone's SOA in the authority section, its TTL capped by the SOA
// minimum (RFC 2308 negative caching).
void ZoneDb::add_soa(std::string_view name, Message& reply) const {
  const std::string* zone = zone_of(name);
  if (!zone) return;
  if (const auto* list = find(*zone))
    for (const ResourceRecord& r : *list)
      if (r.type == kTypeSOA) {
        ResourceRecord soa = r;
        if (auto data = r.soa()) soa.ttl = std::min(soa.ttl, data->minimum);
        reply.authority.push_back(std::move(soa));
        return;
      }
}

// A / AAAA of MX, SRV and NS targets we know, in the additional section.
void ZoneDb::add_glue(Message& reply) const {
  std::vector<std::string> targets;
  for (const ResourceRecord& r : reply.answers)
    if (r.type == kTypeMX || r.type == kTypeSRV || r.type == kTypeNS)
      if (auto t = r.target()) targets.push_back(*t);
  for (const std::string& t : targets)
    if (const auto* list = find(t))
      for (const ResourceRecord& r : *list)
        if (r.type == kTypeA || r.type == kTypeAAAA) reply.additional.push_back(r);
}

ZoneDb::Outcome ZoneDb::answer(const Question& q, Message& reply) const {
  const auto* list = find(q.name);
  if (!list && !zone_of(q.name)) return Outcome::NotOurs;
  reply.header.aa = true;
  std::string name = q.name;  // the question's spelling, echoed in owner names
  for (int hops = 0; hops <= kMaxCnameChain; ++hops) {
    if (!list) {
      bool in_zone = zone_of(name) != nullptr;
      if (in_zone && !has_descendant(name)) reply.header.rcode = kNxDomain;
      if (in_zone) add_soa(name, reply);
      return Outcome::Answered;
    }
    bool matched = false;
    const ResourceRecord* cname = nullptr;
    for (const ResourceRecord& r : *list) {
      if (r.type == q.type || (q.type == kTypeANY && r.type != kTypeSOA) || (q.type == kTypeANY && hops == 0)) {
        ResourceRecord copy = r;
        copy.name = name;
        reply.answers.push_back(std::move(copy));
        matched = true;
      } else if (r.type == kTypeCNAME) {
        cname = &r;
      }
    }
    if (matched || !cname) {
      if (!matched) add_soa(name, reply);  // NODATA
      else add_glue(reply);
      return Outcome::Answered;
    }
    ResourceRecord copy = *cname;
    copy.name = name;
    reply.answers.push_back(std::move(copy));
    auto target = cname->target();
    if (!target) return Outcome::Answered;
    name = *target;
    list = find(name);
    if (!list && !zone_of(name)) return Outcome::Answered;  // the chain leaves our data
  }
  return Outcome::Answered;  // a CNAME loop: what we have so far
}

}  // namespace ev::dns
