// Buffer: the chain of segments and every operation on it except the
// system calls (those are in detail/buffer_io.cpp).
//
// Invariants: total_ is the sum of the segments' len; only the tail may be
// empty, and then it is an Inline segment kept for the next add.
#include "engine/io/buffer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>
#include <list>

#include "engine/io/detail/segment.h"

namespace ev {

namespace detail {

struct CallbackList {
  struct Entry {
    int id;
    bool enabled;
    bool removed;
    Buffer::ChangeCallback fn;
  };
  std::list<Entry> entries;  // a list: entries stay put while callbacks add more
  int running = 0;
  int next_id = 1;
  bool has_removed = false;
  // Changes made while callbacks are suspended, reported as one.
  BufferChange pending{0, 0, 0};
};

}  // namespace detail

using detail::Segment;
using detail::SegmentKind;

namespace {

// A drained tail this small is kept for the next add instead of freed.
constexpr std::size_t kKeepCapacity = 16 * 1024;
// Data this small is moved to the start of its segment to make room,
// rather than allocating another segment.
constexpr std::size_t kRealignMax = 2048;

void free_chain(Segment* s) {
  while (s) {
    Segment* next = s->next;
    detail::free_segment(s);
    s = next;
  }
}

// Allocates Inline segments (linked, detached) whose capacities add up to
// at least `bytes`, the first at least `hint` large. False if out of memory.
bool alloc_chain(std::size_t bytes, std::size_t hint, Segment*& first, Segment*& last) {
  first = last = nullptr;
  for (std::size_t planned = 0; planned < bytes;) {
    Segment* s = detail::new_inline_segment(detail::chunk_capacity(bytes - planned, hint));
    if (!s) {
      free_chain(first);
      first = last = nullptr;
      return false;
    }
    s->prev = last;
    (last ? last->next : first) = s;
    last = s;
    planned += s->capacity;
    hint = std::min(hint * 2, detail::kGrowLimit);
  }
  return true;
}

// Copies `len` bytes into a fresh chain from alloc_chain, front to back.
void fill_chain(Segment* s, const unsigned char* p, std::size_t len) {
  for (; s && len; s = s->next) {
    std::size_t n = std::min(len, s->capacity - s->misalign);
    std::memcpy(s->storage + s->misalign, p, n);
    s->len = n;
    p += n;
    len -= n;
  }
}

}  // namespace

Buffer::Buffer() = default;

Buffer::~Buffer() { free_all(); }

void Buffer::free_all() {
  free_chain(head_);
  head_ = tail_ = nullptr;
  total_ = 0;
}

std::size_t Buffer::contiguous_space() const { return head_ ? head_->len : 0; }

// ---- the chain

void Buffer::link_back(Segment* first, Segment* last) {
  drop_empty_tail();
  first->prev = tail_;
  (tail_ ? tail_->next : head_) = first;
  last->next = nullptr;
  tail_ = last;
}

void Buffer::link_front(Segment* first, Segment* last) {
  first->prev = nullptr;
  last->next = head_;
  (head_ ? head_->prev : tail_) = last;
  head_ = first;
}

void Buffer::unlink(Segment* s) {
  (s->prev ? s->prev->next : head_) = s->next;
  (s->next ? s->next->prev : tail_) = s->prev;
  s->prev = s->next = nullptr;
}

void Buffer::drop_empty_tail() {
  if (tail_ && tail_->len == 0) {
    Segment* t = tail_;
    unlink(t);
    detail::free_segment(t);
  }
}

void Buffer::drain_front(std::size_t len) {
  total_ -= len;
  while (len > 0) {
    Segment* s = head_;
    if (len < s->len) {
      s->advance(len);
      return;
    }
    len -= s->len;
    if (keep_drained_tail_ && s == tail_ && s->kind == SegmentKind::Inline && s->capacity <= kKeepCapacity) {
      s->misalign = 0;
      s->len = 0;
      return;
    }
    unlink(s);
    detail::free_segment(s);
  }
}

std::size_t Buffer::grow_hint() const {
  if (!tail_ || tail_->kind != SegmentKind::Inline) return 0;
  return std::min(tail_->capacity * 2, detail::kGrowLimit);
}

bool Buffer::realign_tail(std::size_t need) {
  Segment* t = tail_;
  if (!t || t->kind != SegmentKind::Inline || t->misalign == 0 || t->len > kRealignMax) return false;
  if (t->capacity - t->len < need) return false;
  std::memmove(t->storage, t->data(), t->len);
  t->misalign = 0;
  return true;
}

bool Buffer::append_bytes(const void* data, std::size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  Segment* t = tail_;
  if (t && t->free_space() < len) realign_tail(len);
  std::size_t room = t ? std::min(t->free_space(), len) : 0;
  // Allocate first, so that running out of memory leaves the buffer as it was.
  Segment* first = nullptr;
  Segment* last = nullptr;
  if (room < len && !alloc_chain(len - room, grow_hint(), first, last)) return false;
  if (room) {
    std::memcpy(t->space(), p, room);
    t->len += room;
  }
  if (first) {
    fill_chain(first, p + room, len - room);
    link_back(first, last);
  }
  total_ += len;
  return true;
}

// ---- adding

int Buffer::add(const void* data, std::size_t len) {
  if (back_frozen_ || len > kMaxSize - total_ || (len && !data)) return -1;
  if (len == 0) return 0;
  std::size_t orig = total_;
  if (!append_bytes(data, len)) return -1;
  changed(orig, len, 0);
  return 0;
}

int Buffer::add_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = add_vprintf(fmt, ap);
  va_end(ap);
  return r;
}

