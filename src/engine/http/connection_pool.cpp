#include "engine/http/detail/connection_pool.h"

#include <algorithm>

namespace ev::http::detail {

std::unique_ptr<BufferEvent> ConnectionPool::take(const std::string& key) {
  // The most recently used one: the least likely to have timed out.
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (it->key != key) continue;
    std::unique_ptr<BufferEvent> conn = std::move(it->conn);
    idle_.erase(std::next(it).base());
    conn->disable(kRead);
    conn->setcb(nullptr, nullptr, nullptr);
    return conn;
  }
  return nullptr;
}

void ConnectionPool::put(const std::string& key, std::unique_ptr<BufferEvent> conn) {
  if (max_idle_ == 0) return;
  if (idle_.size() >= max_idle_) idle_.pop_front();
  BufferEvent* raw = conn.get();
  // Data or EOF on an idle connection: the server gave up on it (or broke
  // the protocol). Either way it cannot carry another request.
  raw->setcb([this](BufferEvent& b) { drop(&b); }, nullptr, [this](BufferEvent& b, short) { drop(&b); });
  raw->enable(kRead);
  idle_.push_back(Idle{key, std::move(conn)});
}

void ConnectionPool::drop(BufferEvent* conn) {
  auto it = std::find_if(idle_.begin(), idle_.end(), [conn](const Idle& i) { return i.conn.get() == conn; });
  if (it != idle_.end()) idle_.erase(it);  // a BufferEvent may be destroyed in its own callback
}

}  // namespace ev::http::detail
