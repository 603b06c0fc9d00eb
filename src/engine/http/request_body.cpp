#include "engine/http/request_body.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ev::http {

RequestBody::~RequestBody() {
  for (Piece& p : pieces_)
    if (p.fd >= 0) ::close(p.fd);
}

RequestBody::RequestBody(RequestBody&& other) noexcept
    : pieces_(std::move(other.pieces_)), stream_fd_(std::exchange(other.stream_fd_, -1)) {
  other.pieces_.clear();
}

RequestBody& RequestBody::operator=(RequestBody&& other) noexcept {
  if (this != &other) {
    for (Piece& p : pieces_)
      if (p.fd >= 0) ::close(p.fd);
    pieces_ = std::move(other.pieces_);
    other.pieces_.clear();
    stream_fd_ = std::exchange(other.stream_fd_, -1);
  }
  return *this;
}

void RequestBody::add_bytes(std::string_view data) {
  if (data.empty()) return;
  if (!pieces_.empty() && pieces_.back().fd < 0) {
    pieces_.back().bytes.append(data);
    return;
  }
  pieces_.push_back(Piece{std::string(data), -1, 0, 0});
}

bool RequestBody::add_file(const std::string& path, std::string* why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (why) *why = path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = add_fd(fd, why);
  ::close(fd);
  if (!ok && why) *why = path + ": " + *why;
  return ok;
}

bool RequestBody::add_fd(int fd, std::string* why) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (why) *why = "not a regular file";
    return false;
  }
  off_t offset = ::lseek(fd, 0, SEEK_CUR);
  if (offset < 0 || offset > st.st_size) offset = 0;
  int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) {
    if (why) *why = std::strerror(errno);
    return false;
  }
  if (st.st_size > offset) pieces_.push_back(Piece{{}, own, offset, st.st_size - offset});
  else ::close(own);
  return true;
}

void RequestBody::set_stream(int fd) { stream_fd_ = fd; }

void RequestBody::append(RequestBody&& other) {
  for (Piece& p : other.pieces_) {
    if (p.fd < 0) add_bytes(p.bytes);
    else pieces_.push_back(std::exchange(p, Piece{}));
  }
  other.pieces_.clear();
}

std::optional<std::uint64_t> RequestBody::length() const {
  if (stream_fd_ >= 0) return std::nullopt;
  std::uint64_t total = 0;
  for (const Piece& p : pieces_) total += p.fd >= 0 ? static_cast<std::uint64_t>(p.length) : p.bytes.size();
  return total;
}

bool RequestBody::append_to(Buffer& out) const {
  for (const Piece& p : pieces_) {
    if (p.fd < 0) {
      if (out.add(p.bytes) != 0) return false;
      continue;
    }
    // The buffer owns (and closes) what it is given: a duplicate, so the
    // body can be sent again.
    int fd = ::fcntl(p.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return false;
    if (out.add_file(fd, p.offset, p.length) != 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      return false;
    }
  }
  return true;
}

}  // namespace ev::http
