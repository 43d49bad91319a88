// Live control and agents, relay_core driven directly with a clock the test moves: control
// target resolution and outcomes (cancel, steer, runs, retries), agent presence, leases after a
// disconnect, and open messages known again after a restart on SQLite. Layer: tests (relay,
// sans-I/O). The contract is the last section of docs/protocol.md.
#include "relay_test_support.hpp"

#include "holdfast/payload.hpp"
#include "holdfast/relay/session_controls.hpp"
#include "holdfast/relay/sqlite_store.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace holdfast::relay::testing {
namespace {

constexpr std::uint64_t start_ms = 1'700'000'000'000;

/// One control.outcome as the log holds it.
struct outcome {
    std::uint64_t serial = 0;
    std::uint64_t control = 0;
    std::string action, target, result, reason, producer_id;
};

/// A relay_core over any store, with a clock that moves only when the test says so.
class control_harness {
public:
    explicit control_harness(store& backing, relay_config config = {})
        : core(backing, config, [this] { return now; }) {}

    std::uint64_t now = start_ms;
    relay_core core;

    drained drain() { return decode_outputs(core.take_outputs()); }

    template <class Frame>
    drained send(connection_id id, const Frame& f) {
        core.on_frame(id, proto::encode(f));
        return drain();
    }

    /// Opens a connection and says hello as `client_id` (an agent when `agent` is non-empty).
    void connect(connection_id id, std::string client_id, std::string agent = {}) {
        core.on_open(id);
        proto::hello h;
        h.client_id = std::move(client_id);
        h.agent = std::move(agent);
        auto out = send(id, h);
        EXPECT_EQ(out.of_type<proto::welcome>(id).size(), 1u);
    }

    /// A publish; returns its serial (0 and a test failure when refused).
    std::uint64_t publish(connection_id id, const std::string& session, const std::string& producer,
                          std::uint64_t seq, const std::string& kind, const std::string& msg_id,
                          const std::string& payload_json = "{}") {
        auto out = send(id, proto::publish{session, producer, seq, kind, msg_id, json_payload(payload_json)});
        auto acks = out.of_type<proto::ack>(id);
        EXPECT_EQ(acks.size(), 1u) << kind << " " << msg_id << " was refused";
        return acks.empty() ? 0 : acks[0].serial;
    }

    /// A control; returns the whole output (ack or error, fan-out).
    drained control(connection_id id, const std::string& session, const std::string& producer, std::uint64_t seq,
                    const std::string& action, const std::string& target) {
        return send(id, proto::control{session, producer, seq, action, target, {}});
    }

    std::vector<proto::event> log(const std::string& session) {
        auto read = core.read_events(session, 0, 10'000);
        EXPECT_TRUE(read.has_value());
        return read ? read->events : std::vector<proto::event>{};
    }

    std::vector<proto::event> of_kind(const std::string& session, std::string_view kind) {
        std::vector<proto::event> out;
        for (auto& e : log(session)) {
            if (e.kind == kind) out.push_back(std::move(e));
        }
        return out;
    }

    std::vector<outcome> outcomes(const std::string& session) {
        std::vector<outcome> out;
        for (const auto& e : of_kind(session, "control.outcome")) {
            out.push_back(outcome{e.serial, payload_u64(e.payload, "control").value_or(0),
                                  payload_string(e.payload, "action"), payload_string(e.payload, "target"),
                                  payload_string(e.payload, "outcome"), payload_string(e.payload, "reason"),
                                  e.producer_id});
        }
        return out;
    }

    std::size_t open_messages(const std::string& session) {
        const session_controls* c = core.controls(session);
        return c ? c->open_count() : 0;
    }
};

class control_test : public ::testing::Test {
protected:
    control_test() : store_([] { return next_epoch_++; }), relay_(store_) {}

    /// Agent "writer" (producer "w") on connection 1 and a browser ("ui") on connection 2, both
    /// attached to session "s".
    void agent_and_browser() {
        relay_.connect(1, "w", "writer");
        relay_.send(1, proto::attach{"s", 0, 0});
        relay_.connect(2, "ui");
        relay_.send(2, proto::attach{"s", 0, 0});
    }