int Buffer::add_vprintf(const char* fmt, va_list ap) {
  if (back_frozen_) return -1;
  std::size_t orig = total_;
  Segment* t = tail_;
  std::size_t room = t ? t->free_space() : 0;
  va_list copy;
  va_copy(copy, ap);
  // First try the tail's free space; vsnprintf tells the size if too small.
  int n = std::vsnprintf(room ? reinterpret_cast<char*>(t->space()) : nullptr, room, fmt, copy);
  va_end(copy);
  if (n < 0 || static_cast<std::size_t>(n) > kMaxSize - total_) return -1;
  auto len = static_cast<std::size_t>(n);
  if (len == 0) return 0;
  if (len < room) {
    t->len += len;
  } else {
    Segment* s = detail::new_inline_segment(detail::contiguous_capacity(len + 1, grow_hint()));
    if (!s) return -1;
    va_copy(copy, ap);
    std::vsnprintf(reinterpret_cast<char*>(s->storage), len + 1, fmt, copy);
    va_end(copy);
    s->len = len;
    link_back(s, s);
  }
  total_ += len;
  changed(orig, len, 0);
  return n;
}

int Buffer::prepend(const void* data, std::size_t len) {
  if (front_frozen_ || len > kMaxSize - total_ || (len && !data)) return -1;
  if (len == 0) return 0;
  std::size_t orig = total_;
  if (total_ == 0) {
    if (!append_bytes(data, len)) return -1;
    changed(orig, len, 0);
    return 0;
  }
  const auto* p = static_cast<const unsigned char*>(data);
  Segment* h = head_;
  // The end of the data goes into the drained space before the head's data.
  std::size_t room = h->kind == SegmentKind::Inline ? std::min(h->misalign, len) : 0;
  std::size_t rest = len - room;
  Segment* first = nullptr;
  Segment* last = nullptr;
  if (rest && !alloc_chain(rest, 0, first, last)) return -1;
  if (room) {
    h->misalign -= room;
    h->len += room;
    std::memcpy(h->data(), p + rest, room);
  }
  if (first) {
    // A lone new segment keeps its data at its end: room for the next prepend.
    if (first == last) first->misalign = first->capacity - rest;
    fill_chain(first, p, rest);
    link_front(first, last);
  }
  total_ += len;
  changed(orig, len, 0);
  return 0;
}

int Buffer::add_buffer(Buffer& src) {
  if (&src == this || back_frozen_ || src.front_frozen_ || src.total_ > kMaxSize - total_) return -1;
  take_all(src, false);
  return 0;
}

// Moves every segment of src to our back (src's empty tail, if any, stays
// the tail here) or front, and reports the change on both sides.
void Buffer::take_all(Buffer& src, bool at_front) {
  std::size_t n = src.total_;
  if (n == 0) return;
  std::size_t orig = total_;
  if (at_front) {
    src.drop_empty_tail();  // it would sit in the middle here
    link_front(src.head_, src.tail_);
  } else {
    link_back(src.head_, src.tail_);
  }
  src.head_ = src.tail_ = nullptr;
  src.total_ = 0;
  total_ += n;
  changed(orig, n, 0);
  src.changed(n, 0, n);
}

