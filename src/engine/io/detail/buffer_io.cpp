// Buffer: the system calls. read() with recvmsg / readv into the tail's
// free space, fresh segments and a scratch area; write() with sendmsg /
// writev over up to 64 segments, and with
// sendfile for file ranges; add_file() cutting a range into pieces.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
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

// read() asks the kernel for nothing first (no FIONREAD: one system call
// per read, not two). It offers the tail's free space, then fresh segments
// when the last reads were large (bulk data lands where it stays, no copy),
// then a per-thread scratch area; bytes that land in the scratch are copied
// into segments of their own size, so a 64-byte message costs a 64-byte
// copy, not a 64 KiB allocation.
constexpr std::size_t kScratch = 64 * 1024;
constexpr std::size_t kMaxRead = 4 * 1024 * 1024;
constexpr std::size_t kBulkRead = 16 * 1024;  // a read this large predicts more
constexpr int kReadIov = 4;
constexpr int kWriteIov = IOV_MAX < 64 ? IOV_MAX : 64;
// Linux transfers at most this much in one sendfile call.
constexpr std::size_t kMaxSendfile = 0x7ffff000;

// Sockets are read and written with recvmsg / sendmsg: the socket calls
// skip the file layer readv / writev go through (measurably cheaper per
// 64-byte message), and MSG_NOSIGNAL turns a write to a closed peer into
// EPIPE instead of SIGPIPE. Any other fd (a pipe, a terminal, a file) gets
// ENOTSOCK once, and the buffer uses readv / writev from then on.
ssize_t read_vec(int fd, iovec* vec, int n, bool& not_socket) {
  if (!not_socket) {
    msghdr m{};
    m.msg_iov = vec;
    m.msg_iovlen = static_cast<std::size_t>(n);
    ssize_t r = ::recvmsg(fd, &m, 0);
    if (r >= 0 || errno != ENOTSOCK) return r;
    not_socket = true;
  }
  return ::readv(fd, vec, n);
}

// more: a file range follows in the same write() (an HTTP head before its
// body): MSG_MORE lets the kernel put the head and the first file bytes in
// full segments, as nginx's tcp_nopush does, instead of a lone small packet.
ssize_t write_vec(int fd, iovec* vec, int n, bool more, bool& not_socket) {
  if (!not_socket) {
    msghdr m{};
    m.msg_iov = vec;
    m.msg_iovlen = static_cast<std::size_t>(n);
    ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (r >= 0 || errno != ENOTSOCK) return r;
    not_socket = true;
  }
  return ::writev(fd, vec, n);
}

unsigned char* read_scratch() {
  alignas(64) static thread_local unsigned char scratch[kScratch];
  return scratch;
}

}  // namespace

ssize_t Buffer::read(int fd, ssize_t howmuch) {
  if (back_frozen_) {
    errno = EPERM;
    return -1;
  }
  if (howmuch == 0) return 0;
  std::size_t want = howmuch < 0 ? kMaxRead : std::min(static_cast<std::size_t>(howmuch), kMaxRead);
  want = std::min(want, kMaxSize - total_);
  if (want == 0) {
    errno = ENOBUFS;
    return -1;
  }
  Segment* t = tail_;
  std::size_t room = t ? std::min(t->free_space(), want) : 0;
  iovec vec[kReadIov];
  Segment* fresh[kReadIov];
  int n_vec = 0;
  int n_fresh = 0;
  std::size_t planned = 0;
  if (room > 0) {
    vec[n_vec++] = iovec{t->space(), room};
    planned = room;
  }
  // Fresh segments are linked only if data lands in them.
  std::size_t bulk = std::min<std::size_t>(read_hint_, want);
  while (planned < bulk && n_vec < kReadIov - 1) {
    Segment* s = detail::new_inline_segment(detail::chunk_capacity(bulk - planned, 0));
    if (!s) break;
    std::size_t n = std::min(s->capacity, bulk - planned);
    fresh[n_fresh++] = s;
    vec[n_vec++] = iovec{s->storage, n};
    planned += n;
  }
  std::size_t scratch_len = std::min(kScratch, want - planned);
  if (scratch_len > 0) vec[n_vec++] = iovec{read_scratch(), scratch_len};
  ssize_t r = read_vec(fd, vec, n_vec, not_socket_);
  int saved = errno;
  auto left = static_cast<std::size_t>(std::max<ssize_t>(r, 0));
  std::size_t orig = total_;
  if (room > 0) {
    std::size_t n = std::min(left, room);
    t->len += n;
    left -= n;
    total_ += n;
  }
  for (int i = 0; i < n_fresh; ++i) {
    Segment* s = fresh[i];
    if (left == 0) {
      detail::free_segment(s);
      continue;
    }
    s->len = std::min(left, vec[(room > 0 ? 1 : 0) + i].iov_len);
    left -= s->len;
    total_ += s->len;
    link_back(s, s);
  }
  if (left > 0 && !append_bytes(read_scratch(), left)) {
    saved = ENOMEM;
    r = -1;
  }
  if (r > 0) {
    read_hint_ = static_cast<std::size_t>(r) >= kBulkRead
                     ? static_cast<std::uint32_t>(std::min(2 * static_cast<std::size_t>(r), kMaxRead))
                     : 0;
  }
  if (total_ > orig) changed(orig, total_ - orig, 0);
  if (r <= 0) errno = saved;
  return r;
}

// One writev over the memory segments at the front (stopping at a file
// range); *want gets how much was offered.
ssize_t Buffer::write_memory(int fd, std::size_t limit, std::size_t* want) {
  iovec vec[kWriteIov];
  int n = 0;
  std::size_t sum = 0;
  Segment* s = head_;
  for (; s && s->in_memory() && n < kWriteIov && sum < limit; s = s->next) {
    if (s->len == 0) continue;  // the empty tail
    std::size_t take = std::min(s->len, limit - sum);
    vec[n++] = iovec{s->data(), take};
    sum += take;
  }
  *want = sum;
  bool file_follows = s && s->kind == SegmentKind::File && sum < limit;
  ssize_t r = write_vec(fd, vec, n, file_follows, not_socket_);
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