    static inline std::uint64_t next_epoch_ = 5000;
    memory_store store_;
    control_harness relay_;
};

TEST_F(control_test, a_cancel_waits_for_the_end_then_one_outcome_applied_and_a_resend_changes_nothing) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    relay_.publish(1, "s", "w", 2, "message.delta", "m1", R"({"text":"Once"})");
    auto sent = relay_.control(2, "s", "ui", 1, "cancel", "m1");
    ASSERT_EQ(sent.of_type<proto::ack>(2).size(), 1u);
    const std::uint64_t control_serial = sent.of_type<proto::ack>(2)[0].serial;
    // The agent sees the control live; nothing is decided yet.
    auto seen = sent.of_type<proto::event_batch>(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].events.at(0).kind, "control.cancel");
    EXPECT_EQ(seen[0].events.at(0).msg_id, "m1");
    EXPECT_TRUE(relay_.outcomes("s").empty());
    EXPECT_EQ(relay_.core.controls("s")->pending_count(), 1u);

    const std::uint64_t end = relay_.publish(1, "s", "w", 3, "message.end", "m1", R"({"status":"cancelled"})");
    auto outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].serial, end + 1) << "the outcome follows the event that decided it";
    EXPECT_EQ(outcomes[0].control, control_serial);
    EXPECT_EQ(outcomes[0].action, "cancel");
    EXPECT_EQ(outcomes[0].target, "m1");
    EXPECT_EQ(outcomes[0].result, "applied");
    EXPECT_EQ(outcomes[0].reason, "");
    EXPECT_EQ(outcomes[0].producer_id, "relay");
    const auto stored = relay_.log("s").back();
    EXPECT_EQ(stored.agent, "");
    EXPECT_EQ(stored.msg_id, "m1");

    // The browser's outbox resends the control (same producer, same sequence): deduplicated.
    const std::uint64_t head = relay_.log("s").back().serial;
    auto resent = relay_.control(2, "s", "ui", 1, "cancel", "m1");
    EXPECT_EQ(resent.of_type<proto::ack>(2).at(0).serial, control_serial);
    EXPECT_EQ(relay_.log("s").back().serial, head);
    EXPECT_EQ(relay_.outcomes("s").size(), 1u);
    EXPECT_EQ(relay_.core.metrics().controls_applied_total, 1u);
    EXPECT_EQ(relay_.core.controls("s")->pending_count(), 0u);
}

TEST_F(control_test, a_cancel_after_the_end_is_too_late_and_an_unknown_target_is_rejected_at_once) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    relay_.publish(1, "s", "w", 2, "message.end", "m1", R"({"status":"complete"})");

    auto late = relay_.control(2, "s", "ui", 1, "cancel", "m1");
    const std::uint64_t late_serial = late.of_type<proto::ack>(2).at(0).serial;
    auto live = late.of_type<proto::event_batch>(2);
    ASSERT_EQ(live.size(), 2u) << "the control and its outcome, both live";
    EXPECT_EQ(live[1].events.at(0).kind, "control.outcome");

    auto unknown = relay_.control(2, "s", "ui", 2, "cancel", "nope");
    const std::uint64_t unknown_serial = unknown.of_type<proto::ack>(2).at(0).serial;
    EXPECT_EQ(unknown_serial, late_serial + 2);

    auto outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].control, late_serial);
    EXPECT_EQ(outcomes[0].result, "too_late");
    EXPECT_EQ(outcomes[0].reason, "ended");
    EXPECT_EQ(outcomes[1].control, unknown_serial);
    EXPECT_EQ(outcomes[1].result, "rejected");
    EXPECT_EQ(outcomes[1].target, "nope");
    EXPECT_EQ(relay_.of_kind("s", "control.cancel").at(1).msg_id, "nope") << "rejected keeps the original target";
    EXPECT_EQ(relay_.core.metrics().controls_too_late_total, 1u);
    EXPECT_EQ(relay_.core.metrics().controls_rejected_total, 1u);
}

