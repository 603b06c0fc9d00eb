// Idle kept-alive client connections, keyed by origin ("http://host:port").
// An idle connection that the server closes, or that receives anything
// (no response is owed on it), is dropped at once. Internal to the client.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>

#include "engine/io/buffer_event.h"

namespace ev::http::detail {

class ConnectionPool {
 public:
  explicit ConnectionPool(std::size_t max_idle) : max_idle_(max_idle) {}

  // An idle connection to `key`, or nullptr. Its callbacks are cleared and
  // reading is disabled: the taker installs its own.
  std::unique_ptr<BufferEvent> take(const std::string& key);
  // Keeps `conn` (whose input must be empty) for the next request to key;
  // the oldest idle connection goes when the pool is full.
  void put(const std::string& key, std::unique_ptr<BufferEvent> conn);
  std::size_t size() const { return idle_.size(); }
  void clear() { idle_.clear(); }

 private:
  struct Idle {
    std::string key;
    std::unique_ptr<BufferEvent> conn;
  };
  void drop(BufferEvent* conn);

  std::size_t max_idle_;
  std::list<Idle> idle_;
};

}  // namespace ev::http::detail
