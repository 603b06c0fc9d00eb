// Parsing of the durations, sizes and rates users type on command lines.
// "500us", "250ms", "1.5s", "2m", "1h", bare numbers are seconds;
// "512", "64k", "1M", "2G" are bytes (powers of 1024).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ev {

// Non-negative, finite, at most a year. nullopt for anything else.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text);
// Non-negative, at most 2^62. nullopt for anything else.
std::optional<std::uint64_t> parse_size(std::string_view text);
// "1.500s", "250ms", "42us": for messages.
std::string format_duration(std::chrono::microseconds d);

}  // namespace ev
