// Internals of Buffer: the segments its chain is made of, and how they are
// allocated, loaded and freed. Only buffer.cpp and its tests include this.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>

#include "engine/io/buffer.h"

namespace ev::detail {

// The descriptor of one add_file() range. The range is cut into pieces
// (so reading one piece loads at most kFilePiece bytes), and pieces moved
// to other buffers share it; the last piece to go closes the fd.
struct FileHandle {
  int fd;
  std::atomic<unsigned> refs;
};

enum class SegmentKind : unsigned char {
  Inline,     // owned storage right after the header; the tail appends into it
  Heap,       // owned storage allocated apart: a file piece loaded with pread
  Reference,  // caller memory, handed back through cleanup when freed
  File,       // bytes of a file that are not in memory (storage == nullptr)
};

struct Segment {
  Segment* prev = nullptr;
  Segment* next = nullptr;
  unsigned char* storage = nullptr;
  std::size_t capacity = 0;  // bytes at storage
  std::size_t misalign = 0;  // drained bytes before the data (memory kinds)
  std::size_t len = 0;       // bytes of data
  SegmentKind kind = SegmentKind::Inline;
  Buffer::RefCleanup cleanup = nullptr;  // Reference
  void* cleanup_arg = nullptr;           // Reference
  FileHandle* file = nullptr;            // File
  off_t file_pos = 0;                    // File: where the data starts in the file

  unsigned char* data() const { return storage + misalign; }
  // Free space after the data; only Inline segments are written into.
  unsigned char* space() const { return storage + misalign + len; }
  std::size_t free_space() const { return kind == SegmentKind::Inline ? capacity - misalign - len : 0; }
  bool in_memory() const { return kind != SegmentKind::File; }
  // Drops the first n bytes of the data (n <= len).
  void advance(std::size_t n) {
    if (kind == SegmentKind::File) {
      file_pos += static_cast<off_t>(n);
    } else {
      misalign += n;
    }
    len -= n;
  }
};

// Allocation sizes (header included): the first segments are small, later
// ones double up to kGrowLimit, and bulk data is cut at kMaxAlloc so no
// single allocation is huge unless contiguity is asked for.
inline constexpr std::size_t kMinAlloc = 1024;
inline constexpr std::size_t kGrowLimit = 64 * 1024;
inline constexpr std::size_t kMaxAlloc = 1024 * 1024;
inline constexpr std::size_t kFilePiece = 1024 * 1024;

// Capacity for a new segment meant to take `need` bytes (at most what one
// kMaxAlloc allocation holds), at least `hint` when that is larger.
std::size_t chunk_capacity(std::size_t need, std::size_t hint);
// Capacity for `need` bytes that must be contiguous (may exceed kMaxAlloc).
std::size_t contiguous_capacity(std::size_t need, std::size_t hint);

// Each returns nullptr when out of memory.
Segment* new_inline_segment(std::size_t capacity);
Segment* new_reference_segment(const void* data, std::size_t len, Buffer::RefCleanup cleanup, void* arg);
// Takes a reference on `file`.
Segment* new_file_segment(FileHandle* file, off_t pos, std::size_t len);
// Runs the reference cleanup or drops the file reference, then frees.
void free_segment(Segment* s);
// Turns a File segment into a Heap one holding the same bytes (pread).
// False (errno set, segment unchanged) if the file cannot give them all.
bool load_segment(Segment* s);

}  // namespace ev::detail
