// Small files kept in memory by `http serve`, one cache per thread (so no
// locks). An entry is used only while the file is unchanged: one fstatat
// per request compares device, inode, size, mtime and ctime, instead of
// open + fstat + read + close. Entries are made only from files opened
// safely below the root, so a path later swapped for a symlink out of the
// root stats as another inode and misses.
#pragma once

#include <sys/stat.h>

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
  };

  // The calling thread's cache for the root directory `root_fd`.
  static FileCache& for_thread(int root_fd);

  // The entry for `relative` if its file is unchanged, else nullptr.
  const Entry* lookup(const std::string& relative);
  const Entry& store(const std::string& relative, const struct stat& st, std::string data);

 private:
  int root_fd_ = -1;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace evtool