TEST_F(control_test, an_empty_target_means_the_newest_open_message) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "older");
    relay_.publish(1, "s", "w", 2, "message.start", "newer");
    relay_.control(2, "s", "ui", 1, "cancel", "");
    auto cancels = relay_.of_kind("s", "control.cancel");
    ASSERT_EQ(cancels.size(), 1u);
    EXPECT_EQ(cancels[0].msg_id, "newer");
    EXPECT_TRUE(relay_.outcomes("s").empty());
    relay_.publish(1, "s", "w", 3, "message.end", "newer", R"({"status":"cancelled"})");
    ASSERT_EQ(relay_.outcomes("s").size(), 1u);
    EXPECT_EQ(relay_.outcomes("s")[0].target, "newer");
    EXPECT_EQ(relay_.open_messages("s"), 1u) << "the older message streams on";

    // With nothing open: stop names the answer that just ended (too_late); in a session without
    // any message it is rejected.
    relay_.publish(1, "s", "w", 4, "message.end", "older", R"({"status":"complete"})");
    relay_.control(2, "s", "ui", 2, "cancel", "");
    EXPECT_EQ(relay_.outcomes("s").back().result, "too_late");
    EXPECT_EQ(relay_.outcomes("s").back().target, "older");
    relay_.control(2, "empty", "ui", 1, "interrupt", "");
    ASSERT_EQ(relay_.outcomes("empty").size(), 1u);
    EXPECT_EQ(relay_.outcomes("empty")[0].result, "rejected");
    EXPECT_EQ(relay_.outcomes("empty")[0].action, "interrupt");
}

TEST_F(control_test, a_run_target_cancels_both_agents_messages_and_a_message_target_only_its_own) {
    relay_.connect(1, "w", "writer");
    relay_.connect(3, "r", "researcher");
    relay_.connect(2, "ui");
    for (connection_id id : {1, 2, 3}) relay_.send(id, proto::attach{"s", 0, 0});
    EXPECT_EQ(relay_.of_kind("s", "agent.attached").size(), 2u);

    // Two agents stream into one session, interleaved, both for run "r1".
    relay_.publish(1, "s", "w", 1, "message.start", "w1", R"({"run":"r1"})");
    relay_.publish(3, "s", "r", 1, "message.start", "r1-a", R"({"run":"r1"})");
    for (std::uint64_t i = 0; i < 3; ++i) {
        relay_.publish(1, "s", "w", 2 + i, "message.delta", "w1", R"({"text":"w"})");
        relay_.publish(3, "s", "r", 2 + i, "message.delta", "r1-a", R"({"text":"r"})");
    }
    auto sent = relay_.control(2, "s", "ui", 1, "cancel", "r1");
    const std::uint64_t run_cancel = sent.of_type<proto::ack>(2).at(0).serial;
    EXPECT_EQ(relay_.of_kind("s", "control.cancel").at(0).msg_id, "r1");
    // Both agents see it.
    EXPECT_EQ(sent.of_type<proto::event_batch>(1).size(), 1u);
    EXPECT_EQ(sent.of_type<proto::event_batch>(3).size(), 1u);

    relay_.publish(1, "s", "w", 5, "message.end", "w1", R"({"status":"cancelled"})");
    EXPECT_TRUE(relay_.outcomes("s").empty()) << "one of the run's messages still streams";
    relay_.publish(3, "s", "r", 5, "message.end", "r1-a", R"({"status":"cancelled"})");
    auto outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].control, run_cancel);
    EXPECT_EQ(outcomes[0].target, "r1");
    EXPECT_EQ(outcomes[0].result, "applied");

    // Next turn: cancelling the researcher's message leaves the writer's streaming.
    relay_.publish(1, "s", "w", 6, "message.start", "w2", R"({"run":"r2"})");
    relay_.publish(3, "s", "r", 6, "message.start", "r2-a", R"({"run":"r2"})");
    relay_.control(2, "s", "ui", 2, "cancel", "r2-a");
    relay_.publish(3, "s", "r", 7, "message.end", "r2-a", R"({"status":"cancelled"})");
    EXPECT_EQ(relay_.outcomes("s").size(), 2u);
    EXPECT_EQ(relay_.outcomes("s").back().result, "applied");
    EXPECT_EQ(relay_.open_messages("s"), 1u);
    relay_.publish(1, "s", "w", 7, "message.delta", "w2", R"({"text":"still here"})");
    relay_.publish(1, "s", "w", 8, "message.end", "w2", R"({"status":"complete"})");
    EXPECT_EQ(relay_.outcomes("s").size(), 2u) << "the writer's end settles nothing";

    // A run whose messages all ended is too_late; a cancel its target ends without honouring is too.
    relay_.control(2, "s", "ui", 3, "cancel", "r2");
    EXPECT_EQ(relay_.outcomes("s").back().result, "too_late");
    relay_.publish(1, "s", "w", 9, "message.start", "w3");
    relay_.control(2, "s", "ui", 4, "cancel", "w3");
    relay_.publish(1, "s", "w", 10, "message.end", "w3", R"({"status":"complete"})");
    EXPECT_EQ(relay_.outcomes("s").back().result, "too_late");
    EXPECT_EQ(relay_.outcomes("s").back().target, "w3");
}

