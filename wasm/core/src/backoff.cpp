// Full-jitter exponential backoff from a splitmix64 stream. Layer: portable core.
#include "holdfast/backoff.hpp"

#include <algorithm>

namespace holdfast::client {

backoff::backoff(backoff_config config, std::uint64_t seed) : config_(config), state_(seed) {}

std::uint64_t backoff::next_random() noexcept {
    // splitmix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for jitter.
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::uint32_t backoff::next_delay_ms() {
    const std::uint32_t shift = std::min<std::uint32_t>(attempt_, 20);
    const std::uint64_t ceiling = std::min<std::uint64_t>(config_.cap_ms, std::uint64_t{config_.base_ms} << shift);
    ++attempt_;
    const std::uint64_t drawn = ceiling == 0 ? 0 : next_random() % (ceiling + 1);
    return static_cast<std::uint32_t>(std::max<std::uint64_t>(drawn, config_.floor_ms));
}

} // namespace holdfast::client
