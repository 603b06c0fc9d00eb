#include "cmds/http_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace evtool {

BodySink::BodySink(ev::EventBase& base, std::string path, DoneFn on_done)
    : base_(base), path_(std::move(path)), on_done_(std::move(on_done)) {}

BodySink::~BodySink() {
  writable_.del();
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

// A pipe or FIFO is written without blocking, so that a slow reader
// pauses the download rather than the whole loop (timeouts, SIGINT).
bool BodySink::open() {
  if (fd_ >= 0) return true;
  struct stat st{};
  if (path_.empty()) {
    fd_ = STDOUT_FILENO;
    // Our own open file description of the same pipe: O_NONBLOCK on it
    // does not change the one our parent shares.
    if (::fstat(fd_, &st) == 0 && S_ISFIFO(st.st_mode)) {
      int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        fd_ = fd;
        own_fd_ = true;
      }
    }
  } else {
    // A FIFO blocks here until a reader opens it, as with any writer.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      error_ = errno;
      return false;
    }
    own_fd_ = true;
    if (::fstat(fd_, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
      ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  writable_.assign(base_, fd_, ev::kWrite, &BodySink::on_writable, this);
  return true;
}

bool BodySink::write_text(std::string_view text) {
  text_.add(text);
  if (writable_.pending(ev::kWrite)) return true;
  return open() && flush();
}

bool BodySink::write(ev::Buffer& source) {
  source_ = &source;
  if (writable_.pending(ev::kWrite)) return true;  // on_writable goes on
  return open() && flush();
}

bool BodySink::touch() { return open(); }

bool BodySink::idle() const { return text_.empty() && (!source_ || source_->empty()); }

// Writes until done or the destination is full (then waits for it).
bool BodySink::flush() {
  for (ev::Buffer* buf : {&text_, source_}) {
    while (buf && !buf->empty()) {
      ssize_t n = buf->write(fd_);
      if (n >= 0) {
        if (buf == source_) written_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        writable_.add();
        return true;
      }
      error_ = errno;
      return false;
    }
  }
  return true;
}

void BodySink::on_writable(int, short, void* arg) {
  auto* s = static_cast<BodySink*>(arg);
  bool ok = s->flush();
  if (!ok) return s->on_done_(s->error_);
  if (s->idle()) s->on_done_(0);
}

// ---- progress -------------------------------------------------------------

namespace {

std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

}  // namespace

void ProgressBar::update(std::uint64_t bytes, bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  double secs = std::chrono::duration<double>(now - started_).count();
  std::string rate = secs > 0 ? human(static_cast<double>(bytes) / secs) + "/s" : "";
  if (total_ && *total_ > 0) {
    constexpr int kWidth = 30;
    double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(*total_));
    int filled = static_cast<int>(frac * kWidth);
    std::string bar = std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(kWidth - filled), ' ');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %s / %s  %s\033[K", bar.c_str(), frac * 100, human(static_cast<double>(bytes)).c_str(),
                 human(static_cast<double>(*total_)).c_str(), rate.c_str());
  } else {
    std::fprintf(stderr, "\r%s  %s\033[K", human(static_cast<double>(bytes)).c_str(), rate.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::finish(std::uint64_t bytes) {
  update(bytes, true);
  std::fputc('\n', stderr);
}

}  // namespace evtool
