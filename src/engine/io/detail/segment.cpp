#include "engine/io/detail/segment.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ev::detail {

namespace {

// The header sits in front of an Inline segment's storage; keep the storage
// aligned like malloc's own blocks.
constexpr std::size_t kHeader = (sizeof(Segment) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);

Segment* new_header(std::size_t extra) {
  void* mem = std::malloc(kHeader + extra);
  return mem ? new (mem) Segment{} : nullptr;
}

}  // namespace

std::size_t chunk_capacity(std::size_t need, std::size_t hint) {
  std::size_t want = std::max(need, hint);
  if (want >= kMaxAlloc - kHeader) return kMaxAlloc - kHeader;
  // Powers of two keep malloc's size classes happy.
  return std::max(std::bit_ceil(want + kHeader), kMinAlloc) - kHeader;
}

std::size_t contiguous_capacity(std::size_t need, std::size_t hint) {
  if (need < kMaxAlloc - kHeader) return chunk_capacity(need, hint);
  return need;
}

Segment* new_inline_segment(std::size_t capacity) {
  if (capacity > SIZE_MAX / 2) return nullptr;
  Segment* s = new_header(capacity);
  if (!s) return nullptr;
  s->storage = reinterpret_cast<unsigned char*>(s) + kHeader;
  s->capacity = capacity;
  return s;
}

Segment* new_reference_segment(const void* data, std::size_t len, Buffer::RefCleanup cleanup, void* arg) {
  Segment* s = new_header(0);
  if (!s) return nullptr;
  s->kind = SegmentKind::Reference;
  // Never written through: free_space() is 0 for anything but Inline.
  s->storage = static_cast<unsigned char*>(const_cast<void*>(data));
  s->capacity = len;
  s->len = len;
  s->cleanup = cleanup;
  s->cleanup_arg = arg;
  return s;
}

Segment* new_file_segment(FileHandle* file, off_t pos, std::size_t len) {
  Segment* s = new_header(0);
  if (!s) return nullptr;
  s->kind = SegmentKind::File;
  s->file = file;
  s->file_pos = pos;
  s->len = len;
  file->refs.fetch_add(1, std::memory_order_relaxed);
  return s;
}

static void release_file(FileHandle* file) {
  if (file->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (file->fd >= 0) ::close(file->fd);
  delete file;
}

void free_segment(Segment* s) {
  switch (s->kind) {
    case SegmentKind::Inline:
      break;
    case SegmentKind::Heap:
      std::free(s->storage);
      break;
    case SegmentKind::Reference:
      if (s->cleanup) s->cleanup(s->storage, s->capacity, s->cleanup_arg);
      break;
    case SegmentKind::File:
      release_file(s->file);
      break;
  }
  s->~Segment();
  std::free(s);
}

bool load_segment(Segment* s) {
  if (s->kind != SegmentKind::File) return true;
  auto* mem = static_cast<unsigned char*>(std::malloc(std::max<std::size_t>(s->len, 1)));
  if (!mem) {
    errno = ENOMEM;
    return false;
  }
  std::size_t done = 0;
  while (done < s->len) {
    ssize_t r = ::pread(s->file->fd, mem + done, s->len - done, s->file_pos + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int err = r == 0 ? EIO : errno;  // r == 0: the file is shorter than the range added
      std::free(mem);
      errno = err;
      return false;
    }
    done += static_cast<std::size_t>(r);
  }
  release_file(s->file);
  s->file = nullptr;
  s->kind = SegmentKind::Heap;
  s->storage = mem;
  s->capacity = s->len;
  s->misalign = 0;
  return true;
}

}  // namespace ev::detail