int Buffer::prepend_buffer(Buffer& src) {
  if (&src == this || front_frozen_ || src.front_frozen_ || src.total_ > kMaxSize - total_) return -1;
  if (total_ == 0) return add_buffer(src);
  take_all(src, true);
  return 0;
}

ssize_t Buffer::remove_buffer(Buffer& dst, std::size_t len) {
  if (&dst == this || front_frozen_ || dst.back_frozen_) return -1;
  len = std::min(len, total_);
  if (len > kMaxSize - dst.total_) return -1;
  if (len == 0) return 0;
  std::size_t orig = total_;
  std::size_t dst_orig = dst.total_;
  std::size_t moved = 0;
  // Whole segments change owner; only the one cut at `len` is copied.
  while (moved < len && head_->len <= len - moved) {
    Segment* s = head_;
    unlink(s);
    dst.link_back(s, s);
    moved += s->len;
  }
  total_ -= moved;
  dst.total_ += moved;
  if (moved < len) {
    Segment* s = head_;
    std::size_t n = len - moved;
    bool ok;
    if (s->kind == SegmentKind::File) {
      Segment* piece = detail::new_file_segment(s->file, s->file_pos, n);
      if ((ok = piece != nullptr)) {
        dst.link_back(piece, piece);
        dst.total_ += n;
      }
    } else {
      ok = dst.append_bytes(s->data(), n);
    }
    if (ok) {
      drain_front(n);
      moved += n;
    }
  }
  dst.changed(dst_orig, moved, 0);
  changed(orig, 0, moved);
  return static_cast<ssize_t>(moved);
}

int Buffer::add_reference(const void* data, std::size_t len, RefCleanup cleanup, void* arg) {
  if (back_frozen_ || len > kMaxSize - total_ || (len && !data)) return -1;
  if (len == 0) {
    if (cleanup) cleanup(data, 0, arg);
    return 0;
  }
  Segment* s = detail::new_reference_segment(data, len, cleanup, arg);
  if (!s) return -1;
  std::size_t orig = total_;
  link_back(s, s);
  total_ += len;
  changed(orig, len, 0);
  return 0;
}

int Buffer::expand(std::size_t size) {
  if (size > kMaxSize - total_) return -1;
  Segment* t = tail_;
  if ((t && t->free_space() >= size) || size == 0 || realign_tail(size)) return 0;
  // A small tail moves into the new segment, so that the space follows it.
  bool move_tail = t && t->kind == SegmentKind::Inline && t->len <= kRealignMax;
  std::size_t keep = move_tail ? t->len : 0;
  Segment* s = detail::new_inline_segment(detail::contiguous_capacity(keep + size, grow_hint()));
  if (!s) return -1;
  if (move_tail) {
    std::memcpy(s->storage, t->data(), keep);
    s->len = keep;
    unlink(t);
    detail::free_segment(t);
  }
  link_back(s, s);
  return 0;
}

// ---- removing

int Buffer::drain(std::size_t len) {
  if (front_frozen_) return -1;
  len = std::min(len, total_);
  if (len == 0) return 0;
  std::size_t orig = total_;
  drain_front(len);
  changed(orig, 0, len);
  return 0;
}

ssize_t Buffer::remove(void* out, std::size_t len) {
  if (front_frozen_) return -1;
  ssize_t n = copyout(out, len);
  if (n <= 0) return n;
  std::size_t orig = total_;
  drain_front(static_cast<std::size_t>(n));
  changed(orig, 0, static_cast<std::size_t>(n));
  return n;
}

ssize_t Buffer::copyout(void* out, std::size_t len) const {
  len = std::min(len, total_);
  if (len == 0) return 0;
  if (!out || !copy_range(head_, 0, out, len)) return -1;
  return static_cast<ssize_t>(len);
}

ssize_t Buffer::copyout_from(const BufferPtr& pos, void* out, std::size_t len) const {
  Segment* s;
  std::size_t off;
  std::size_t at;
  if (!resolve(&pos, s, off, at)) return -1;
  len = std::min(len, total_ - at);
  if (len == 0) return 0;
  if (!out || !copy_range(s, off, out, len)) return -1;
  return static_cast<ssize_t>(len);
}

