// Buffer: the system calls. read() with readv into the tail's free space
// and fresh segments; write() with writev over up to 64 segments, and with
// sendfile for file ranges; add_file() cutting a range into pieces.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <new>

#include "engine/io/buffer.h"
#include "engine/io/detail/segment.h"

namespace ev {

using detail::Segment;
using detail::SegmentKind;

namespace {

// read(): what FIONREAD says, within these bounds; libevent's fixed 4 KiB
// reads cost throughput, so an unknown amount gets 64 KiB.
constexpr std::size_t kDefaultRead = 64 * 1024;
constexpr std::size_t kNothingPendingRead = 4096;  // FIONREAD 0: probably EOF
constexpr std::size_t kMaxRead = 4 * 1024 * 1024;
constexpr int kReadIov = 4;
constexpr int kWriteIov = IOV_MAX < 64 ? IOV_MAX : 64;
// Linux transfers at most this much in one sendfile call.
constexpr std::size_t kMaxSendfile = 0x7ffff000;

std::size_t read_size(int fd, ssize_t howmuch, std::size_t tail_room) {
  // Even with a limit, ask how much is there: a 64-byte message must not
  // make us allocate the caller's whole limit (256 KiB) per read.
  int pending = 0;
  std::size_t n = kDefaultRead;
  if (::ioctl(fd, FIONREAD, &pending) == 0) n = pending > 0 ? static_cast<std::size_t>(pending) : kNothingPendingRead;
  // Free space already allocated costs nothing to offer.
  n = std::max(n, tail_room);
  if (howmuch >= 0) n = std::min(n, static_cast<std::size_t>(howmuch));
  return std::min(n, kMaxRead);
}

}  // namespace

ssize_t Buffer::read(int fd, ssize_t howmuch) {
  if (back_frozen_) {
    errno = EPERM;
    return -1;
  }
  if (howmuch == 0) return 0;
  Segment* t = tail_;
  std::size_t room = t ? t->free_space() : 0;
  std::size_t want = std::min(read_size(fd, howmuch, room), kMaxSize - total_);
  if (want == 0) {
    errno = ENOBUFS;
    return -1;
  }
  iovec vec[kReadIov];
  Segment* fresh[kReadIov];
  int n_vec = 0;
  int n_fresh = 0;
  std::size_t planned = 0;
  if (room > 0) {
    planned = std::min(room, want);
    vec[n_vec++] = iovec{t->space(), planned};
  }
  // Fresh segments are linked only if data lands in them.
  while (planned < want && n_vec < kReadIov) {
    Segment* s = detail::new_inline_segment(detail::chunk_capacity(want - planned, 0));
    if (!s) break;
    std::size_t n = std::min(s->capacity, want - planned);
    fresh[n_fresh++] = s;
    vec[n_vec++] = iovec{s->storage, n};
    planned += n;
  }
  if (n_vec == 0) {
    errno = ENOMEM;
    return -1;
  }
  ssize_t r = ::readv(fd, vec, n_vec);
  int saved = errno;
  auto left = static_cast<std::size_t>(std::max<ssize_t>(r, 0));
  int v = 0;
  if (room > 0) {
    std::size_t n = std::min(left, vec[v++].iov_len);
    t->len += n;
    left -= n;
  }
  for (int i = 0; i < n_fresh; ++i, ++v) {
    Segment* s = fresh[i];
    if (left == 0) {
      detail::free_segment(s);
      continue;
    }
    s->len = std::min(left, vec[v].iov_len);
    left -= s->len;
    link_back(s, s);
  }
  if (r > 0) {
    std::size_t orig = total_;
    total_ += static_cast<std::size_t>(r);
    changed(orig, static_cast<std::size_t>(r), 0);
  } else {
    errno = saved;
  }
  return r;
}

// One writev over the memory segments at the front (stopping at a file
// range); *want gets how much was offered.
ssize_t Buffer::write_memory(int fd, std::size_t limit, std::size_t* want) {
  iovec vec[kWriteIov];
  int n = 0;
  std::size_t sum = 0;
  for (Segment* s = head_; s && s->in_memory() && n < kWriteIov && sum < limit; s = s->next) {
    if (s->len == 0) continue;  // the empty tail
    std::size_t take = std::min(s->len, limit - sum);
    vec[n++] = iovec{s->data(), take};
    sum += take;
  }
  *want = sum;
  ssize_t r = ::writev(fd, vec, n);
  if (r > 0) drain_front(static_cast<std::size_t>(r));
  return r;
}

// One sendfile over the file pieces at the front that continue each other.
ssize_t Buffer::write_file_run(int fd, std::size_t limit, std::size_t* want) {
  Segment* h = head_;
  std::size_t run = 0;
  for (Segment* s = h; s && s->kind == SegmentKind::File && s->file == h->file && run < limit; s = s->next) {
    if (s->file_pos != h->file_pos + static_cast<off_t>(run)) break;
    run += s->len;
  }
  run = std::min({run, limit, kMaxSendfile});
  *want = run;
  off_t offset = h->file_pos;
  ssize_t r = ::sendfile(fd, h->file->fd, &offset, run);
  if (r == 0) {  // the file ended before the range did
    errno = EIO;
    return -1;
  }
  if (r > 0) drain_front(static_cast<std::size_t>(r));
  return r;
}

ssize_t Buffer::write(int fd, ssize_t howmuch) {
  if (front_frozen_) {
    errno = EPERM;
    return -1;
  }
  std::size_t limit = howmuch < 0 ? total_ : std::min(static_cast<std::size_t>(howmuch), total_);
  std::size_t orig = total_;
  std::size_t done = 0;
  // Keep going while each call takes everything offered: a short write
  // means the socket is full.
  while (done < limit) {
    std::size_t want = 0;
    ssize_t r;
    if (head_->kind == SegmentKind::File) {
      r = write_file_run(fd, limit - done, &want);
      // A descriptor sendfile cannot read from: send the piece from memory.
      if (r < 0 && (errno == EINVAL || errno == ENOSYS) && detail::load_segment(head_)) continue;
    } else {
      r = write_memory(fd, limit - done, &want);
    }
    if (r < 0) {
      if (done == 0) return -1;
      break;
    }
    done += static_cast<std::size_t>(r);
    if (static_cast<std::size_t>(r) < want) break;
  }
  changed(orig, 0, done);
  return static_cast<ssize_t>(done);
}

int Buffer::add_file(int fd, off_t offset, off_t length) {
  if (back_frozen_ || fd < 0 || offset < 0 || length < -1) {
    errno = EINVAL;
    return -1;
  }
  // Only a regular file can be sent with sendfile and read with pread; a
  // range past its end is refused (and so is any absurd length).
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  if (!S_ISREG(st.st_mode) || st.st_size < offset) {
    errno = EINVAL;
    return -1;
  }
  if (length == -1) length = st.st_size - offset;
  if (length > st.st_size - offset) {
    errno = EINVAL;
    return -1;
  }
  if (static_cast<std::size_t>(length) > kMaxSize - total_) {
    errno = EOVERFLOW;
    return -1;
  }
  if (length == 0) {
    ::close(fd);
    return 0;
  }
  auto* file = new (std::nothrow) detail::FileHandle{fd, 0};
  if (!file) {
    errno = ENOMEM;
    return -1;
  }
  Segment* first = nullptr;
  Segment* last = nullptr;
  for (auto left = static_cast<std::size_t>(length); left > 0;) {
    std::size_t n = std::min(left, detail::kFilePiece);
    Segment* s = detail::new_file_segment(file, offset + (length - static_cast<off_t>(left)), n);
    if (!s) {
      file->fd = -1;  // the caller keeps fd
      if (!first) delete file;
      for (Segment* p = first; p;) {
        Segment* next = p->next;
        detail::free_segment(p);  // the last one frees `file`
        p = next;
      }
      errno = ENOMEM;
      return -1;
    }
    s->prev = last;
    (last ? last->next : first) = s;
    last = s;
    left -= n;
  }
  std::size_t orig = total_;
  link_back(first, last);
  total_ += static_cast<std::size_t>(length);
  changed(orig, static_cast<std::size_t>(length), 0);
  return 0;
}

}  // namespace ev
