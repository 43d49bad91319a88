// Reconnect delays: exponential with full jitter and a cap ("Exponential Backoff and Jitter",
// AWS Architecture Blog, 2015), from a seeded generator so simulations replay exactly.
// Layer: portable core.
#pragma once
#include <cstdint>

namespace holdfast::client {

struct backoff_config {
    std::uint32_t base_ms = 250;
    std::uint32_t cap_ms = 10'000;
    std::uint32_t floor_ms = 50;  // full jitter can draw ~0: a floor keeps a flapping link from spinning
};

class backoff {
public:
    explicit backoff(backoff_config config = {}, std::uint64_t seed = 0x9E3779B97F4A7C15ull);

    /// Delay before the next attempt; each call counts one more failed attempt.
    std::uint32_t next_delay_ms();
    /// The link worked: the next failure starts from the base again.
    void reset() noexcept { attempt_ = 0; }
    std::uint32_t attempt() const noexcept { return attempt_; }

private:
    std::uint64_t next_random() noexcept;

    backoff_config config_;
    std::uint64_t state_;
    std::uint32_t attempt_ = 0;
};

} // namespace holdfast::client