TEST_F(control_test, a_steer_waits_for_the_owning_agent_and_the_relay_adds_no_second_outcome) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    const std::uint64_t steer = relay_.control(2, "s", "ui", 1, "steer", "m1").of_type<proto::ack>(2).at(0).serial;
    relay_.publish(1, "s", "w", 2, "message.delta", "m1", R"({"text":"..."})");
    EXPECT_TRUE(relay_.outcomes("s").empty()) << "a steer is the agent's to confirm";

    // Only the owner reports it: another producer is refused while it is pending.
    const std::string report = R"({"control":)" + std::to_string(steer) +
                               R"(,"action":"steer","target":"m1","outcome":"applied"})";
    auto spoof = relay_.send(2, proto::publish{"s", "ui", 2, "control.outcome", "m1", json_payload(report)});
    ASSERT_EQ(spoof.of_type<proto::error_frame>(2).size(), 1u);
    EXPECT_EQ(spoof.of_type<proto::error_frame>(2)[0].code, static_cast<std::uint32_t>(errc::forbidden));

    const std::uint64_t reported = relay_.publish(1, "s", "w", 3, "control.outcome", "m1", report);
    ASSERT_NE(reported, 0u);
    relay_.publish(1, "s", "w", 4, "message.end", "m1", R"({"status":"complete"})");
    auto outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 1u) << "the agent's report is the only outcome";
    EXPECT_EQ(outcomes[0].serial, reported);
    EXPECT_EQ(outcomes[0].producer_id, "w");
    EXPECT_EQ(outcomes[0].result, "applied");
    EXPECT_EQ(relay_.core.metrics().controls_applied_total, 1u);

    // A steer whose target ends first is too_late. (The refused publish used no sequence number.)
    relay_.publish(1, "s", "w", 5, "message.start", "m2");
    const std::uint64_t second = relay_.control(2, "s", "ui", 2, "steer", "m2").of_type<proto::ack>(2).at(0).serial;
    relay_.publish(1, "s", "w", 6, "message.end", "m2", R"({"status":"complete"})");
    outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[1].control, second);
    EXPECT_EQ(outcomes[1].result, "too_late");
    EXPECT_EQ(outcomes[1].producer_id, "relay");

    // An interrupt is applied by the agent stopping the message (cancelled), as MessageWriter does.
    relay_.publish(1, "s", "w", 7, "message.start", "m3");
    const std::uint64_t interrupt =
        relay_.control(2, "s", "ui", 3, "interrupt", "m3").of_type<proto::ack>(2).at(0).serial;
    relay_.publish(1, "s", "w", 8, "message.end", "m3", R"({"status":"cancelled","reason":"interrupted"})");
    outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(outcomes[2].control, interrupt);
    EXPECT_EQ(outcomes[2].action, "interrupt");
    EXPECT_EQ(outcomes[2].result, "applied");
}

