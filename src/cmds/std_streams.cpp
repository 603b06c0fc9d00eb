#include "cmds/std_streams.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "engine/io/buffer.h"
#include "engine/util/socket.h"

namespace evtool {

// ---- stdin ----------------------------------------------------------------

StdinReader::StdinReader(ev::EventBase& base, DataFn on_data, EofFn on_eof)
    : base_(base), on_data_(std::move(on_data)), on_eof_(std::move(on_eof)) {
  ev::make_socket_nonblocking(STDIN_FILENO);
  ev_.assign(base, STDIN_FILENO, ev::kRead | ev::kPersist, &StdinReader::on_ready, this);
  if (ev_.add() != 0) {
    // epoll refuses regular files (and /dev/null): they are always ready.
    pump_ = true;
    ev_.assign(base, -1, 0, &StdinReader::on_ready, this);
    ev_.add(ev::Duration(0));
  }
}

void StdinReader::pause() {
  paused_ = true;
  ev_.del();
}

void StdinReader::resume() {
  if (!paused_ || done_) return;
  paused_ = false;
  if (pump_) ev_.add(ev::Duration(0));
  else ev_.add();
}

void StdinReader::on_ready(int, short, void* arg) { static_cast<StdinReader*>(arg)->read_some(); }

void StdinReader::read_some() {
  char buf[64 * 1024];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    if (pump_ && !paused_) ev_.add(ev::Duration(1000));
    return;
  }
  if (n <= 0) {
    done_ = true;
    ev_.del();
    on_eof_(n < 0 ? errno : 0);
    return;
  }
  if (pump_ && !paused_) ev_.add(ev::Duration(0));
  on_data_(buf, static_cast<std::size_t>(n));
}

// ---- stdout ---------------------------------------------------------------

namespace {
// After a failed write to fd: true to try again (interrupted, or a
// non-blocking fd that is full: wait until it drains).
bool retry_write(int fd) {
  if (errno == EINTR) return true;
  if (errno != EAGAIN) return false;
  pollfd pfd{fd, POLLOUT, 0};
  ::poll(&pfd, 1, -1);
  return true;
}
}  // namespace

bool write_all(int fd, const void* data, std::size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (retry_write(fd)) continue;
      return false;
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_stdout(const void* data, std::size_t len) { return write_all(STDOUT_FILENO, data, len); }

bool write_stdout(ev::Buffer& buf) {
  while (!buf.empty())
    if (buf.write(STDOUT_FILENO) < 0 && !retry_write(STDOUT_FILENO)) return false;
  return true;
}

}  // namespace evtool
