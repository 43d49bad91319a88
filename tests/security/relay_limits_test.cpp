// The relay core's rate limit driven directly (no shell to pause reads): the first overrun is
// reported once, the read pause tells the shell how long to wait, and a peer that keeps sending
// past the debt bound is closed with 4029 while another connection is untouched.
// Layer: tests (relay, sans-I/O).
#include "relay_test_support.hpp"

#include <gtest/gtest.h>

namespace holdfast::relay::testing {
namespace {

relay_config tight() {
    relay_config c;
    c.max_frame_bytes = 64 * 1024;
    c.max_frames_per_second = 10;
    c.rate_burst_seconds = 1;  // 10 frames of burst
    c.rate_debt_seconds = 1;   // 10 frames of debt
    return c;
}

class rate_limit_test : public relay_core_fixture {
protected:
    rate_limit_test() : relay_core_fixture(tight()) {}
};

TEST_F(rate_limit_test, overrun_is_reported_once_then_paused_then_closed_past_the_debt) {
    connect(1);  // hello: 1 frame of the 10
    connect(2);
    std::vector<proto::frame> seen;
    std::optional<close_directive> closed;
    std::uint64_t nonce = 0;
    while (!closed && nonce < 100) {
        auto out = send(1, proto::ping{++nonce});
        for (auto& f : out.to(1)) seen.push_back(f);
        if (out.closed.contains(1)) closed = out.closed.at(1);
        if (nonce == 12) {
            EXPECT_GT(core_.read_pause_ms(1), 0u) << "in debt: the shell must wait";
        }
    }
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->code, close_status::rate_limited);
    EXPECT_EQ(closed->reason, "rate_limited");
    int notices = 0;
    std::uint64_t last_pong = 0;
    for (const auto& f : seen) {
        if (auto* pong = std::get_if<proto::pong>(&f)) {
            EXPECT_EQ(pong->nonce, last_pong + 1) << "every frame read before the close is answered, in order";
            last_pong = pong->nonce;
        }
        if (auto* error = std::get_if<proto::error_frame>(&f)) {
            EXPECT_EQ(error->code, static_cast<std::uint32_t>(errc::rate_limited));
            ++notices;
        }
    }
    EXPECT_EQ(notices, 2) << "one notice for the episode, one with the close";
    EXPECT_GE(last_pong, 15u);
    EXPECT_EQ(core_.metrics().rate_limit_closes_total, 1u);
    // The other connection is served as if nothing happened.
    EXPECT_EQ(send(2, proto::ping{7}).of_type<proto::pong>(2).at(0).nonce, 7u);
}

TEST_F(rate_limit_test, the_pause_ends_when_time_repays_the_debt) {
    connect(1);
    for (std::uint64_t nonce = 1; nonce <= 14; ++nonce) send(1, proto::ping{nonce});
    const std::uint64_t pause = core_.read_pause_ms(1);
    EXPECT_GT(pause, 300u);
    EXPECT_LT(pause, 1000u);
    now_ += pause;
    EXPECT_EQ(core_.read_pause_ms(1), 0u);
    // Refilled to the full burst: a new episode is reported again.
    now_ += 5000;
    int notices = 0;
    for (std::uint64_t nonce = 100; nonce < 115; ++nonce) notices += static_cast<int>(send(1, proto::ping{nonce}).of_type<proto::error_frame>(1).size());
    EXPECT_EQ(notices, 1);
}

TEST_F(rate_limit_test, sessions_per_connection_are_capped) {
    relay_config c = relay_core_fixture::config();
    c.max_sessions_per_connection = 2;
    memory_store store([] { return std::uint64_t{77}; });
    relay_core core(store, c, [this] { return ++now_; });
    core.on_open(1);
    core.on_frame(1, proto::encode(proto::hello{}));
    for (const char* s : {"a", "b", "c", "a"}) core.on_frame(1, proto::encode(proto::attach{s, 0, 0}));
    auto out = decode_outputs(core.take_outputs());
    EXPECT_EQ(out.of_type<proto::attached>(1).size(), 3u) << "a, b, then a again (already attached)";
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::limit_exceeded));
    EXPECT_EQ(errors[0].session, std::optional<std::string>("c"));
}

} // namespace
} // namespace holdfast::relay::testing
