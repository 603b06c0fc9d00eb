// Buffer: libevent's evbuffer. A byte queue made of a chain of segments,
// so that adding, draining and moving data between buffers never copies
// more than it must: whole segments move between buffers, references to
// caller memory and file ranges (sent with sendfile) are segments too.
//
// libevent's evbuffer, in C++. Every size is checked against overflow before it
// is used (libevent's CVE-2014-6272 came from huge lengths). Not
// thread-safe: a Buffer belongs to one loop. Pointers handed out (pullup,
// peek, reserve_space, BufferPtr) are valid until the buffer is modified.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ev {

namespace detail {
struct Segment;
struct CallbackList;
}  // namespace detail

// End-of-line styles for readln / search_eol.
enum class EolStyle {
  Any,         // any run of CR and LF characters (all of it is the EOL)
  Crlf,        // an optional CR followed by LF
  CrlfStrict,  // exactly CR LF
  Lf,          // exactly LF
  Nul,         // a NUL byte
};

// A position inside a Buffer, valid until the buffer is modified. Make one
// with Buffer::ptr_set or get one from a search.
struct BufferPtr {
  ssize_t pos = -1;  // -1: not found / invalid
  // Where the position is in the chain (internal; nullptr at the end).
  detail::Segment* segment = nullptr;
  std::size_t offset = 0;
  bool valid() const { return pos >= 0; }
};

enum class PtrHow { Set, Add };

// What changed in a buffer, for change callbacks.
struct BufferChange {
  std::size_t orig_size;  // length before the change(s)
  std::size_t n_added;
  std::size_t n_deleted;
};

class Buffer {
 public:
  // Largest total a buffer may hold; adds beyond it fail.
  static constexpr std::size_t kMaxSize = std::size_t{1} << 62;

  Buffer();
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::size_t length() const { return total_; }
  // Bytes removed from the front since the buffer was made (drained,
  // written out, moved to another buffer): with length(), where a byte
  // added now will stand in that count once it is gone.
  std::uint64_t drained_total() const { return drained_total_; }
  bool empty() const { return total_ == 0; }
  // Bytes stored contiguously in the first segment.
  std::size_t contiguous_space() const;

  // ---- adding (each returns 0, or -1 if frozen or the size overflows)
  int add(const void* data, std::size_t len);
  int add(std::string_view s) { return add(s.data(), s.size()); }
  // Return the number of bytes added, or -1.
  int add_printf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  int add_vprintf(const char* fmt, va_list ap) __attribute__((format(printf, 2, 0)));
  // Fails if the front is frozen (it changes the front).
  int prepend(const void* data, std::size_t len);
  // Moves all of `src` to the end (or the front) of this buffer.
  int add_buffer(Buffer& src);
  int prepend_buffer(Buffer& src);
  // Moves up to len bytes from the front of this buffer to the end of dst;
  // returns the number moved, or -1.
  ssize_t remove_buffer(Buffer& dst, std::size_t len);
  // Adds caller memory without copying; cleanup(data, len, arg) runs once
  // the last byte of it has been drained (or the buffer is destroyed), or
  // at once for len 0. On -1 it does not run: the memory stays the caller's.
  using RefCleanup = void (*)(const void* data, std::size_t len, void* arg);
  int add_reference(const void* data, std::size_t len, RefCleanup cleanup, void* arg);
  // Adds `length` bytes of the regular file fd from `offset` (length -1:
  // to the end of the file; a range past the end fails). On success the
  // buffer owns fd and closes it; on -1 the caller still does. write()
  // sends such bytes with sendfile; anything that reads them (copyout,
  // pullup, peek, search, readln) loads them with pread, 1 MiB at a time.
  int add_file(int fd, off_t offset, off_t length);
  // Makes sure `size` bytes can be added without another allocation.
  int expand(std::size_t size);

  // ---- removing (-1 if the front is frozen)
  // Drains min(len, length()) bytes.
  int drain(std::size_t len);
  // Copies up to len bytes out and drains them; returns the count or -1.
  ssize_t remove(void* out, std::size_t len);
  // Copies without draining; from `pos` when given. -1 if a file range
  // cannot be read.
  ssize_t copyout(void* out, std::size_t len) const;
  ssize_t copyout_from(const BufferPtr& pos, void* out, std::size_t len) const;
  // Makes the first `size` bytes (-1: all) contiguous and returns them;
  // nullptr if the buffer holds fewer bytes (or size is 0).
  unsigned char* pullup(ssize_t size);
  // One line without its end-of-line marker, drained with it; nullopt if
  // no complete line is buffered.
  std::optional<std::string> readln(EolStyle style);
  // Everything as a string (copy), for tests and small messages.
  std::string to_string() const;

  // ---- searching (positions count from the start of the buffer)
  BufferPtr search(std::string_view what, const BufferPtr* start = nullptr) const;
  // Only matches that end at or before `end` (nullptr: the end of the buffer).
  BufferPtr search_range(std::string_view what, const BufferPtr* start, const BufferPtr* end) const;
  // The next end-of-line at or after start; *eol_len gets its length.
  BufferPtr search_eol(const BufferPtr* start, std::size_t* eol_len, EolStyle style) const;
  // Moves ptr to an absolute (Set) or relative (Add) position; -1 (and ptr
  // invalid) if past the end. The end itself is a valid position.
  int ptr_set(BufferPtr& ptr, std::size_t position, PtrHow how) const;