TEST_F(control_test, clients_cannot_write_as_the_relay) {
    relay_.connect(2, "ui");
    auto as_relay = relay_.send(2, proto::publish{"s", "relay", 1, "message.end", "m1", {}});
    EXPECT_EQ(as_relay.of_type<proto::error_frame>(2).at(0).code, static_cast<std::uint32_t>(errc::forbidden));
    auto presence = relay_.send(2, proto::publish{"s", "ui", 1, "agent.attached", "", json_payload(R"({"agent":"x"})")});
    EXPECT_EQ(presence.of_type<proto::error_frame>(2).at(0).code, static_cast<std::uint32_t>(errc::forbidden));
}

TEST_F(control_test, agent_presence_is_announced_once_per_agent_and_session_and_ends_on_the_last_detach) {
    relay_.connect(1, "w-1", "writer");
    relay_.connect(2, "w-2", "writer");  // a second connection of the same agent
    relay_.connect(3, "ui");
    relay_.send(3, proto::attach{"s", 0, 0});
    EXPECT_TRUE(relay_.of_kind("s", "agent.attached").empty()) << "browsers are not agents";
    relay_.send(1, proto::attach{"s", 0, 0});
    relay_.send(1, proto::attach{"s", 0, 0});  // attaching again announces nothing new
    relay_.send(2, proto::attach{"s", 0, 0});
    relay_.send(2, proto::attach{"t", 0, 0});
    auto attached = relay_.of_kind("s", "agent.attached");
    ASSERT_EQ(attached.size(), 1u);
    EXPECT_EQ(payload_string(attached[0].payload, "agent"), "writer");
    EXPECT_EQ(attached[0].agent, "writer");
    EXPECT_EQ(attached[0].producer_id, "relay");
    EXPECT_EQ(relay_.of_kind("t", "agent.attached").size(), 1u);

    relay_.send(1, proto::detach{"s"});
    EXPECT_TRUE(relay_.of_kind("s", "agent.detached").empty()) << "another connection of writer remains";
    auto last = relay_.send(2, proto::detach{"s"});
    auto detached = relay_.of_kind("s", "agent.detached");
    ASSERT_EQ(detached.size(), 1u);
    EXPECT_EQ(payload_string(detached[0].payload, "agent"), "writer");
    EXPECT_EQ(payload_string(detached[0].payload, "reason"), "detached");
    EXPECT_EQ(last.of_type<proto::event_batch>(3).size(), 1u) << "the browser sees it live";

    // Coming back is a new arrival.
    relay_.send(1, proto::attach{"s", 0, 0});
    EXPECT_EQ(relay_.of_kind("s", "agent.attached").size(), 2u);
}

TEST_F(control_test, a_lost_agent_keeps_its_message_for_the_lease_then_the_relay_ends_it_once) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    relay_.publish(1, "s", "w", 2, "message.delta", "m1", R"({"text":"half"})");
    const std::uint64_t cancel = relay_.control(2, "s", "ui", 1, "cancel", "m1").of_type<proto::ack>(2).at(0).serial;
    const std::uint64_t head = relay_.log("s").back().serial;

    relay_.core.on_close(1);
    EXPECT_TRUE(relay_.drain().frames.empty()) << "a disconnect alone changes nothing";
    EXPECT_EQ(relay_.core.metrics().agent_leases, 1u);
    relay_.now += 4'999;
    relay_.core.on_tick(relay_.now);
    EXPECT_TRUE(relay_.drain().frames.empty());
    EXPECT_EQ(relay_.log("s").back().serial, head);

    relay_.now += 1;
    relay_.core.on_tick(relay_.now);
    auto live = relay_.drain().of_type<proto::event_batch>(2);
    ASSERT_EQ(live.size(), 3u) << "message.end, the cancel's outcome, agent.detached";
    const proto::event& end = live[0].events.at(0);
    EXPECT_EQ(end.kind, "message.end");
    EXPECT_EQ(end.msg_id, "m1");
    EXPECT_EQ(end.agent, "writer");
    EXPECT_EQ(end.producer_id, "relay");
    EXPECT_EQ(payload_string(end.payload, "status"), "error");
    EXPECT_EQ(payload_string(end.payload, "reason"), "agent_lost");
    auto outcomes = relay_.outcomes("s");
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].control, cancel);
    EXPECT_EQ(outcomes[0].result, "too_late");
    EXPECT_EQ(outcomes[0].reason, "agent_lost");
    const proto::event& detached = live[2].events.at(0);
    EXPECT_EQ(detached.kind, "agent.detached");
    EXPECT_EQ(payload_string(detached.payload, "agent"), "writer");
    EXPECT_EQ(payload_string(detached.payload, "reason"), "lease_expired");
    EXPECT_EQ(relay_.core.metrics().agents_lost_total, 1u);
    EXPECT_EQ(relay_.core.metrics().agent_leases, 0u);
    EXPECT_EQ(relay_.open_messages("s"), 0u);

    relay_.now += 60'000;
    relay_.core.on_tick(relay_.now);
    EXPECT_TRUE(relay_.drain().frames.empty()) << "once";
}

