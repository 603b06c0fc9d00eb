#include "engine/dns/zone_db.h"

#include <algorithm>
#include <span>
#include <utility>

#include "engine/util/ascii.h"

namespace ev::dns {
namespace {

using detail::NameIndex;

constexpr int kMaxCnameChain = 8;
constexpr std::uint32_t kShortList = 16;  // records of one name scanned for duplicates; past that, indexed

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Moves `name` one label up ("" above a single label); false at the root.
// Names are in presentation form: "\." is not a separator, and the digits
// of "\DDD" never are.
bool up(std::string_view& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\') {
      ++i;
    } else if (name[i] == '.') {
      name.remove_prefix(i + 1);
      return true;
    }
  }
  name = {};
  return true;
}

std::uint32_t record_hash(std::uint16_t type, std::span<const std::uint8_t> rdata) {
  std::string_view text(reinterpret_cast<const char*>(rdata.data()), rdata.size());
  return NameIndex::hash(text) ^ (type * 0x9e3779b9u);
}

// A key whose byte order is the canonical order of names (RFC 4034 6.1):
// the labels from the right, lower-cased, each closed by 0; bytes 0 and 1
// inside a label are written 1 1 and 1 2 so that 0 stays below them all.
std::string canonical_key(std::span<const std::uint8_t> wire) {
  std::vector<std::size_t> labels;
  for (std::size_t p = 0; p < wire.size() && wire[p] != 0; p += 1 + wire[p]) labels.push_back(p);
  std::string key;
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
    for (std::size_t i = 1; i <= wire[*it]; ++i) {
      auto c = static_cast<std::uint8_t>(ascii_tolower(static_cast<char>(wire[*it + i])));
      if (c <= 1) key.push_back(1);
      key.push_back(static_cast<char>(c <= 1 ? c + 1 : c));
    }
    key.push_back(0);
  }
  return key;
}

}  // namespace

void ZoneDb::add(const ResourceRecord& rr) {
  if (rr.rdata.size() > 0xffff) return;  // cannot be sent
  std::uint32_t hash = NameIndex::hash(rr.name);
  std::uint32_t id = find(rr.name, hash);
  if (id == kNone) id = add_name(rr.name, hash);
  else if (is_duplicate(id, rr)) return;
  if (rr.type == kTypeSOA) {
    std::string apex = lower_name(rr.name);
    auto z = static_cast<std::uint32_t>(zones_.size());
    if (by_zone_.find(hash, [&](std::uint32_t i) { return zones_[i] == apex; }) == kNone) {
      zones_.push_back(std::move(apex));
      by_zone_.insert(hash, z);
    }
  }
  Name& name = names_[id];
  bool respelled = std::string_view(name.text, name.length) != rr.name;
  Record r;
  r.data = arena_.store(respelled ? bytes_of(rr.name) : std::span<const std::uint8_t>(), rr.rdata);
  r.ttl = rr.ttl;
  r.type = rr.type;
  r.rclass = rr.rclass;
  r.rdlength = static_cast<std::uint16_t>(rr.rdata.size());
  r.owner_length = respelled ? static_cast<std::uint16_t>(rr.name.size()) : 0;
  auto rid = static_cast<std::uint32_t>(records_.size());
  records_.push_back(r);
  (name.last == kNone ? name.first : records_[name.last].next) = rid;
  name.last = rid;
  if (++name.count <= kShortList) return;
  detail::NameIndex& list = long_lists_[id];  // the first time: every record so far
  for (std::uint32_t i = name.count == kShortList + 1 ? name.first : rid; i != kNone; i = records_[i].next)
    list.insert(record_hash(records_[i].type, rdata(records_[i])), i);
}

std::uint32_t ZoneDb::add_name(std::string_view text, std::uint32_t hash) {
  auto id = static_cast<std::uint32_t>(names_.size());
  const char* stored = reinterpret_cast<const char*>(arena_.store(bytes_of(text)));
  names_.push_back({stored, kNone, kNone, 0, static_cast<std::uint16_t>(text.size())});
  by_name_.insert(hash, id);
  // The names above it, up to the first one known already (whose own
  // ancestors are known too). The root is above everything: not kept.
  std::string_view above(stored, text.size());
  while (up(above) && !above.empty()) {
    std::uint32_t h = NameIndex::hash(above);
    if (by_above_.find(h, [&](std::uint32_t i) { return ascii_iequals(above_[i], above); }) != kNone) break;
    by_above_.insert(h, static_cast<std::uint32_t>(above_.size()));
    above_.push_back(above);
  }
  return id;
}

bool ZoneDb::is_duplicate(std::uint32_t id, const ResourceRecord& rr) const {
  auto same = [&](std::uint32_t i) {
    const Record& r = records_[i];
    return r.type == rr.type && std::ranges::equal(rdata(r), rr.rdata);
  };
  const Name& name = names_[id];
  if (name.count > kShortList) return long_lists_.at(id).find(record_hash(rr.type, rr.rdata), same) != kNone;
  for (std::uint32_t i = name.first; i != kNone; i = records_[i].next)
    if (same(i)) return true;
  return false;
}

void ZoneDb::add_hosts(const HostsFile& hosts, std::uint32_t ttl) {
  for (const HostsFile::Entry& e : hosts.entries()) {
    std::string ip = e.address.host();
    std::string why;
    std::uint16_t type = e.address.family() == AF_INET6 ? kTypeAAAA : kTypeA;
    if (auto rr = make_record(e.name, type, ttl, ip, "", &why)) add(*rr);
    if (!e.canonical) continue;
    if (auto rev = reverse_name(ip))
      if (auto ptr = make_record(*rev, kTypePTR, ttl, e.name + ".", "", &why)) add(*ptr);
  }
}

