#include "cmds/http_file_cache.h"

#include <fcntl.h>

namespace evtool {
namespace {

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

FileCache& FileCache::for_thread(int root_fd) {
  thread_local FileCache cache;
  if (cache.root_fd_ != root_fd) {
    cache.entries_.clear();
    cache.root_fd_ = root_fd;
  }
  return cache;
}

const FileCache::Entry* FileCache::lookup(const std::string& relative) {
  if (relative.empty()) return nullptr;
  auto it = entries_.find(relative);
  if (it == entries_.end()) return nullptr;
  if (it->second.checked == round_) return &it->second;
  struct stat now {};
  if (::fstatat(root_fd_, relative.c_str(), &now, 0) != 0 || !S_ISREG(now.st_mode) || !same_file(now, it->second.st)) {
    entries_.erase(it);
    return nullptr;
  }
  it->second.checked = round_;
  return &it->second;
}

const FileCache::Entry& FileCache::store(const std::string& relative, const struct stat& st, std::string data) {
  if (entries_.size() >= kMaxEntries) entries_.clear();  // simple and bounded; a hot set refills at once
  auto [it, inserted] = entries_.insert_or_assign(relative, Entry{st, std::move(data), round_});
  return it->second;
}

}  // namespace evtool
