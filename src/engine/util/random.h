// Secure random numbers from the kernel (getrandom), for DNS IDs, ports,
// 0x20 case randomisation and anything an attacker must not predict.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ev {

// Fills buf with len unpredictable bytes. Never fails (aborts if the kernel
// cannot supply randomness at all).
void secure_random(void* buf, std::size_t len);
std::uint32_t secure_random_u32();
// Uniform in [0, bound) without modulo bias; bound > 0.
std::uint32_t secure_random_uniform(std::uint32_t bound);

}  // namespace ev
