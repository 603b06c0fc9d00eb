#include "engine/dns/detail/zone_index.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "engine/util/ascii.h"

namespace ev::dns::detail {

const std::uint8_t* ByteArena::store(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  std::size_t n = a.size() + b.size();
  std::uint8_t* at;
  if (n > kBlock / 4) {  // a block of its own; the current one stays current
    blocks_.emplace_back(new std::uint8_t[n]);
    at = blocks_.back().get();
  } else {
    if (n > left_) {
      blocks_.emplace_back(new std::uint8_t[kBlock]);
      next_ = blocks_.back().get();
      left_ = kBlock;
    }
    at = next_;
    next_ += n;
    left_ -= n;
  }
  if (!a.empty()) std::memcpy(at, a.data(), a.size());
  if (!b.empty()) std::memcpy(at + a.size(), b.data(), b.size());
  bytes_ += n;
  return at;
}

// FNV-1a over the lower-cased bytes.
std::uint32_t NameIndex::hash(std::string_view name) {
  std::uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<std::uint8_t>(ascii_tolower(c))) * 16777619u;
  return h;
}

void NameIndex::insert(std::uint32_t hash, std::uint32_t id) {
  if (2 * (count_ + 1) > slots_.size()) grow();
  place({hash, id});
  ++count_;
}

void NameIndex::place(Slot s) {
  std::size_t i = slot_of(s.hash);
  while (slots_[i].id != kNone) i = (i + 1) & (slots_.size() - 1);
  slots_[i] = s;
}

void NameIndex::grow() {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(std::max<std::size_t>(16, 2 * slots_.size())));
  shift_ = 32 - std::countr_zero(slots_.size());
  for (const Slot& s : old)
    if (s.id != kNone) place(s);
}

}  // namespace ev::dns::detail