bool Buffer::load_range(Segment* s, std::size_t offset, std::size_t len) const {
  for (; s && len; s = s->next, offset = 0) {
    if (!detail::load_segment(s)) return false;
    len -= std::min(len, s->len - offset);
  }
  return len == 0;
}

bool Buffer::copy_range(Segment* s, std::size_t offset, void* out, std::size_t len) const {
  auto* o = static_cast<unsigned char*>(out);
  for (; s && len; s = s->next, offset = 0) {
    if (!detail::load_segment(s)) return false;
    std::size_t n = std::min(len, s->len - offset);
    std::memcpy(o, s->data() + offset, n);
    o += n;
    len -= n;
  }
  return len == 0;
}

unsigned char* Buffer::pullup(ssize_t size) {
  std::size_t want = size < 0 ? total_ : static_cast<std::size_t>(size);
  if (want == 0 || want > total_) return nullptr;
  // Load file ranges first, so that nothing below can fail half-way.
  if (!load_range(head_, 0, want)) return nullptr;
  Segment* h = head_;
  if (h->len >= want) return h->data();
  Segment* dest = h;
  if (h->kind == SegmentKind::Inline && h->capacity >= want) {
    if (h->capacity - h->misalign < want) {
      std::memmove(h->storage, h->data(), h->len);
      h->misalign = 0;
    }
  } else {
    dest = detail::new_inline_segment(detail::contiguous_capacity(want, 0));
    if (!dest) return nullptr;
    link_front(dest, dest);
  }
  for (std::size_t left = want - dest->len; left > 0;) {
    Segment* s = dest->next;
    std::size_t n = std::min(left, s->len);
    std::memcpy(dest->space(), s->data(), n);
    dest->len += n;
    left -= n;
    if (n == s->len) {
      unlink(s);
      detail::free_segment(s);
    } else {
      s->advance(n);
    }
  }
  return dest->data();
}

std::optional<std::string> Buffer::readln(EolStyle style) {
  if (front_frozen_) return std::nullopt;
  std::size_t eol_len = 0;
  BufferPtr eol = search_eol(nullptr, &eol_len, style);
  if (!eol.valid()) return std::nullopt;
  std::string line(static_cast<std::size_t>(eol.pos), '\0');
  if (!copy_range(head_, 0, line.data(), line.size())) return std::nullopt;
  std::size_t orig = total_;
  drain_front(line.size() + eol_len);
  changed(orig, 0, line.size() + eol_len);
  return line;
}

std::string Buffer::to_string() const {
  std::string out(total_, '\0');
  if (!copy_range(head_, 0, out.data(), total_)) out.clear();
  return out;
}

// ---- zero-copy access

int Buffer::peek(ssize_t len, const BufferPtr* start, iovec* vec, int n_vec) const {
  Segment* s;
  std::size_t off;
  std::size_t pos;
  if (!resolve(start, s, off, pos)) return -1;
  if (!vec) n_vec = 0;
  int used = 0;
  std::size_t seen = 0;
  for (; s; s = s->next, off = 0) {
    if (s->len == off) continue;  // the empty tail
    if (len >= 0 && seen >= static_cast<std::size_t>(len)) break;
    if (used < n_vec) {
      if (!detail::load_segment(s)) return -1;
      vec[used] = iovec{s->data() + off, s->len - off};
    } else if (len < 0) {
      break;
    }
    seen += s->len - off;
    ++used;
  }
  return used;
}

int Buffer::reserve_space(std::size_t size, iovec* vec, int n_vec) {
  if (back_frozen_ || n_vec < 1 || !vec || size > kMaxSize - total_) return -1;
  Segment* t = tail_;
  if (t && t->free_space() < size) realign_tail(size);
  std::size_t room = t ? t->free_space() : 0;
  if (room > 0 && room >= size) {
    vec[0] = iovec{t->space(), room};
    return 1;
  }
  bool two = n_vec >= 2 && room > 0 && t->len > 0;
  Segment* s = detail::new_inline_segment(detail::contiguous_capacity(size - (two ? room : 0), grow_hint()));
  if (!s) return -1;
  link_back(s, s);
  if (!two) {
    vec[0] = iovec{s->storage, s->capacity};
    return 1;
  }
  vec[0] = iovec{t->space(), room};
  vec[1] = iovec{s->storage, s->capacity};
  return 2;
}

