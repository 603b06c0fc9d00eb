// Where `http get` / `http post` put a response: stdout or a file (which
// may be a FIFO), written as the body arrives without blocking the loop.
// What the destination does not take yet stays in the caller's buffer (the
// client's body buffer), so a slow reader pauses the download instead of
// growing memory. Plus the progress bar CLI.md promises for `-o` on a TTY.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/event.h"
#include "engine/core/event_base.h"
#include "engine/io/buffer.h"

namespace evtool {

class BodySink {
 public:
  // Called from the loop once everything handed over has been written
  // (err 0), or when writing failed (err is the errno).
  using DoneFn = std::function<void(int err)>;

  // path empty: stdout. The file is opened (created, truncated) on the
  // first write, so a failed request leaves none behind.
  BodySink(ev::EventBase& base, std::string path, DoneFn on_done);
  ~BodySink();
  BodySink(const BodySink&) = delete;
  BodySink& operator=(const BodySink&) = delete;

  // Text of our own (response heads for -i), written before any more of
  // the source.
  bool write_text(std::string_view text);
  // Writes what the destination takes of `source` now, draining it; the
  // rest is written from the loop as the destination is ready. `source`
  // must live until on_done.
  bool write(ev::Buffer& source);
  // Creates the file if nothing was written (an empty body).
  bool touch();
  bool idle() const;
  std::uint64_t written() const { return written_; }
  // "stdout" or the path, for messages.
  std::string name() const { return path_.empty() ? "stdout" : path_; }
  int error() const { return error_; }

 private:
  bool open();
  bool flush();
  static void on_writable(int fd, short what, void* arg);

  ev::EventBase& base_;
  std::string path_;
  DoneFn on_done_;
  int fd_ = -1;
  bool own_fd_ = false;
  ev::Buffer text_;
  ev::Buffer* source_ = nullptr;
  ev::Event writable_;
  std::uint64_t written_ = 0;
  int error_ = 0;
};

// "\r 42.0%  2.1 MiB / 5.0 MiB  1.3 MiB/s" on stderr, at most ten times a
// second; finish() ends the line.
class ProgressBar {
 public:
  explicit ProgressBar(std::optional<std::uint64_t> total) : total_(total) {}
  void update(std::uint64_t bytes, bool force = false);
  void finish(std::uint64_t bytes);

 private:
  std::optional<std::uint64_t> total_;
  ev::TimePoint started_ = std::chrono::steady_clock::now();
  ev::TimePoint last_{};
  bool shown_ = false;
};

}  // namespace evtool
