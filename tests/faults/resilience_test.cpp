// Resilient delivery over real sockets: a relay child process, a seeded link-cutting proxy, one
// agent publishing 2,000 deltas and three subscribers. Each must end with serials 1..N exactly
// once, the relay's log with each payload once, and each publish acked once — through link cuts
// (link_cuts) and through a SIGKILL and restart of the relay on the same SQLite file
// (relay_crash). Layer: tests (faults). HOLDFAST_FAULT_SEED=<n> reruns every case with seed n.
#include "stream_harness.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

namespace holdfast::faults {
namespace {

std::uint64_t seed_under_test(std::uint64_t param) {
    if (const char* forced = std::getenv("HOLDFAST_FAULT_SEED")) return std::strtoull(forced, nullptr, 0);
    return param;
}

void run_scenario(const scenario& s) {
    SCOPED_TRACE("seed " + std::to_string(s.seed) + " (rerun with HOLDFAST_FAULT_SEED=" + std::to_string(s.seed) + ")");
    stream_harness harness(s);
    const bool finished = harness.run();
    EXPECT_TRUE(finished) << "clients did not catch up within " << s.time_limit.count() << " s";
    if (finished) harness.check();
    std::cout << "  " << harness.summary() << std::endl;
    if (::testing::Test::HasFailure()) std::cerr << harness.report();
}

class link_cuts : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(link_cuts, every_subscriber_gets_each_serial_once_and_every_publish_one_ack) {
    scenario s;
    s.seed = seed_under_test(GetParam());
    s.max_cuts = 20;
    run_scenario(s);
}

class relay_crash : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(relay_crash, clients_ride_through_sigkill_and_restart_on_the_same_file) {
    scenario s;
    s.seed = seed_under_test(GetParam());
    s.max_cuts = 10;
    s.kill_relay_after_acks = 700;
    run_scenario(s);
}

// Three fixed seeds each: failures name the seed, and the same seed replays the same cut plan.
INSTANTIATE_TEST_SUITE_P(seeds, link_cuts, ::testing::Values(101u, 202u, 303u));
INSTANTIATE_TEST_SUITE_P(seeds, relay_crash, ::testing::Values(404u, 505u, 606u));

} // namespace
} // namespace holdfast::faults
