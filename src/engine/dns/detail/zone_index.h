// The storage behind ZoneDb: a byte arena (names and RDATA without one heap
// allocation each) and an open-addressing hash index from DNS names to ids
// (ASCII case-insensitive, RFC 4343), which keeps only ids and hashes and
// leaves the names to its caller. Both are for one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace ev::dns::detail {

// Bytes stored once and never moved: pointers into it stay valid for the
// arena's life. Blocks of kBlock bytes; a large item gets a block of its own.
class ByteArena {
 public:
  // Copies `a` then `b` next to each other; returns where `a` starts.
  const std::uint8_t* store(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b = {});
  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::size_t kBlock = 256 * 1024;
  std::vector<std::unique_ptr<std::uint8_t[]>> blocks_;
  std::uint8_t* next_ = nullptr;
  std::size_t left_ = 0, bytes_ = 0;
};

// Ids by name hash: linear probing, at most half full, no allocation per
// entry. find() asks its caller whether a candidate id is the one sought.
class NameIndex {
 public:
  static constexpr std::uint32_t kNone = 0xffffffff;

  // The hash of a name in presentation form, ignoring ASCII case.
  static std::uint32_t hash(std::string_view name);

  // The id with `hash` for which same(id) is true, or kNone.
  template <typename Same>
  std::uint32_t find(std::uint32_t hash, Same&& same) const {
    if (slots_.empty()) return kNone;
    for (std::size_t i = slot_of(hash);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.id == kNone) return kNone;
      if (s.hash == hash && same(s.id)) return s.id;
    }
  }
  // Adds `id`, which find() does not know yet.
  void insert(std::uint32_t hash, std::uint32_t id);
  std::size_t size() const { return count_; }

 private:
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t id = kNone;
  };
  // Fibonacci hashing: the top bits of hash * 2^32/phi.
  std::size_t slot_of(std::uint32_t hash) const { return static_cast<std::uint32_t>(hash * 0x9e3779b9u) >> shift_; }
  void place(Slot s);
  void grow();

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
  int shift_ = 32;
};

}  // namespace ev::dns::detail
