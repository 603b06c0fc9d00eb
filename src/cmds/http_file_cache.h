// Small files kept in memory by `http serve`, one cache per thread (so no
// locks). An entry is used only while the file is unchanged: one fstatat
// per request compares device, inode, size, mtime and ctime, instead of
// open + fstat + read + close. Entries are made only from files opened
// safely below the root, so a path later swapped for a symlink out of the
// root stats as another inode and misses.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace evtool {

class FileCache {
 public:
  static constexpr off_t kMaxFileSize = 16 * 1024;
  static constexpr std::size_t kMaxEntries = 256;

  struct Entry {
    struct stat st;
    std::string data;
    std::uint64_t checked = 0;  // the round whose stat(2) last confirmed it
  };

  // The calling thread's cache for the root directory `root_fd`.
  static FileCache& for_thread(int root_fd);

  // The entry for `relative` if its file is unchanged, else nullptr. The
  // file is stat'ed once per round: a round is one loop iteration (the
  // server calls next_round() each time its loop has waited), so a client
  // that changes a file and asks again always sees the change, while the
  // many requests one iteration serves cost one stat(2), not one each.
  const Entry* lookup(const std::string& relative);
  void next_round() { ++round_; }
  const Entry& store(const std::string& relative, const struct stat& st, std::string data);

 private:
  int root_fd_ = -1;
  std::uint64_t round_ = 1;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace evtool
