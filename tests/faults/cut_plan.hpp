// cut_plan: the seeded schedule of link cuts the fault proxy applies — for the n-th accepted
// connection, after how many forwarded bytes (both directions counted) it is cut, if at all.
// Layer: tests (faults). Pure and deterministic: the same seed gives the same schedule, so a
// failing run is replayed by its seed (socket timing still varies which client gets which cut).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

namespace holdfast::faults {

struct cut_config {
    std::uint64_t seed = 1;
    std::size_t max_cuts = 20;          // cuts per run; later connections are left alone
    std::size_t min_bytes = 1;          // 1: a cut can land inside the HTTP upgrade itself
    std::size_t max_bytes = 64 * 1024;
};

class cut_plan {
public:
    explicit cut_plan(cut_config config) : config_(config), state_(config.seed) {}

    /// The byte budget of the next accepted connection; one draw per connection, armed or not,
    /// so the schedule depends only on the seed and the number of connections.
    std::size_t draw_budget() {
        const std::size_t span = config_.max_bytes - config_.min_bytes + 1;
        return config_.min_bytes + static_cast<std::size_t>(next_random() % span);
    }
    const cut_config& config() const noexcept { return config_; }

private:
    /// splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014).
    std::uint64_t next_random() noexcept {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    cut_config config_;
    std::uint64_t state_;
};

} // namespace holdfast::faults
