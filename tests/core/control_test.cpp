// Live control in the client core: a control's promise settles with the relay's outcome (also
// when the outcome overtakes the ack), agents' presence and state come from the log, and an agent
// hears the controls aimed at its own messages — by message id or by run — and no others.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/event_kind.hpp"
#include "holdfast/json.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

proto::event ev(std::uint64_t serial, std::string kind, std::string msg_id, std::string payload_json,
                std::string agent = "", std::string producer = "someone") {
    return proto::event{serial, serial, std::move(producer), std::move(kind), std::move(msg_id), std::move(agent),
                        proto::raw_value{json::to_msgpack(payload_json).value()}};
}

struct control_fixture : ::testing::Test {
    client_core c{client_config{"me", "", "", 1, 1, {}, {}, nullptr, {}}};
    std::uint64_t next_serial = 1;

    void SetUp() override {
        ASSERT_TRUE(c.open_session("s"));
        c.on_transport_open();
        c.on_frame(proto::encode(proto::attached{"s", 9, 0}));
        (void)c.take_updates_json();
    }
    void deliver(std::vector<proto::event> events) {
        c.on_frame(proto::encode(proto::event_batch{"s", std::move(events)}));
    }
    std::string serial_json(std::uint64_t n) { return std::to_string(n); }
};

TEST_F(control_fixture, a_cancel_settles_with_the_relays_outcome) {
    deliver({ev(1, "message.start", "m", "{}", "writer", "agent-w")});
    (void)c.take_updates_json();
    const auto request = c.control("s", "cancel", "m", "{}").value();
    c.on_frame(proto::encode(proto::ack{"s", "me", 1, 2}));
    deliver({ev(2, "control.cancel", "m", "{}", "", "me")});
    EXPECT_EQ(c.take_updates_json().find("\"controls\""), std::string::npos) << "pending until the outcome";
    deliver({ev(3, "message.end", "m", R"({"status":"cancelled"})", "writer", "agent-w"),
             ev(4, "control.outcome", "m", R"({"control":2,"action":"cancel","target":"m","outcome":"applied"})", "", "relay")});
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("controls":[{"request":)" + std::to_string(request) + R"(,"outcome":"applied","reason":""}])"),
              std::string::npos) << updates;
}

TEST_F(control_fixture, an_outcome_that_overtakes_its_ack_still_settles) {
    const auto request = c.control("s", "cancel", "gone", "{}").value();
    deliver({ev(1, "control.cancel", "gone", "{}", "", "me"),
             ev(2, "control.outcome", "gone", R"({"control":1,"action":"cancel","target":"gone","outcome":"rejected","reason":"no such target"})", "", "relay")});
    EXPECT_EQ(c.take_updates_json().find("\"controls\""), std::string::npos);
    c.on_frame(proto::encode(proto::ack{"s", "me", 1, 1}));
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"({"request":)" + std::to_string(request) + R"(,"outcome":"rejected","reason":"no such target"})"),
              std::string::npos) << updates;
}

TEST_F(control_fixture, other_clients_outcomes_settle_nothing_here) {
    (void)c.control("s", "cancel", "m", "{}").value();
    c.on_frame(proto::encode(proto::ack{"s", "me", 1, 7}));
    deliver({ev(1, "control.outcome", "x", R"({"control":3,"action":"cancel","target":"x","outcome":"applied"})", "", "relay")});
    EXPECT_EQ(c.take_updates_json().find("\"controls\""), std::string::npos);
}

TEST_F(control_fixture, outcomes_are_matched_by_session_and_serial) {
    // Serials are per session: this client's cancels in two sessions can both get serial 5. Each
    // must settle with its own session's outcome (the second ack used to overwrite the first, and
    // the first session's outcome settled the other session's request).
    ASSERT_TRUE(c.open_session("t"));
    c.on_frame(proto::encode(proto::attached{"t", 11, 0}));
    deliver({ev(1, "message.start", "m", "{}", "writer", "agent-w"), ev(2, "message.delta", "m", R"({"text":"a"})", "writer", "agent-w"),
             ev(3, "message.delta", "m", R"({"text":"b"})", "writer", "agent-w"), ev(4, "message.delta", "m", R"({"text":"c"})", "writer", "agent-w")});
    c.on_frame(proto::encode(proto::event_batch{"t", {ev(1, "message.start", "n", "{}", "writer", "agent-w"),
                                                      ev(2, "message.delta", "n", R"({"text":"a"})", "writer", "agent-w"),
                                                      ev(3, "message.delta", "n", R"({"text":"b"})", "writer", "agent-w"),
                                                      ev(4, "message.end", "n", "{}", "writer", "agent-w")}}));
    (void)c.take_updates_json();
    const auto in_s = c.control("s", "cancel", "m", "{}").value();
    const auto in_t = c.control("t", "cancel", "n", "{}").value();
    c.on_frame(proto::encode(proto::ack{"s", "me", 1, 5}));
    c.on_frame(proto::encode(proto::ack{"t", "me", 1, 5}));
    c.on_frame(proto::encode(proto::event_batch{"t", {ev(5, "control.cancel", "n", "{}", "", "me"),
        ev(6, "control.outcome", "n", R"({"control":5,"action":"cancel","target":"n","outcome":"too_late","reason":"ended"})", "", "relay")}}));
    std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("controls":[{"request":)" + std::to_string(in_t) + R"(,"outcome":"too_late","reason":"ended"}])"),
              std::string::npos) << updates;
    deliver({ev(5, "control.cancel", "m", "{}", "", "me"), ev(6, "message.end", "m", R"({"status":"cancelled"})", "writer", "agent-w"),
             ev(7, "control.outcome", "m", R"({"control":5,"action":"cancel","target":"m","outcome":"applied"})", "", "relay")});
    updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("controls":[{"request":)" + std::to_string(in_s) + R"(,"outcome":"applied","reason":""}])"),
              std::string::npos) << updates;
}

