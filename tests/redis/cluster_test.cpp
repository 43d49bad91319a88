// Several relay nodes on one Redis, over real sockets: clients on different nodes see the same
// serials; concurrent publishes through three nodes leave no hole and no duplicate; an agent
// streaming through a node that is SIGKILLed, and a Redis restart mid-stream, still end with the
// exact log everywhere. Layer: tests (redis). Each test starts its own redis-server.
#include "cluster.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace holdfast::redis_tests {
namespace {

using namespace std::chrono_literals;

TEST(redis_cluster, concurrent_publishes_through_three_nodes_give_one_gap_free_log_everywhere) {
    cluster c(3, "concurrent");
    std::vector<cluster_client*> writers;
    for (std::size_t node = 0; node < 3; ++node) {
        writers.push_back(&c.add_client("writer-" + std::to_string(node), node));
        c.add_client("reader-" + std::to_string(node), node);
    }
    c.start();
    for (cluster_client* w : writers) c.publish(*w, 300, 4);
    c.finish_and_check(900, 60s);
}

TEST(redis_cluster, an_agent_and_readers_ride_through_a_node_killed_mid_stream) {
    cluster c(3, "node-kill");
    cluster_client& agent = c.add_client("agent", 0, "agent-1");
    c.add_client("reader-0", 0);
    c.add_client("reader-1", 1);
    c.add_client("reader-2", 2);
    c.start();
    c.publish(agent, 2000, 8);
    ASSERT_TRUE(c.run_until([&] { return c.acked() >= 500; }, std::chrono::steady_clock::now() + 30s)) << c.report();
    c.kill_node(0);
    c.finish_and_check(2000, 60s);
}

TEST(redis_cluster, a_redis_restart_mid_stream_loses_nothing) {
    cluster c(2, "redis-restart");
    cluster_client& agent = c.add_client("agent", 0, "agent-1");
    c.add_client("reader-0", 0);
    c.add_client("reader-1", 1);
    c.start();
    c.publish(agent, 2000, 8);
    ASSERT_TRUE(c.run_until([&] { return c.acked() >= 500; }, std::chrono::steady_clock::now() + 30s)) << c.report();
    // Down while the stream goes on: more publishes are made during the outage, so the outage
    // meets the stream however fast the machine drained the first part.
    c.redis().stop();
    c.publish(agent, 200, 8);
    ASSERT_TRUE(c.run_until([&] { return !agent.errors.empty(); }, std::chrono::steady_clock::now() + 30s))
        << "no publish met the Redis outage\n" << c.report();
    c.redis().restart();  // same port; AOF with appendfsync always: every acknowledged append comes back
    c.finish_and_check(2200, 60s);
}

TEST(redis_cluster, resuming_from_before_the_retained_range_is_continuity_lost_and_a_reset) {
    cluster c(2, "trim");
    cluster_client& writer = c.add_client("writer", 0);
    cluster_client& reader = c.add_client("reader", 1);
    c.start();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    c.publish(writer, 300, 8);
    ASSERT_TRUE(c.run_until([&] { return c.all_answered() && c.caught_up(300); }, deadline)) << c.report();
    ASSERT_EQ(reader.serials.size(), 300u);

    c.take_offline(reader);
    c.publish(writer, 300, 8);
    ASSERT_TRUE(c.run_until([&] { return c.all_answered(); }, deadline)) << c.report();
    // Keep only the last 50 events of the stream (what retain_events does, made exact here).
    c.redis().cli("XTRIM 'hf:{" + cluster::session_id + "}:log' MAXLEN 50");
    const faults::relay_log trimmed = c.log_from(0);
    ASSERT_EQ(trimmed.head_serial, 600u);
    ASSERT_EQ(trimmed.events.size(), 50u);
    ASSERT_EQ(trimmed.events.front().serial, 551u);

    c.bring_online(reader);
    ASSERT_TRUE(c.run_until([&] { return c.caught_up(600); }, deadline)) << c.report();
    // The reader held 1..300; 301..550 are gone: it is told, resets, and holds 551..600 only.
    EXPECT_EQ(reader.resets, 1u);
    EXPECT_EQ(reader.continuity_losses, 1u);
    ASSERT_EQ(reader.serials.size(), 50u) << c.report();
    for (std::size_t k = 0; k < reader.serials.size(); ++k) EXPECT_EQ(reader.serials[k], 551 + k);
    for (const auto& e : trimmed.events) EXPECT_EQ(reader.payloads[e.serial], e.payload_json);
    // The writer, online throughout, lost nothing and was never reset.
    EXPECT_EQ(writer.resets, 0u);
    EXPECT_EQ(writer.serials.size(), 600u);

    // A newcomer starts at the oldest retained event, with nothing lost to report.
    cluster_client& late = c.add_client("late", 1);
    (void)late.host->open_session(cluster::session_id);
    late.host->start();
    ASSERT_TRUE(c.run_until([&] { return c.caught_up(600); }, deadline)) << c.report();
    EXPECT_EQ(late.resets, 0u);
    ASSERT_EQ(late.serials.size(), 50u);
    EXPECT_EQ(late.serials.front(), 551u);
}

TEST(redis_cluster, an_agent_alive_on_another_node_keeps_its_message_and_one_whose_node_died_is_agent_lost) {
    cluster c(2, "leases", {}, {"--agent-lease-ms", "500"});
    cluster_client& agent = c.add_client("agent", 0, "agent-1");
    cluster_client& reader = c.add_client("reader", 1);
    c.start();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    ASSERT_TRUE(agent.host->publish(cluster::session_id, "message.start", "answer-1", R"({"role":"assistant"})"));
    ASSERT_TRUE(c.run_until([&] { return c.caught_up(2); }, deadline)) << c.report();  // agent.attached + start

    // The agent streams through node 0 for six lease periods; node 1, which follows the session and
    // holds a lease on the message's owner, must not end it while node 0 vouches for the agent.
    for (int i = 0; i < 30; ++i) {
        ASSERT_TRUE(agent.host->publish(cluster::session_id, "message.delta", "answer-1", R"({"text":"x"})"));
        const auto pause = std::chrono::steady_clock::now() + 100ms;
        c.run_until([&] { return std::chrono::steady_clock::now() >= pause; }, deadline);
    }
    ASSERT_TRUE(c.run_until([&] { return c.all_answered() && c.caught_up(32); }, deadline)) << c.report();
    for (const auto& e : c.log_from(1).events) EXPECT_NE(e.kind, "message.end") << "ended while its agent streamed";

    // Node 0 dies and the agent never comes back: node 1 ends the message as agent_lost.
    c.kill_node(0);
    c.take_offline(agent);  // after kill_node, which points node 0's clients at node 1
    bool lost = false;
    ASSERT_TRUE(c.run_until(
        [&] {
            for (const auto& e : c.log_from(1).events) {
                if (e.kind == "message.end" && e.payload_json.find("agent_lost") != std::string::npos) lost = true;
            }
            return lost;
        },
        deadline))
        << c.report();
    const faults::relay_log log = c.log_from(1);
    std::size_t ends = 0;
    for (const auto& e : log.events) ends += e.kind == "message.end" ? 1 : 0;
    EXPECT_EQ(ends, 1u);
    // The reader on node 1 gets the end too (the agent, offline for good, is not waited for).
    EXPECT_TRUE(c.run_until(
        [&] {
            const auto* st = reader.host->core().find_session(cluster::session_id);
            return st && st->last_serial() >= log.head_serial;
        },
        deadline))
        << c.report();
    EXPECT_EQ(reader.serials.size(), log.head_serial);
}

TEST(redis_cluster, a_flushed_redis_gives_the_session_a_new_epoch_and_every_client_resets_to_it) {
    cluster c(2, "flush");
    cluster_client& writer = c.add_client("writer", 0);
    cluster_client& near = c.add_client("reader-0", 0);
    cluster_client& far = c.add_client("reader-1", 1);
    c.start();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    c.publish(writer, 100, 4);
    ASSERT_TRUE(c.run_until([&] { return c.all_answered() && c.caught_up(100); }, deadline)) << c.report();
    const std::uint64_t old_epoch = c.log_from(0).epoch;

    c.redis().cli("FLUSHALL");  // every session gone: the next use creates a new incarnation
    c.publish(writer, 100, 4);
    faults::relay_log log;
    ASSERT_TRUE(c.run_until(
        [&] {
            if (!c.all_answered()) return false;
            log = c.log_from(1);
            for (cluster_client* each : {&writer, &near, &far}) {
                const auto* st = each->host->core().find_session(cluster::session_id);
                if (!st || st->epoch() != log.epoch || st->last_serial() < log.head_serial) return false;
            }
            return true;
        },
        deadline))
        << c.report();
    EXPECT_NE(log.epoch, old_epoch);
    // The new log holds the second hundred only, 1..100, each once.
    ASSERT_EQ(log.head_serial, 100u);
    ASSERT_EQ(log.events.size(), 100u);
    for (std::size_t k = 0; k < log.events.size(); ++k) {
        EXPECT_EQ(log.events[k].serial, k + 1);
        EXPECT_EQ(log.events[k].payload_json, R"({"c":"writer","i":)" + std::to_string(100 + k) + "}");
    }
    for (cluster_client* each : {&writer, &near, &far}) {
        SCOPED_TRACE(each->name);
        EXPECT_EQ(each->resets, 1u);
        EXPECT_EQ(each->continuity_losses, 0u);
        ASSERT_EQ(each->serials.size(), 100u);
        for (std::size_t k = 0; k < 100; ++k) EXPECT_EQ(each->serials[k], k + 1);
        for (const auto& e : log.events) EXPECT_EQ(each->payloads[e.serial], e.payload_json);
    }
    EXPECT_TRUE(writer.rejects.empty()) << writer.rejects.front();
}

TEST(redis_cluster, healthz_is_unhealthy_while_redis_is_down_and_recovers_by_itself) {
    cluster c(1, "health");
    auto status = [&] {
        try {
            faults::http_get(c.node(0).port(), "/healthz");
            return 200;
        } catch (const std::exception& e) {
            return std::string(e.what()).find("status 503") != std::string::npos ? 503 : -1;
        }
    };
    auto becomes = [&](int want) {
        for (int i = 0; i < 100; ++i) {
            if (status() == want) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    };
    ASSERT_EQ(status(), 200);
    c.redis().stop();
    EXPECT_TRUE(becomes(503)) << c.report();
    EXPECT_TRUE(c.node(0).running()) << "the relay must keep running without Redis";
    c.redis().restart();
    EXPECT_TRUE(becomes(200)) << c.report();
}

} // namespace
} // namespace holdfast::redis_tests
