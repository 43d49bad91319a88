// The simulator's randomness: xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/) seeded
// through splitmix64, so one 64-bit seed fixes every choice of a run. Each concern (faults and
// user actions, the network, the agents) draws from its own stream, so removing one scheduled
// action while shrinking a failure does not reshuffle the others. Layer: tests (simulator).
#pragma once
#include <cstdint>

namespace holdfast::sim {

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class rng {
public:
    /// `stream` separates the concerns drawing from one seed.
    rng(std::uint64_t seed, std::uint64_t stream) {
        std::uint64_t mix = seed ^ (stream * 0xd1b54a32d192ed03ull);
        for (auto& word : s_) word = splitmix64(mix);
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, n); 0 when n is 0. (The modulo bias is irrelevant at these sizes.)
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
    /// Uniform in [lo, hi].
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
    /// True with probability per_mille / 1000.
    bool chance(std::uint32_t per_mille) { return below(1000) < per_mille; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

} // namespace holdfast::sim
