// Buffer: positions and searching (search, search_range, search_eol,
// ptr_set). Every scan runs memchr over whole segments and compares a
// candidate with memcmp, piece by piece when it straddles segments.
#include <algorithm>
#include <cstring>

#include "engine/io/buffer.h"
#include "engine/io/detail/segment.h"

namespace ev {

using detail::Segment;

namespace {

// Moves (s, off, pos) to the first byte before `limit` (an absolute
// position) for which find(base, n) returns an index below n, loading file
// segments on the way. False if there is none (or a file cannot be read).
template <class Find>
bool scan(Segment*& s, std::size_t& off, std::size_t& pos, std::size_t limit, Find find) {
  while (s && pos < limit) {
    if (!detail::load_segment(s)) return false;
    std::size_t n = std::min(s->len - off, limit - pos);
    std::size_t k = find(s->data() + off, n);
    if (k < n) {
      off += k;
      pos += k;
      return true;
    }
    off += n;
    pos += n;
    if (off == s->len) {
      s = s->next;
      off = 0;
    }
  }
  return false;
}

auto byte_finder(unsigned char c) {
  return [c](const unsigned char* base, std::size_t n) -> std::size_t {
    const void* hit = std::memchr(base, c, n);
    return hit ? static_cast<std::size_t>(static_cast<const unsigned char*>(hit) - base) : n;
  };
}

std::size_t find_cr_or_lf(const unsigned char* base, std::size_t n) {
  const void* cr = std::memchr(base, '\r', n);
  std::size_t limit = cr ? static_cast<std::size_t>(static_cast<const unsigned char*>(cr) - base) : n;
  const void* lf = std::memchr(base, '\n', limit);
  return lf ? static_cast<std::size_t>(static_cast<const unsigned char*>(lf) - base) : limit;
}

BufferPtr make_ptr(std::size_t pos, Segment* s, std::size_t off) {
  return BufferPtr{static_cast<ssize_t>(pos), s, off};
}

// Steps (s, off) forward by n bytes; the result is inside a segment with
// data, or (nullptr, 0) at the end.
void step(Segment*& s, std::size_t& off, std::size_t n) {
  off += n;
  while (s && off >= s->len) {
    off -= s->len;
    s = s->next;
  }
  if (!s) off = 0;
}

}  // namespace

bool Buffer::resolve(const BufferPtr* ptr, Segment*& seg, std::size_t& off, std::size_t& pos) const {
  if (!ptr) {
    seg = head_;
    off = 0;
    pos = 0;
    step(seg, off, 0);
    return true;
  }
  if (ptr->pos < 0 || static_cast<std::size_t>(ptr->pos) > total_) return false;
  pos = static_cast<std::size_t>(ptr->pos);
  if (ptr->segment || pos == total_) {
    seg = ptr->segment;
    off = ptr->offset;
    return true;
  }
  // Made by hand with only pos: find the segment.
  seg = head_;
  off = 0;
  step(seg, off, pos);
  return true;
}

int Buffer::ptr_set(BufferPtr& ptr, std::size_t position, PtrHow how) const {
  Segment* s = head_;
  std::size_t off = 0;
  std::size_t pos = 0;
  bool ok = how == PtrHow::Set ? true : resolve(&ptr, s, off, pos);
  if (!ok || position > total_ - pos) {
    ptr = BufferPtr{};
    return -1;
  }
  step(s, off, position);
  ptr = make_ptr(pos + position, s, off);
  return 0;
}

bool Buffer::matches_at(Segment* s, std::size_t offset, std::string_view what) const {
  const char* p = what.data();
  std::size_t left = what.size();
  for (; left > 0; s = s->next, offset = 0) {
    if (!s || !detail::load_segment(s)) return false;
    std::size_t n = std::min(left, s->len - offset);
    if (std::memcmp(s->data() + offset, p, n) != 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

BufferPtr Buffer::search(std::string_view what, const BufferPtr* start) const {
  return search_range(what, start, nullptr);
}

BufferPtr Buffer::search_range(std::string_view what, const BufferPtr* start, const BufferPtr* end) const {
  Segment* s;
  std::size_t off;
  std::size_t pos;
  if (!resolve(start, s, off, pos)) return {};
  std::size_t limit = total_;
  if (end && end->valid()) limit = std::min(limit, static_cast<std::size_t>(end->pos));
  if (pos > limit || what.size() > limit - pos) return {};
  if (what.empty()) return make_ptr(pos, s, off);
  // A match must start before `last` to end by `limit`.
  std::size_t last = limit - what.size() + 1;
  auto first_byte = byte_finder(static_cast<unsigned char>(what[0]));
  while (scan(s, off, pos, last, first_byte)) {
    if (matches_at(s, off, what)) return make_ptr(pos, s, off);
    step(s, off, 1);
    ++pos;
  }
  return {};
}

BufferPtr Buffer::search_eol(const BufferPtr* start, std::size_t* eol_len, EolStyle style) const {
  std::size_t unused;
  std::size_t& len_out = eol_len ? *eol_len : unused;
  len_out = 0;
  Segment* s;
  std::size_t off;
  std::size_t pos;
  if (!resolve(start, s, off, pos)) return {};
  const std::size_t from = pos;
  switch (style) {
    case EolStyle::Lf:
    case EolStyle::Nul:
      if (!scan(s, off, pos, total_, byte_finder(style == EolStyle::Lf ? '\n' : '\0'))) return {};
      len_out = 1;
      return make_ptr(pos, s, off);
    case EolStyle::CrlfStrict: {
      BufferPtr found = search_range("\r\n", start, nullptr);
      if (found.valid()) len_out = 2;
      return found;
    }
    case EolStyle::Crlf: {
      if (!scan(s, off, pos, total_, byte_finder('\n'))) return {};
      if (pos > from) {  // a CR just before it (already scanned, so loaded) belongs to the EOL
        Segment* ps = off ? s : s->prev;
        std::size_t po = (off ? off : ps->len) - 1;
        if (ps->data()[po] == '\r') {
          len_out = 2;
          return make_ptr(pos - 1, ps, po);
        }
      }
      len_out = 1;
      return make_ptr(pos, s, off);
    }
    case EolStyle::Any: {
      if (!scan(s, off, pos, total_, find_cr_or_lf)) return {};
      // The whole run of CR and LF is the EOL, wherever it continues.
      std::size_t run = 0;
      for (Segment* c = s; c; c = c->next) {
        if (!detail::load_segment(c)) break;
        const unsigned char* b = c->data();
        std::size_t i = c == s ? off : 0;
        std::size_t begin = i;
        while (i < c->len && (b[i] == '\r' || b[i] == '\n')) ++i;
        run += i - begin;
        if (i < c->len) break;
      }
      len_out = run;
      return make_ptr(pos, s, off);
    }
  }
  return {};
}

}  // namespace ev
