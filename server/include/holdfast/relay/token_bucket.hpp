// A token bucket (the classic traffic-shaping meter): `rate` units per second refill up to
// `capacity`; taking may drive the level negative, and the debt is how long the taker must wait.
// Layer: relay (sans-I/O). Time comes from a callable and is read only when the level does not
// cover a request, so a connection within its budget costs no clock read (and tests that count
// clock reads are not disturbed). Used per connection for frames/s and bytes/s.
#pragma once
#include <algorithm>
#include <cstdint>

namespace holdfast::relay {

class token_bucket {
public:
    token_bucket() = default;
    /// rate 0: unlimited (wait_ms is always 0). Starts full.
    token_bucket(double rate_per_second, double capacity) : rate_(rate_per_second), capacity_(capacity), level_(capacity) {}

    template <class Now>
    void take(double amount, Now&& now) {
        if (rate_ <= 0) return;
        if (level_ < amount) refill(now());
        level_ -= amount;
    }

    /// Milliseconds until the level is back to zero (0 when not in debt).
    template <class Now>
    std::uint64_t wait_ms(Now&& now) {
        if (rate_ <= 0 || level_ >= 0) return 0;
        refill(now());
        if (level_ >= 0) return 0;
        return static_cast<std::uint64_t>(-level_ * 1000.0 / rate_) + 1;
    }

    template <class Now>
    bool full(Now&& now) {
        if (rate_ <= 0 || level_ >= capacity_) return true;
        refill(now());
        return level_ >= capacity_;
    }

private:
    void refill(std::uint64_t now_ms) {
        // The first reading only sets the origin: until then the bucket was full or spending.
        if (!started_) {
            started_ = true;
            updated_ms_ = now_ms;
            return;
        }
        if (now_ms > updated_ms_) {
            level_ = std::min(capacity_, level_ + rate_ * static_cast<double>(now_ms - updated_ms_) / 1000.0);
            updated_ms_ = now_ms;
        }
    }

    double rate_ = 0;
    double capacity_ = 0;
    double level_ = 0;
    std::uint64_t updated_ms_ = 0;
    bool started_ = false;
};

} // namespace holdfast::relay