void ZoneDb::add_localhost(std::uint32_t ttl) {
  std::string why;
  for (auto [type, ip] : {std::pair<std::uint16_t, const char*>{kTypeA, "127.0.0.1"}, {kTypeAAAA, "::1"}}) {
    if (auto rr = make_record("localhost", type, ttl, ip, "", &why)) add(*rr);
    if (auto rev = reverse_name(ip))
      if (auto ptr = make_record(*rev, kTypePTR, ttl, "localhost.", "", &why)) add(*ptr);
  }
}

std::uint32_t ZoneDb::find(std::string_view name, std::uint32_t hash) const {
  return by_name_.find(hash, [&](std::uint32_t i) {
    return ascii_iequals(std::string_view(names_[i].text, names_[i].length), name);
  });
}

ResourceRecord ZoneDb::stored(const Name& name, const Record& r) const {
  ResourceRecord rr;
  rr.name = r.owner_length ? std::string(reinterpret_cast<const char*>(r.data), r.owner_length)
                           : std::string(name.text, name.length);
  rr.type = r.type;
  rr.rclass = r.rclass;
  rr.ttl = r.ttl;
  auto data = rdata(r);
  rr.rdata.assign(data.begin(), data.end());
  return rr;
}

const std::string* ZoneDb::zone_of(std::string_view name) const {
  if (zones_.empty()) return nullptr;
  do {
    std::uint32_t z = by_zone_.find(NameIndex::hash(name), [&](std::uint32_t i) { return ascii_iequals(zones_[i], name); });
    if (z != kNone) return &zones_[z];
  } while (up(name));
  return nullptr;
}

// An empty non-terminal (a name with data only below it) exists: NODATA,
// not NXDOMAIN.
bool ZoneDb::has_descendant(std::string_view name) const {
  return by_above_.find(NameIndex::hash(name), [&](std::uint32_t i) { return ascii_iequals(above_[i], name); }) != kNone;
}

// The zone's SOA in the authority section, its TTL capped by the SOA
// minimum (RFC 2308 negative caching).
void ZoneDb::add_soa(const std::string* zone, Message& reply) const {
  std::uint32_t id = zone ? find(*zone) : kNone;
  if (id == kNone) return;
  const Name& name = names_[id];
  for (std::uint32_t i = name.first; i != kNone; i = records_[i].next)
    if (records_[i].type == kTypeSOA) {
      ResourceRecord soa = stored(name, records_[i]);
      if (auto data = soa.soa()) soa.ttl = std::min(soa.ttl, data->minimum);
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
  for (const std::string& t : targets) {
    std::uint32_t id = find(t);
    if (id == kNone) continue;
    for (std::uint32_t i = names_[id].first; i != kNone; i = records_[i].next)
      if (records_[i].type == kTypeA || records_[i].type == kTypeAAAA)
        reply.additional.push_back(stored(names_[id], records_[i]));
  }
}

ZoneDb::Outcome ZoneDb::answer(const Question& q, Message& reply) const {
  std::uint32_t id = find(q.name);
  if (id == kNone && !zone_of(q.name)) return Outcome::NotOurs;
  reply.header.aa = true;
  std::string name = q.name;  // the question's spelling, echoed in owner names
  for (int hops = 0; hops <= kMaxCnameChain; ++hops) {
    if (id == kNone) {
      const std::string* zone = zone_of(name);
      if (zone && !has_descendant(name)) reply.header.rcode = kNxDomain;
      add_soa(zone, reply);
      return Outcome::Answered;
    }
    const Name& owner = names_[id];
    bool matched = false;
    const Record* cname = nullptr;
    for (std::uint32_t i = owner.first; i != kNone; i = records_[i].next) {
      const Record& r = records_[i];
      if (r.type == q.type || (q.type == kTypeANY && (r.type != kTypeSOA || hops == 0))) {
        ResourceRecord copy = stored(owner, r);
        copy.name = name;
        reply.answers.push_back(std::move(copy));
        matched = true;
      } else if (r.type == kTypeCNAME) {
        cname = &r;
      }
    }
    if (matched || !cname) {
      if (!matched) add_soa(zone_of(name), reply);  // NODATA
      else add_glue(reply);
      return Outcome::Answered;
    }
    ResourceRecord copy = stored(owner, *cname);
    copy.name = name;
    auto target = copy.target();
    reply.answers.push_back(std::move(copy));
    if (!target) return Outcome::Answered;
    name = *target;
    id = find(name);
    if (id == kNone && !zone_of(name)) return Outcome::Answered;  // the chain leaves our data
  }
  return Outcome::Answered;  // a CNAME loop: what we have so far
}

std::vector<std::string_view> ZoneDb::canonical_names() const {
  std::vector<std::pair<std::string, std::uint32_t>> keys;
  keys.reserve(names_.size());
  std::vector<std::uint8_t> wire;
  for (std::uint32_t i = 0; i < names_.size(); ++i) {
    wire.clear();
    append_wire_name(std::string_view(names_[i].text, names_[i].length), wire);
    keys.emplace_back(canonical_key(wire), i);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::string_view> out;
  out.reserve(keys.size());
  for (const auto& [key, i] : keys) out.emplace_back(names_[i].text, names_[i].length);
  return out;
}

}  // namespace ev::dns
