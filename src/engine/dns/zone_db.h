// ZoneDb: the authoritative data of a DNS server and the rules for
// answering from it (the zone logic of CLI.md's `dns serve`): zones are the
// apexes of the SOA records loaded; names from --record and --hosts are
// answered authoritatively wherever they are. AA on every answer from our
// data; NXDOMAIN with the SOA for unknown names under our zones; NOERROR
// with no answer (and the SOA) for a known name lacking the type, and for
// an empty non-terminal (a name with data only below it); CNAMEs followed
// within our own data; the question's case echoed back.
//
// Sized for large zones: adding a record and answering a question cost
// O(labels of the name), whatever the number of names (hash indexes of the
// owner names, of the names above them and of the zone apexes); records
// and names are kept in an arena, not one heap allocation each. Not for
// use from several threads at once.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/dns/detail/zone_index.h"
#include "engine/dns/hosts_file.h"
#include "engine/dns/message.h"

namespace ev::dns {

class ZoneDb {
 public:
  // Adds a record (an identical one is not added twice); an SOA makes its
  // owner a zone apex.
  void add(const ResourceRecord& rr);
  // A / AAAA for each hosts entry and PTR for each canonical name.
  void add_hosts(const HostsFile& hosts, std::uint32_t ttl);
  // localhost (A 127.0.0.1, AAAA ::1) and its reverse names.
  void add_localhost(std::uint32_t ttl);
  bool empty() const { return names_.empty(); }
  std::size_t size() const { return records_.size(); }  // records
  const std::vector<std::string>& zones() const { return zones_; }  // lower-case apexes, in the order added

  enum class Outcome { Answered, NotOurs };
  // Fills reply's answer / authority / additional sections, AA and RCODE
  // for the question. NotOurs: the name is outside our data (REFUSED, or
  // forward it).
  Outcome answer(const Question& q, Message& reply) const;

  // The owner names (as first written) in DNS canonical order, RFC 4034
  // section 6.1: labels compared from the right as lower-cased octet
  // strings. The order of an NSEC chain; O(n log n), not used for answers.
  std::vector<std::string_view> canonical_names() const;

 private:
  static constexpr std::uint32_t kNone = detail::NameIndex::kNone;
  struct Name {
    const char* text;  // as first written, in the arena
    std::uint32_t first = kNone, last = kNone;  // its records, a list through Record::next in the order added
    std::uint32_t count = 0;
    std::uint16_t length = 0;
  };
  struct Record {
    // The owner's spelling when it differs from the Name's (owner_length
    // bytes), then the RDATA (rdlength bytes), in the arena.
    const std::uint8_t* data;
    std::uint32_t next = kNone;
    std::uint32_t ttl;
    std::uint16_t type, rclass, rdlength, owner_length;
  };

  std::uint32_t find(std::string_view name) const { return find(name, detail::NameIndex::hash(name)); }
  std::uint32_t find(std::string_view name, std::uint32_t hash) const;
  std::uint32_t add_name(std::string_view name, std::uint32_t hash);
  bool is_duplicate(std::uint32_t name, const ResourceRecord& rr) const;
  static std::span<const std::uint8_t> rdata(const Record& r) { return {r.data + r.owner_length, r.rdlength}; }
  // The record as added (owned by `name` as it was spelled then).
  ResourceRecord stored(const Name& name, const Record& r) const;
  // The apex of the closest zone containing name, or nullptr.
  const std::string* zone_of(std::string_view name) const;
  bool has_descendant(std::string_view name) const;
  void add_soa(const std::string* zone, Message& reply) const;
  void add_glue(Message& reply) const;

  detail::ByteArena arena_;
  std::deque<Name> names_;
  std::deque<Record> records_;
  detail::NameIndex by_name_;           // names_ ids
  std::vector<std::string_view> above_;  // names above owner names (suffixes of their text in the arena)
  detail::NameIndex by_above_;          // above_ ids
  std::vector<std::string> zones_;
  detail::NameIndex by_zone_;           // zones_ ids
  // The records of each name with many, by type and RDATA (for add's
  // duplicate check; a short list is scanned).
  std::unordered_map<std::uint32_t, detail::NameIndex> long_lists_;
};

}  // namespace ev::dns
