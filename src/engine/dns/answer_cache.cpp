#include "engine/dns/answer_cache.h"

#include <algorithm>

#include "engine/dns/message.h"

namespace ev::dns {
namespace {

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// Length of the uncompressed question name at q[0..], or 0 if it is not one.
std::size_t name_length(std::span<const std::uint8_t> q, std::size_t at) {
  std::size_t i = at;
  while (i < q.size()) {
    std::uint8_t len = q[i];
    if (len == 0) return i + 1 - at <= 255 ? i + 1 - at : 0;
    if (len > 63) return 0;  // compression or an extended label type
    i += 1 + len;
  }
  return 0;
}

}  // namespace

bool AnswerCache::key_of(std::span<const std::uint8_t> q, std::string& key) {
  if (q.size() < 17) return false;
  // QR=0, opcode 0, one question, no answers or authority, at most an OPT.
  if ((q[2] & 0xf8) != 0 || u16(&q[4]) != 1 || u16(&q[6]) != 0 || u16(&q[8]) != 0 || u16(&q[10]) > 1) return false;
  std::size_t nlen = name_length(q, 12);
  std::size_t end = 12 + nlen + 4;
  if (nlen == 0 || end > q.size()) return false;
  std::uint16_t udp = 0;
  if (u16(&q[10]) == 1) {  // OPT: root name, type 41, class = size, ttl, rdlength, rdata
    if (end + 11 > q.size() || q[end] != 0 || u16(&q[end + 1]) != 41 || q[end + 6] != 0) return false;
    std::size_t rdlen = u16(&q[end + 9]);
    if (end + 11 + rdlen != q.size() || !edns_options_well_formed(q.subspan(end + 11))) return false;  // else FORMERR
    udp = std::max<std::uint16_t>(u16(&q[end + 3]), 512);
  } else if (end != q.size()) {
    return false;
  }
  key.assign(reinterpret_cast<const char*>(&q[12]), nlen + 4);
  for (std::size_t i = 0; i < nlen; ++i) {
    char& c = key[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);  // label lengths are < 64: never letters
  }
  key.push_back(static_cast<char>(udp >> 8));
  key.push_back(static_cast<char>(udp & 0xff));
  return true;
}

bool AnswerCache::lookup(std::string_view key, std::span<const std::uint8_t> query, std::vector<std::uint8_t>& out) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const std::vector<std::uint8_t>& wire = it->second;
  out.assign(wire.begin(), wire.end());
  out[0] = query[0];  // ID
  out[1] = query[1];
  out[2] = static_cast<std::uint8_t>((out[2] & 0xfe) | (query[2] & 0x01));  // RD
  std::size_t nlen = key.size() - 6;
  std::copy(query.begin() + 12, query.begin() + 12 + static_cast<std::ptrdiff_t>(nlen), out.begin() + 12);
  return true;
}

void AnswerCache::store(std::string key, std::span<const std::uint8_t> answer) {
  if (answer.size() < 12 + key.size() - 6) return;
  if (entries_.size() >= max_entries_) entries_.clear();  // bounded: start over
  entries_[std::move(key)].assign(answer.begin(), answer.end());
}

}  // namespace ev::dns