  // ---- zero-copy access
  // Fills up to n_vec iovecs with whole segments of data from start
  // (nullptr: the front). len -1: fills all n_vec (or every segment) and
  // returns how many were filled. Otherwise covers at least len bytes and
  // returns how many iovecs that takes, which may exceed n_vec (vec may be
  // nullptr with n_vec 0 to count). Nothing is copied or drained.
  int peek(ssize_t len, const BufferPtr* start, iovec* vec, int n_vec) const;
  // Space for at least `size` bytes at the end in 1 or 2 iovecs (never
  // more, whatever n_vec is; n_vec 1 makes it contiguous); returns how many
  // were used, or -1. Fill them, then commit_space() with the lengths used
  // (lower iov_len, or pass fewer vectors; never change iov_base).
  int reserve_space(std::size_t size, iovec* vec, int n_vec);
  int commit_space(iovec* vec, int n_vec);

  // ---- I/O. Sockets use recvmsg / sendmsg (MSG_NOSIGNAL: a closed peer
  // is EPIPE, never SIGPIPE); other fds readv / writev, where a closed pipe
  // still raises SIGPIPE, so a program writing to pipes ignores it.
  // Reads up to howmuch bytes (-1: up to 4 MiB)
  // from fd with readv. Returns the count, 0 on EOF (or howmuch 0), -1 on
  // error with errno kept (EAGAIN included).
  ssize_t read(int fd, ssize_t howmuch = -1);
  // Writes up to howmuch bytes (-1: everything) with writev, and with
  // sendfile for file ranges, and drains what was written. Returns the
  // count, or -1 with errno if nothing could be written.
  ssize_t write(int fd, ssize_t howmuch = -1);
  // libevent's name for write() with a limit.
  ssize_t write_atmost(int fd, ssize_t howmuch) { return write(fd, howmuch); }

  // ---- callbacks and freezing
  // Run after every change, with the change; a callback must not destroy
  // the buffer. Callbacks may add, remove or modify (re-entrantly).
  using ChangeCallback = std::function<void(Buffer& buf, const BufferChange& change)>;
  int add_cb(ChangeCallback cb);  // returns an id
  // One hook for the object that owns this buffer (a BufferEvent): like a
  // change callback, but a plain function pointer that costs no allocation
  // per buffer. Runs before the callbacks; nullptr removes it.
  using OwnerHook = void (*)(void* owner, Buffer& buf, const BufferChange& change);
  // Whether a drained small tail segment is kept for the next add (faster
  // refills) or freed (less memory while the buffer sits empty, which is
  // what a connection's buffers mostly do). Default: kept.
  void set_keep_drained_tail(bool keep) { keep_drained_tail_ = keep; }
  void set_owner_hook(OwnerHook hook, void* owner) {
    hook_ = hook;
    hook_owner_ = owner;
  }
  // Each returns 0, or -1 for an unknown id.
  int remove_cb(int id);
  int set_cb_enabled(int id, bool enabled);
  // Suspends callbacks until resumed (nestable); the changes meanwhile are
  // reported together, as one BufferChange.
  void suspend_callbacks();
  void resume_callbacks();
  // A frozen front refuses drain / remove / prepend / readln / write and
  // being moved out of; a frozen back refuses add / reserve / commit / read
  // and being moved into.
  void freeze(bool at_front);
  void unfreeze(bool at_front);
  bool frozen(bool at_front) const { return at_front ? front_frozen_ : back_frozen_; }

 private:
  bool append_bytes(const void* data, std::size_t len);
  bool realign_tail(std::size_t need);
  std::size_t grow_hint() const;
  void link_back(detail::Segment* first, detail::Segment* last);
  void link_front(detail::Segment* first, detail::Segment* last);
  void unlink(detail::Segment* s);
  void drop_empty_tail();
  void drain_front(std::size_t len);
  void free_all();
  void changed(std::size_t orig, std::size_t added, std::size_t deleted);
  void notify(const BufferChange& change);
  void take_all(Buffer& src, bool at_front);
  bool resolve(const BufferPtr* ptr, detail::Segment*& seg, std::size_t& off, std::size_t& pos) const;
  bool copy_range(detail::Segment* s, std::size_t offset, void* out, std::size_t len) const;
  bool load_range(detail::Segment* s, std::size_t offset, std::size_t len) const;
  bool matches_at(detail::Segment* s, std::size_t offset, std::string_view what) const;
  ssize_t write_file_run(int fd, std::size_t limit, std::size_t* want);
  ssize_t write_memory(int fd, std::size_t limit, std::size_t* want);

  // 72 bytes: every connection has two Buffers, mostly empty.
  detail::Segment* head_ = nullptr;
  detail::Segment* tail_ = nullptr;  // only the tail may be empty (Inline)
  std::size_t total_ = 0;
  std::uint64_t drained_total_ = 0;
  // Made on the first add_cb or suspend_callbacks: the callbacks, their
  // ids, and the change pending while suspended.
  std::unique_ptr<detail::CallbackList> callbacks_;
  OwnerHook hook_ = nullptr;
  void* hook_owner_ = nullptr;
  // Bytes of fresh segments the next read() offers before its scratch
  // area: twice the last read when that was large, else 0.
  std::uint32_t read_hint_ = 0;
  std::uint16_t suspended_ = 0;
  bool front_frozen_ = false;
  bool back_frozen_ = false;
  bool keep_drained_tail_ = true;
  bool not_socket_ = false;  // ENOTSOCK seen: readv / writev, not recvmsg / sendmsg
};

}  // namespace ev
