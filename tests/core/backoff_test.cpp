// Backoff: bounded, growing ceilings, seeded determinism, reset.
#include "holdfast/backoff.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

TEST(backoff, delays_stay_within_floor_and_the_growing_ceiling) {
    backoff b({100, 2000, 10}, 42);
    for (std::uint32_t attempt = 0; attempt < 30; ++attempt) {
        const std::uint32_t ceiling = std::min<std::uint32_t>(2000, 100u << std::min(attempt, 20u));
        const auto d = b.next_delay_ms();
        EXPECT_GE(d, 10u);
        EXPECT_LE(d, ceiling) << "attempt " << attempt;
    }
    EXPECT_EQ(b.attempt(), 30u);
}

TEST(backoff, same_seed_same_delays_and_reset_restarts) {
    backoff a({100, 5000, 0}, 7), b({100, 5000, 0}, 7), c({100, 5000, 0}, 8);
    bool differs = false;
    for (int i = 0; i < 8; ++i) {
        const auto x = a.next_delay_ms();
        EXPECT_EQ(x, b.next_delay_ms());
        differs |= x != c.next_delay_ms();
    }
    EXPECT_TRUE(differs) << "jitter must depend on the seed";
    a.reset();
    EXPECT_EQ(a.attempt(), 0u);
    EXPECT_LE(a.next_delay_ms(), 100u);
}

} // namespace
} // namespace holdfast::client
