// A request body as the client sends it: a sequence of pieces (bytes held
// in memory, ranges of open files, or one stream such as stdin that is read
// while it is sent). Files are sent from disk (Buffer::add_file, sendfile),
// so an upload of any size costs constant memory. A body without a stream
// has a known length (Content-Length) and can be sent again, e.g. after a
// 307 redirect; a stream body is sent chunked, once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/buffer.h"

namespace ev::http {

class RequestBody {
 public:
  RequestBody() = default;
  ~RequestBody();
  RequestBody(RequestBody&& other) noexcept;
  RequestBody& operator=(RequestBody&& other) noexcept;
  RequestBody(const RequestBody&) = delete;
  RequestBody& operator=(const RequestBody&) = delete;

  void add_bytes(std::string_view data);
  // The whole of a regular file, opened now (so a missing file is found
  // before connecting) and read when the body is sent. False with `why`.
  bool add_file(const std::string& path, std::string* why);
  // A regular file the caller opened (e.g. stdin redirected from a file),
  // from its current offset to its end. fd stays the caller's. False with
  // `why` if fd is not a regular file.
  bool add_fd(int fd, std::string* why);
  // A pipe or other stream read until EOF as the body is sent; it must be
  // the only piece. fd stays the caller's.
  void set_stream(int fd);
  // Moves every piece of `other` (which must have no stream) to the end.
  void append(RequestBody&& other);

  bool empty() const { return pieces_.empty() && stream_fd_ < 0; }
  // Total bytes, or nullopt for a stream (sent chunked).
  std::optional<std::uint64_t> length() const;
  bool replayable() const { return stream_fd_ < 0; }
  int stream_fd() const { return stream_fd_; }

  // Appends every piece to `out` (file pieces as file ranges, not copies).
  // Only for bodies without a stream. False with errno set on failure.
  bool append_to(Buffer& out) const;

 private:
  struct Piece {
    std::string bytes;  // when fd < 0
    int fd = -1;        // owned; dup'ed for each send
    off_t offset = 0;
    off_t length = 0;
  };
  std::vector<Piece> pieces_;
  int stream_fd_ = -1;
};

}  // namespace ev::http