TEST_F(control_fixture, an_outcome_seen_in_another_session_before_the_ack_settles_nothing) {
    // The outcome overtaking an ack is remembered per session: serial 1's outcome in session t is
    // not the outcome of this client's control that gets serial 1 in session s.
    ASSERT_TRUE(c.open_session("t"));
    c.on_frame(proto::encode(proto::attached{"t", 11, 0}));
    (void)c.take_updates_json();
    const auto request = c.control("s", "cancel", "gone", "{}").value();
    c.on_frame(proto::encode(proto::event_batch{"t", {ev(1, "control.cancel", "x", "{}", "", "other"),
        ev(2, "control.outcome", "x", R"({"control":1,"action":"cancel","target":"x","outcome":"too_late","reason":"ended"})", "", "relay")}}));
    c.on_frame(proto::encode(proto::ack{"s", "me", 1, 1}));
    EXPECT_EQ(c.take_updates_json().find("\"controls\""), std::string::npos);
    deliver({ev(1, "control.cancel", "gone", "{}", "", "me"),
             ev(2, "control.outcome", "gone", R"({"control":1,"action":"cancel","target":"gone","outcome":"rejected","reason":"unknown_target"})", "", "relay")});
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"({"request":)" + std::to_string(request) + R"(,"outcome":"rejected","reason":"unknown_target"})"),
              std::string::npos) << updates;
}

TEST_F(control_fixture, agents_presence_and_state_follow_the_log) {
    deliver({ev(1, "agent.attached", "", R"({"agent":"researcher"})", "", "relay"),
             ev(2, "agent.attached", "", R"({"agent":"writer"})", "", "relay"),
             ev(3, "status", "", R"({"state":"thinking"})", "researcher"),
             ev(4, "message.start", "w1", "{}", "writer")});
    std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("agents":[{"name":"researcher","state":"thinking","messageId":""},{"name":"writer","state":"streaming","messageId":"w1"}])"),
              std::string::npos) << updates;
    deliver({ev(5, "message.end", "w1", "{}", "writer"), ev(6, "agent.detached", "", R"({"agent":"researcher","reason":"lease_expired"})", "", "relay")});
    updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("agents":[{"name":"writer","state":"idle","messageId":""}])"), std::string::npos) << updates;
    deliver({ev(7, "message.delta", "w0", R"({"text":"x"})", "writer")});
    EXPECT_EQ(c.take_updates_json().find("\"agents\""), std::string::npos) << "reported only when they change";
}

TEST_F(control_fixture, an_agent_hears_controls_aimed_at_its_own_messages_by_id_or_run) {
    deliver({ev(1, "message.start", "mine", R"({"run":"run-1"})", "writer", "me"),
             ev(2, "message.start", "theirs", R"({"run":"run-1"})", "critic", "other"),
             ev(3, "control.steer", "mine", R"({"text":"shorter"})", "", "user"),
             ev(4, "control.cancel", "theirs", "{}", "", "user"),
             ev(5, "control.cancel", "run-1", "{}", "", "user")});
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("incoming":[{"serial":3,"action":"steer","target":"mine","messageId":"mine","payload":{"text":"shorter"}},{"serial":5,"action":"cancel","target":"run-1","messageId":"mine","payload":{}}])"),
              std::string::npos) << updates;
    deliver({ev(6, "message.end", "mine", R"({"status":"cancelled"})", "writer", "me"),
             ev(7, "control.cancel", "mine", "{}", "", "user")});
    EXPECT_EQ(c.take_updates_json().find("\"incoming\""), std::string::npos) << "an ended message hears nothing more";
}

TEST_F(control_fixture, a_bare_control_prefix_is_an_ordinary_event_as_on_the_relay) {
    // The relay appends a publish of kind "control." as it is, with no outcome to come
    // (is_control_kind); an agent that took it for a control would wait for one.
    deliver({ev(1, "message.start", "mine", "{}", "writer", "me"),
             ev(2, "control.", "mine", "{}", "", "user"),
             ev(3, "control.cancel", "mine", "{}", "", "user")});
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("incoming":[{"serial":3,)"), std::string::npos) << updates;
    EXPECT_EQ(kind_of("control."), event_kind::other);
    EXPECT_EQ(kind_of("control.x"), event_kind::control);
    EXPECT_EQ(kind_of("control.outcome"), event_kind::control_outcome);
}

} // namespace
} // namespace holdfast::client
