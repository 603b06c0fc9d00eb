// Base64 (RFC 4648, with padding): HTTP Basic credentials, binary bodies
// in JSON.
#pragma once

#include <string>
#include <string_view>

namespace ev {

std::string base64_encode(std::string_view data);

}  // namespace ev