int Buffer::commit_space(iovec* vec, int n_vec) {
  if (back_frozen_ || n_vec < 0 || n_vec > 2 || (n_vec > 0 && !vec)) return -1;
  if (n_vec == 0) return 0;
  // The vectors must be what reserve_space gave: the tail's free space, or
  // the one before an empty tail's and then the tail's.
  auto space_of = [](const Segment* s) -> void* {
    return s && s->kind == SegmentKind::Inline ? s->space() : nullptr;
  };
  Segment* t = tail_;
  if (!space_of(t)) return -1;
  Segment* segs[2] = {nullptr, nullptr};
  if (n_vec == 1 && vec[0].iov_base == space_of(t)) {
    segs[0] = t;
  } else if (t->len == 0 && space_of(t->prev) && vec[0].iov_base == space_of(t->prev)) {
    segs[0] = t->prev;
    segs[1] = t;
    if (n_vec == 2 && vec[1].iov_base != space_of(t)) return -1;
  } else {
    return -1;
  }
  std::size_t added = 0;
  for (int i = 0; i < n_vec; ++i) {
    if (vec[i].iov_len > segs[i]->free_space()) return -1;
    added += vec[i].iov_len;
  }
  if (added > kMaxSize - total_) return -1;
  for (int i = 0; i < n_vec; ++i) segs[i]->len += vec[i].iov_len;
  std::size_t orig = total_;
  total_ += added;
  changed(orig, added, 0);
  return 0;
}

// ---- callbacks and freezing

int Buffer::add_cb(ChangeCallback cb) {
  if (!callbacks_) callbacks_ = std::make_unique<detail::CallbackList>();
  int id = callbacks_->next_id++;
  callbacks_->entries.push_back({id, true, false, std::move(cb)});
  return id;
}

int Buffer::remove_cb(int id) {
  if (!callbacks_) return -1;
  auto& list = *callbacks_;
  for (auto it = list.entries.begin(); it != list.entries.end(); ++it) {
    if (it->id != id || it->removed) continue;
    if (list.running) {  // it may be the one running: erase it afterwards
      it->removed = true;
      list.has_removed = true;
    } else {
      list.entries.erase(it);
    }
    return 0;
  }
  return -1;
}

int Buffer::set_cb_enabled(int id, bool enabled) {
  if (!callbacks_) return -1;
  for (auto& e : callbacks_->entries) {
    if (e.id == id && !e.removed) {
      e.enabled = enabled;
      return 0;
    }
  }
  return -1;
}

// Suspending is rare (no engine path does it per operation), so the
// pending change lives with the callback list, made here if need be.
void Buffer::suspend_callbacks() {
  if (!callbacks_) callbacks_ = std::make_unique<detail::CallbackList>();
  ++suspended_;
}

void Buffer::resume_callbacks() {
  if (suspended_ == 0 || --suspended_ > 0) return;
  BufferChange pending = std::exchange(callbacks_->pending, BufferChange{0, 0, 0});
  if (pending.n_added || pending.n_deleted) notify(pending);
}

void Buffer::changed(std::size_t orig, std::size_t added, std::size_t deleted) {
  drained_total_ += deleted;
  if (added == 0 && deleted == 0) return;
  if (suspended_) {
    BufferChange& pending = callbacks_->pending;
    if (pending.n_added == 0 && pending.n_deleted == 0) pending.orig_size = orig;
    pending.n_added += added;
    pending.n_deleted += deleted;
    return;
  }
  notify(BufferChange{orig, added, deleted});
}

void Buffer::notify(const BufferChange& change) {
  if (hook_) hook_(hook_owner_, *this, change);
  if (!callbacks_ || callbacks_->entries.empty()) return;
  auto& list = *callbacks_;
  ++list.running;
  for (auto& e : list.entries) {
    if (e.enabled && !e.removed) e.fn(*this, change);
  }
  if (--list.running == 0 && list.has_removed) {
    list.entries.remove_if([](const detail::CallbackList::Entry& e) { return e.removed; });
    list.has_removed = false;
  }
}

void Buffer::freeze(bool at_front) { (at_front ? front_frozen_ : back_frozen_) = true; }

void Buffer::unfreeze(bool at_front) { (at_front ? front_frozen_ : back_frozen_) = false; }

}  // namespace ev
