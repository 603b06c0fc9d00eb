// AnswerCache: the wire form of a server's answers from static data, so a
// repeated question is answered without parsing, looking up or building:
// the stored bytes get the query's ID, RD bit and question spelling (the
// owner names compress to the question, so they echo its case too).
//
// Only plain queries qualify: one question, no other records but an OPT
// of EDNS version 0 whose options are well formed (one that is not must
// get FORMERR, never an answer kept for a good one). The key is the question (name lower-cased), type,
// class and the UDP size the client offered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ev::dns {

class AnswerCache {
 public:
  explicit AnswerCache(std::size_t max_entries = 65536) : max_entries_(max_entries) {}

  // The cache key of a plain query in `key` (reused storage); false if the
  // query does not qualify.
  static bool key_of(std::span<const std::uint8_t> query, std::string& key);
  // Builds the answer to `query` from the entry for `key` into `out`.
  bool lookup(std::string_view key, std::span<const std::uint8_t> query, std::vector<std::uint8_t>& out) const;
  void store(std::string key, std::span<const std::uint8_t> answer);
  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<std::uint8_t>, Hash, std::equal_to<>> entries_;
  std::size_t max_entries_;
};

}  // namespace ev::dns
