// Every backend compiled in, in order of preference (epoll, poll, select).
// A new backend is one file and one line here.
#include "engine/core/detail/backend.h"
#include "engine/core/event_base.h"

namespace ev::detail {

namespace {
const BackendEntry kEntries[] = {
    {"epoll", kFeatureET | kFeatureO1 | kFeatureEarlyClose, &make_epoll_backend},
    {"poll", kFeatureFDS | kFeatureEarlyClose, &make_poll_backend},
    {"select", kFeatureFDS, &make_select_backend},
};
}  // namespace

const BackendEntry* backend_entries(std::size_t* count) {
  *count = sizeof kEntries / sizeof kEntries[0];
  return kEntries;
}

}  // namespace ev::detail