TEST_F(control_test, an_agent_back_within_the_lease_keeps_its_message_and_ends_it_itself) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    relay_.core.on_close(1);
    relay_.now += 3'000;
    relay_.core.on_tick(relay_.now);

    relay_.connect(4, "w", "writer");  // same client id: the same producer
    EXPECT_EQ(relay_.core.metrics().agent_leases, 0u);
    relay_.send(4, proto::attach{"s", 0, 0});
    relay_.now += 10'000;
    relay_.core.on_tick(relay_.now);
    EXPECT_EQ(relay_.of_kind("s", "agent.attached").size(), 1u) << "still present: no second arrival";
    EXPECT_TRUE(relay_.of_kind("s", "agent.detached").empty());
    relay_.publish(4, "s", "w", 2, "message.delta", "m1", R"({"text":"resumed"})");
    relay_.publish(4, "s", "w", 3, "message.end", "m1", R"({"status":"complete"})");
    auto ends = relay_.of_kind("s", "message.end");
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(ends[0].producer_id, "w");
    EXPECT_EQ(relay_.core.metrics().agents_lost_total, 0u);
}

TEST_F(control_test, a_producer_frame_from_another_connection_also_ends_the_lease) {
    agent_and_browser();
    relay_.publish(1, "s", "w", 1, "message.start", "m1");
    relay_.core.on_close(1);
    relay_.connect(5, "other-client", "writer");
    relay_.publish(5, "s", "w", 2, "message.delta", "m1", R"({"text":"via another link"})");
    relay_.now += 6'000;
    relay_.core.on_tick(relay_.now);
    EXPECT_TRUE(relay_.of_kind("s", "message.end").empty());
    EXPECT_EQ(relay_.open_messages("s"), 1u);
}

