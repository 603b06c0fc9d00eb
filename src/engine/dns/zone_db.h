// ZoneDb: the authoritative data of a DNS server and the rules for
// answering from it (the zone logic of CLI.md's `dns serve`): zones are the
// apexes of the SOA records loaded; names from --record and --hosts are
// answered authoritatively wherever they are. AA on every answer from our
// data; NXDOMAIN with the SOA for unknown names under our zones; NOERROR
// with no answer (and the SOA) for a known name lacking the type; CNAMEs
// followed within our own data; the question's case echoed back.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/dns/hosts_file.h"
#include "engine/dns/message.h"

namespace ev::dns {

class ZoneDb {
 public:
  // Adds a record; an SOA makes its owner a zone apex.
  void add(ResourceRecord rr);
  // A / AAAA for each hosts entry and PTR for each canonical name.
  void add_hosts(const HostsFile& hosts, std::uint32_t ttl);
  // localhost (A 127.0.0.1, AAAA ::1) and its reverse names.
  void add_localhost(std::uint32_t ttl);
  bool empty() const { return names_.empty(); }
  std::size_t size() const { return count_; }
  const std::vector<std::string>& zones() const { return zones_; }

  enum class Outcome { Answered, NotOurs };
  // Fills reply's answer / authority / additional sections, AA and RCODE
  // for the question. NotOurs: the name is outside our data (REFUSED, or
  // forward it).
  Outcome answer(const Question& q, Message& reply) const;

 private:
  const std::vector<ResourceRecord>* find(std::string_view name) const;
  // The apex of the closest zone containing name, or nullptr.
  const std::string* zone_of(std::string_view name) const;
  bool has_descendant(std::string_view name) const;
  void add_soa(std::string_view name, Message& reply) const;
  void add_glue(Message& reply) const;

  std::unordered_map<std::string, std::vector<ResourceRecord>> names_;  // key: lower-case name
  std::vector<std::string> zones_;  // lower-case apexes
  std::size_t count_ = 0;
};

}  // namespace ev::dns
