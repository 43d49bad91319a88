// The fault kit itself: the cut plan replays from its seed, and a stalled link (no bytes, no
// close) is noticed by the core's heartbeat through client_host, which reconnects and resumes.
// Layer: tests (faults).
#include "fault_proxy.hpp"
#include "relay_process.hpp"

#include "holdfast/native/client_host.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace holdfast::faults {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

TEST(cut_plan, same_seed_same_schedule_within_bounds) {
    cut_config config;
    config.seed = 42;
    config.min_bytes = 10;
    config.max_bytes = 20;
    cut_plan a(config), b(config);
    config.seed = 43;
    cut_plan c(config);
    bool differs = false;
    for (int i = 0; i < 200; ++i) {
        const std::size_t x = a.draw_budget();
        EXPECT_EQ(x, b.draw_budget());
        EXPECT_GE(x, 10u);
        EXPECT_LE(x, 20u);
        differs |= x != c.draw_budget();
    }
    EXPECT_TRUE(differs);
}

bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = clock_type::now() + limit;
    while (!done()) {
        if (clock_type::now() > deadline) return false;
        if (ioc.stopped()) ioc.restart();
        ioc.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
}

TEST(stall, heartbeat_replaces_a_silent_link_and_the_subscriber_resumes) {
    const fs::path dir = fs::temp_directory_path() / ("holdfast-stall-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    relay_process relay(relay_process::default_binary(), "memory:", dir);
    relay.start();
    boost::asio::io_context ioc;
    cut_config no_cuts;
    no_cuts.max_cuts = 0;
    fault_proxy proxy(ioc, relay.port(), no_cuts);

    client::client_config sub_config;
    sub_config.client_id = "stalled-sub";
    sub_config.backoff = client::backoff_config{20, 200, 5};
    sub_config.heartbeat = client::heartbeat_config{200, 300};
    native::link_options fast_ticks;
    fast_ticks.tick_period = std::chrono::milliseconds(50);
    native::client_host sub(ioc, sub_config, "127.0.0.1", proxy.port(), fast_ticks);
    std::vector<std::uint64_t> serials;
    native::client_handlers h;
    h.on_event = [&](const native::delivered_event& e) { serials.push_back(e.serial); };
    sub.set_handlers(h);
    (void)sub.open_session("stall-chat");
    sub.start();

    client::client_config pub_config;
    pub_config.client_id = "direct-agent";
    pub_config.agent = "agent";
    native::client_host pub(ioc, pub_config, "127.0.0.1", relay.port());  // not through the proxy
    pub.start();
    std::size_t acks = 0;
    native::client_handlers ph;
    ph.on_ack = [&](std::uint64_t, std::uint64_t) { ++acks; };
    pub.set_handlers(ph);
    auto publish = [&](int from, int to) {
        for (int i = from; i < to; ++i) (void)pub.publish("stall-chat", "status", "", std::to_string(i));
    };

    publish(0, 50);
    ASSERT_TRUE(run_until(ioc, [&] { return serials.size() == 50; }, std::chrono::seconds(10)));
    ASSERT_EQ(sub.connects(), 1u);
    proxy.stall_all();
    publish(50, 100);
    ASSERT_TRUE(run_until(ioc, [&] { return serials.size() == 100 && acks == 100; }, std::chrono::seconds(10)))
        << serials.size() << " delivered\n" << proxy.trace_text();
    EXPECT_GE(sub.connects(), 2u) << "the stalled link should have been replaced";
    for (std::size_t k = 0; k < serials.size(); ++k) ASSERT_EQ(serials[k], k + 1);
    proxy.resume_all();  // the old link's parked bytes must not disturb the new one
    publish(100, 110);
    ASSERT_TRUE(run_until(ioc, [&] { return serials.size() == 110; }, std::chrono::seconds(10)));
    for (std::size_t k = 0; k < serials.size(); ++k) ASSERT_EQ(serials[k], k + 1);
    sub.close();
    pub.close();
    relay.stop();
    fs::remove_all(dir);
}

} // namespace
} // namespace holdfast::faults
