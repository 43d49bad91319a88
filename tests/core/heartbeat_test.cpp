// Dead-link detection and wake-ups: the heartbeat must notice a silent link (a stalled socket
// never closes by itself), never condemn a link that is carrying traffic, and tolerate ticks
// that arrive late (throttled background tabs).
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

client_config config() {
    client_config c;
    c.client_id = "c";
    c.producer_epoch = 5;
    c.heartbeat = {1000, 500};
    return c;
}

std::size_t count_pings(const std::vector<std::string>& frames) {
    std::size_t n = 0;
    for (const auto& f : frames) n += std::holds_alternative<proto::ping>(proto::decode(f).value());
    return n;
}

TEST(heartbeat, an_idle_link_is_pinged_and_a_silent_one_declared_dead) {
    client_core c(config());
    (void)c.open_session("s");
    c.on_tick(10'000);
    c.on_transport_open();
    (void)c.take_frames();
    c.on_tick(10'100);                    // the open counts as traffic
    c.on_tick(10'900);
    EXPECT_EQ(count_pings(c.take_frames()), 0u) << "not idle for a whole interval yet";
    c.on_tick(11'150);
    EXPECT_EQ(count_pings(c.take_frames()), 1u);
    c.on_tick(11'400);
    EXPECT_TRUE(c.connected()) << "still within the timeout";
    EXPECT_EQ(count_pings(c.take_frames()), 0u) << "one ping outstanding at a time";
    c.on_tick(11'700);
    EXPECT_FALSE(c.connected());
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find("\"closeLink\":true"), std::string::npos) << updates;
    EXPECT_NE(updates.find("\"retry\":{"), std::string::npos) << updates;
    EXPECT_NE(updates.find("\"state\":\"offline\""), std::string::npos) << updates;
    EXPECT_EQ(c.take_updates_json(), "") << "closeLink and the retry are reported once";
}

TEST(heartbeat, any_received_frame_answers_the_ping) {
    client_core c(config());
    c.on_transport_open();
    (void)c.take_frames();
    c.on_tick(0);  // the first tick after traffic starts the idle clock
    c.on_tick(1'000);
    ASSERT_EQ(count_pings(c.take_frames()), 1u);
    c.on_frame(proto::encode(proto::pong{1}));
    c.on_tick(1'600);  // past the timeout, but the pong came
    EXPECT_TRUE(c.connected());
    c.on_frame(proto::encode(proto::attached{"other", 1, 0}));  // traffic of any kind
    c.on_tick(2'500);
    EXPECT_EQ(count_pings(c.take_frames()), 0u) << "traffic at the last tick: not idle";
    EXPECT_TRUE(c.connected());
}

TEST(heartbeat, late_ticks_do_not_condemn_a_link_that_answered) {
    client_core c(config());
    c.on_transport_open();
    (void)c.take_frames();
    c.on_tick(0);
    c.on_tick(60'000);  // a throttled tab: a minute between ticks
    ASSERT_EQ(count_pings(c.take_frames()), 1u);
    c.on_frame(proto::encode(proto::pong{1}));  // answered within milliseconds
    c.on_tick(120'000);
    EXPECT_TRUE(c.connected());
}

TEST(heartbeat, wake_checks_an_open_link_and_reconnects_a_closed_one_now) {
    client_core c(config());
    c.on_transport_open();
    (void)c.take_frames();
    c.on_wake(500);
    EXPECT_EQ(count_pings(c.take_frames()), 1u) << "a sleeping laptop's socket may be dead";
    c.on_tick(1'100);
    EXPECT_FALSE(c.connected()) << "no answer within the timeout after the wake ping";
    (void)c.take_updates_json();
    c.on_wake(2'000);
    EXPECT_NE(c.take_updates_json().find("\"connectNow\":true"), std::string::npos);
}

TEST(heartbeat, offline_drops_the_link_and_online_reconnects_now_with_a_fresh_backoff) {
    client_core c(config());
    (void)c.open_session("s");
    c.on_transport_open();
    c.on_network_offline();
    EXPECT_FALSE(c.connected());
    std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find("\"closeLink\":true"), std::string::npos) << updates;
    EXPECT_NE(updates.find("\"state\":\"offline\""), std::string::npos) << updates;
    c.on_transport_closed();  // a failed attempt while still offline
    (void)c.take_updates_json();
    c.on_network_online(10);
    updates = c.take_updates_json();
    EXPECT_NE(updates.find("\"connectNow\":true"), std::string::npos) << updates;
    c.on_transport_closed();
    EXPECT_NE(c.take_updates_json().find("\"retry\":{\"attempt\":1,"), std::string::npos) << "backoff restarted";
}

} // namespace
} // namespace holdfast::client