TEST(control_restart, open_messages_are_known_again_after_a_restart_on_sqlite) {
    namespace fs = std::filesystem;
    static std::atomic<int> counter{0};
    const fs::path dir = fs::temp_directory_path() /
                         ("holdfast-controls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "relay.db").string();
    {
        auto store = sqlite_store::open(path);
        ASSERT_TRUE(store.has_value()) << store.err().detail;
        control_harness relay(*store.value());
        relay.connect(1, "w", "writer");
        relay.send(1, proto::attach{"s", 0, 0});
        relay.publish(1, "s", "w", 1, "message.start", "open-one", R"({"run":"r9"})");
        relay.publish(1, "s", "w", 2, "message.start", "done");
        relay.publish(1, "s", "w", 3, "message.end", "done", R"({"status":"complete"})");
        relay.publish(1, "s", "w", 4, "message.delta", "open-one", R"({"text":"x"})");
        // The relay stops with the agent still streaming (no on_close: the process ends).
    }
    auto store = sqlite_store::open(path);
    ASSERT_TRUE(store.has_value()) << store.err().detail;
    control_harness relay(*store.value());
    relay.connect(2, "ui");
    relay.send(2, proto::attach{"s", 0, 0});
    EXPECT_EQ(relay.open_messages("s"), 1u);
    relay.control(2, "s", "ui", 1, "cancel", "open-one");
    EXPECT_TRUE(relay.outcomes("s").empty()) << "pending, not rejected";
    relay.control(2, "s", "ui", 2, "cancel", "done");
    ASSERT_EQ(relay.outcomes("s").size(), 1u);
    EXPECT_EQ(relay.outcomes("s")[0].result, "too_late") << "ended messages are known too";
    relay.control(2, "s", "ui", 3, "steer", "r9");
    EXPECT_EQ(relay.core.controls("s")->pending_count(), 2u) << "the run is known as well";
    EXPECT_EQ(relay.of_kind("s", "agent.attached").size(), 1u);

    // The agent never came back: the lease the restart started ends its message.
    relay.now += 5'000;
    relay.core.on_tick(relay.now);
    auto ends = relay.of_kind("s", "message.end");
    ASSERT_EQ(ends.size(), 2u);
    EXPECT_EQ(ends[1].msg_id, "open-one");
    EXPECT_EQ(payload_string(ends[1].payload, "reason"), "agent_lost");
    auto outcomes = relay.outcomes("s");
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(outcomes[1].result, "too_late");
    EXPECT_EQ(outcomes[2].result, "too_late");
    auto detached = relay.of_kind("s", "agent.detached");
    ASSERT_EQ(detached.size(), 1u);
    EXPECT_EQ(payload_string(detached[0].payload, "reason"), "lease_expired");
    fs::remove_all(dir);
}

TEST(control_restart, an_agent_that_reconnects_after_a_restart_keeps_its_message) {
    memory_store backing([] { return std::uint64_t{77}; });
    {
        control_harness relay(backing);
        relay.connect(1, "w", "writer");
        relay.publish(1, "s", "w", 1, "message.start", "m1");
    }
    control_harness relay(backing);
    relay.connect(1, "w", "writer");  // back before anything loads the session
    relay.connect(2, "ui");
    relay.send(2, proto::attach{"s", 0, 0});
    relay.now += 10'000;
    relay.core.on_tick(relay.now);
    EXPECT_TRUE(relay.of_kind("s", "message.end").empty());
    relay.publish(1, "s", "w", 2, "message.end", "m1", R"({"status":"complete"})");
    EXPECT_EQ(relay.open_messages("s"), 0u);
}

TEST(control_restart, a_present_agent_that_never_returns_is_detached_after_the_lease) {
    memory_store backing([] { return std::uint64_t{78}; });
    {
        control_harness relay(backing);
        relay.connect(1, "w", "writer");
        relay.connect(3, "x", "idle-agent");  // present, never wrote anything
        relay.send(1, proto::attach{"s", 0, 0});
        relay.send(3, proto::attach{"s", 0, 0});
        relay.publish(1, "s", "w", 1, "message.start", "m1");
        relay.publish(1, "s", "w", 2, "message.end", "m1", R"({"status":"complete"})");
    }
    control_harness relay(backing);
    relay.connect(2, "ui");
    relay.send(2, proto::attach{"s", 0, 0});
    relay.connect(4, "other-process", "writer");  // writer is back under a new producer
    relay.send(4, proto::attach{"s", 0, 0});
    relay.now += 5'000;
    relay.core.on_tick(relay.now);
    auto detached = relay.of_kind("s", "agent.detached");
    ASSERT_EQ(detached.size(), 1u);
    EXPECT_EQ(payload_string(detached[0].payload, "agent"), "idle-agent");
    EXPECT_EQ(payload_string(detached[0].payload, "reason"), "lease_expired");
    EXPECT_EQ(relay.of_kind("s", "agent.attached").size(), 2u) << "writer was still present: no new arrival";
}

TEST(control_kinds, the_relay_routes_control_actions_only_not_a_bare_prefix_nor_an_outcome) {
    EXPECT_TRUE(is_control_kind("control.cancel"));
    EXPECT_TRUE(is_control_kind("control.x"));
    EXPECT_FALSE(is_control_kind("control.")) << "no action: an ordinary event";
    EXPECT_FALSE(is_control_kind("control.outcome"));
    EXPECT_FALSE(is_control_kind("control"));
    EXPECT_FALSE(is_control_kind("message.delta"));
}

} // namespace
} // namespace holdfast::relay::testing
