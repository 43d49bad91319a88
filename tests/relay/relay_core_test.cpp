// relay_core driven directly: handshake, attach/replay, fan-out, dedup, errors, the sessions
// index and control frames. Layer: tests (relay, sans-I/O).
#include "relay_test_support.hpp"
#include "../support/packed.hpp"

#include "holdfast/event_json.hpp"
#include "holdfast/relay/http_api.hpp"

namespace holdfast::relay::testing {
namespace {

using core_test = relay_core_fixture;

TEST_F(core_test, hello_gets_welcome_with_limits) {
    core_.on_open(1);
    auto out = send(1, proto::hello{});
    auto welcome = out.of_type<proto::welcome>(1);
    ASSERT_EQ(welcome.size(), 1u);
    EXPECT_EQ(welcome[0].connection_id, "1");
    EXPECT_EQ(welcome[0].version, proto::protocol_version);
    EXPECT_EQ(welcome[0].limits.max_frame_bytes, 64u * 1024);
    EXPECT_EQ(welcome[0].limits.max_batch_events, 4u);
    EXPECT_EQ(core_.metrics().open_connections, 1u);
}

TEST_F(core_test, version_mismatch_errors_then_closes) {
    core_.on_open(1);
    proto::hello h;
    h.version = proto::protocol_version + 1;
    auto out = send(1, h);
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::version_mismatch));
    EXPECT_TRUE(out.closed.contains(1));
}

TEST_F(core_test, frames_before_hello_are_protocol_violations_and_the_link_stays) {
    core_.on_open(1);
    auto out = send(1, proto::attach{"s1", 0, 0});
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::protocol_violation));
    EXPECT_TRUE(out.closed.empty());
    EXPECT_EQ(send(1, proto::hello{}).of_type<proto::welcome>(1).size(), 1u);
}

TEST_F(core_test, attach_replays_in_batches_with_correct_serials) {
    connect(1);
    for (std::uint64_t i = 1; i <= 10; ++i) publish(1, "s1", "p", i);
    connect(2);
    auto out = send(2, proto::attach{"s1", 3, 0});
    const auto& frames = out.to(2);
    ASSERT_FALSE(frames.empty());
    auto attached = std::get_if<proto::attached>(&frames[0]);
    ASSERT_NE(attached, nullptr) << "attached must come before the replay";
    EXPECT_EQ(attached->head_serial, 10u);
    EXPECT_NE(attached->epoch, 0u);

    std::vector<std::uint64_t> serials;
    auto batches = out.of_type<proto::event_batch>(2);
    EXPECT_EQ(batches.size(), 2u);  // 7 events, 4 per batch
    for (const auto& batch : batches) {
        EXPECT_EQ(batch.session, "s1");
        EXPECT_LE(batch.events.size(), 4u);
        for (const auto& e : batch.events) serials.push_back(e.serial);
    }
    EXPECT_EQ(serials, (std::vector<std::uint64_t>{4, 5, 6, 7, 8, 9, 10}));

    // Live after replay: the next publish reaches the attached connection once, in order.
    auto live = publish(1, "s1", "p", 11);
    auto live_batches = live.of_type<proto::event_batch>(2);
    ASSERT_EQ(live_batches.size(), 1u);
    EXPECT_EQ(live_batches[0].events.at(0).serial, 11u);
}

/// The "type" of every message sent to `id` (none of these connections takes bundles), and the
/// serials of its events frames, whichever form they came in.
struct typed_output {
    std::vector<std::string> types;
    std::vector<std::uint64_t> serials;
};
typed_output typed_outputs(const std::vector<outbound>& outputs, connection_id id) {
    typed_output seen;
    for (const auto& out : outputs) {
        if (out.connection != id || !out.frame) continue;
        seen.types.push_back(holdfast::testing::encoded_type(*out.frame));
        auto decoded = proto::decode(*out.frame);
        EXPECT_TRUE(decoded.has_value());
        if (!decoded) continue;
        if (auto* batch = std::get_if<proto::event_batch>(&decoded.value())) {
            for (const auto& e : batch->events) seen.serials.push_back(e.serial);
        }
    }
    return seen;
}

TEST_F(core_test, a_hello_asking_for_packed_events_gets_its_replay_and_live_batches_packed_and_others_plain) {
    connect(1);
    for (std::uint64_t i = 1; i <= 6; ++i) publish(1, "s1", "p", i);
    core_.on_open(2);
    proto::hello wants_packed;
    wants_packed.packed = true;
    ASSERT_EQ(send(2, wants_packed).of_type<proto::welcome>(2).size(), 1u);
    connect(3);
    core_.on_frame(2, proto::encode(proto::attach{"s1", 0, 0}));
    core_.on_frame(3, proto::encode(proto::attach{"s1", 0, 0}));
    auto replay = core_.take_outputs();
    const auto packed_replay = typed_outputs(replay, 2);
    const auto plain_replay = typed_outputs(replay, 3);
    const std::vector<std::uint64_t> all{1, 2, 3, 4, 5, 6};
    EXPECT_EQ(packed_replay.types, (std::vector<std::string>{"attached", "packed", "packed"}));
    EXPECT_EQ(plain_replay.types, (std::vector<std::string>{"attached", "events", "events"}));
    EXPECT_EQ(packed_replay.serials, all);
    EXPECT_EQ(plain_replay.serials, all);

    // Live: one fan-out, encoded once per form, each subscriber gets its own.
    core_.on_frame(1, proto::encode(proto::publish{"s1", "p", 7, "message.delta", "m1", json_payload(R"({"text":"x"})")}));
    auto live = core_.take_outputs();
    EXPECT_EQ(typed_outputs(live, 2).types, std::vector<std::string>{"packed"});
    EXPECT_EQ(typed_outputs(live, 3).types, std::vector<std::string>{"events"});
    EXPECT_EQ(typed_outputs(live, 2).serials, std::vector<std::uint64_t>{7});
    EXPECT_EQ(typed_outputs(live, 3).serials, std::vector<std::uint64_t>{7});
}

TEST_F(core_test, a_packed_events_frame_from_a_client_is_refused_and_the_link_stays) {
    connect(1);
    core_.on_frame(1, proto::encode_packed(proto::event_batch{"s1", {{1, 5, "p", "message.delta", "m", "", json_payload("1")}}}));
    auto out = decode_outputs(core_.take_outputs());
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::protocol_violation));
    EXPECT_TRUE(out.closed.empty());
    EXPECT_EQ(publish(1, "s1", "p", 1).of_type<proto::ack>(1).size(), 1u) << "the connection still publishes";
}

TEST_F(core_test, attach_with_a_different_epoch_replays_from_zero) {
    connect(1);
    for (std::uint64_t i = 1; i <= 3; ++i) publish(1, "s1", "p", i);
    auto out = send(1, proto::attach{"s1", 2, 12345});
    std::vector<std::uint64_t> serials;
    for (const auto& batch : out.of_type<proto::event_batch>(1)) {
        for (const auto& e : batch.events) serials.push_back(e.serial);
    }
    EXPECT_EQ(serials, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(core_test, two_subscribers_get_the_same_event_and_the_publisher_an_ack) {
    connect(1, "agent-7");
    connect(2);
    send(1, proto::attach{"s1", 0, 0});
    send(2, proto::attach{"s1", 0, 0});
    // Serial 1 is the relay's agent.attached for agent-7 (first clock reading; session.created
    // took the second).
    auto out = publish(1, "s1", "producer-a", 1);
    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].serial, 2u);
    EXPECT_EQ(acks[0].producer_id, "producer-a");
    auto a = out.of_type<proto::event_batch>(1);
    auto b = out.of_type<proto::event_batch>(2);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0], b[0]);
    EXPECT_EQ(a[0].events.at(0).serial, 2u);
    EXPECT_EQ(a[0].events.at(0).agent, "agent-7");
    EXPECT_EQ(a[0].events.at(0).producer_id, "producer-a");
    EXPECT_EQ(a[0].events.at(0).ts, 1'700'000'000'003u);
}

TEST_F(core_test, detach_and_close_stop_delivery) {
    connect(1);
    connect(2);
    connect(3);
    send(2, proto::attach{"s1", 0, 0});
    send(3, proto::attach{"s1", 0, 0});
    send(2, proto::detach{"s1"});
    core_.on_close(3);
    auto out = publish(1, "s1", "p", 1);
    EXPECT_TRUE(out.to(2).empty());
    EXPECT_TRUE(out.to(3).empty());
    EXPECT_EQ(core_.metrics().open_connections, 2u);
    EXPECT_EQ(core_.metrics().live_sessions, 0u);
}

TEST_F(core_test, retried_publish_gets_the_same_serial_and_appends_nothing) {
    connect(1);
    connect(2);
    send(2, proto::attach{"s1", 0, 0});
    publish(1, "s1", "p", 1);
    publish(1, "s1", "p", 2);
    const auto appended = core_.metrics().events_appended_total;
    auto retry = publish(1, "s1", "p", 1);
    auto acks = retry.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].serial, 1u);
    EXPECT_TRUE(retry.to(2).empty()) << "a duplicate is not fanned out again";
    EXPECT_EQ(core_.metrics().events_appended_total, appended);
    EXPECT_EQ(core_.metrics().appends_deduplicated_total, 1u);
    EXPECT_EQ(publish(1, "s1", "p", 3).of_type<proto::ack>(1).at(0).serial, 3u);
    // Without a producer id there is no dedup.
    EXPECT_EQ(publish(1, "s1", "", 1).of_type<proto::ack>(1).at(0).serial, 4u);
    EXPECT_EQ(publish(1, "s1", "", 1).of_type<proto::ack>(1).at(0).serial, 5u);
}

TEST_F(core_test, invalid_and_reserved_sessions_are_refused_with_the_request_identified) {
    connect(1);
    auto invalid = publish(1, "bad id!", "p", 7);
    auto e1 = invalid.of_type<proto::error_frame>(1);
    ASSERT_EQ(e1.size(), 1u);
    EXPECT_EQ(e1[0].code, static_cast<std::uint32_t>(errc::invalid_session_id));
    EXPECT_EQ(e1[0].session, "bad id!");
    EXPECT_EQ(e1[0].producer_seq, 7u);

    auto reserved = publish(1, std::string(sessions_index), "p", 8);
    auto e2 = reserved.of_type<proto::error_frame>(1);
    ASSERT_EQ(e2.size(), 1u);
    EXPECT_EQ(e2[0].code, static_cast<std::uint32_t>(errc::forbidden));
    EXPECT_EQ(e2[0].producer_seq, 8u);

    auto no_kind = publish(1, "s1", "p", 9, "");
    ASSERT_EQ(no_kind.of_type<proto::error_frame>(1).size(), 1u);
    EXPECT_EQ(no_kind.of_type<proto::error_frame>(1)[0].code, static_cast<std::uint32_t>(errc::missing_field));

    auto bad_attach = send(1, proto::attach{"", 0, 0});
    ASSERT_EQ(bad_attach.of_type<proto::error_frame>(1).size(), 1u);
    EXPECT_EQ(bad_attach.of_type<proto::error_frame>(1)[0].code,
              static_cast<std::uint32_t>(errc::invalid_session_id));
    EXPECT_EQ(core_.metrics().events_appended_total, 0u);
    // Following the reserved index is allowed.
    EXPECT_EQ(send(1, proto::attach{std::string(sessions_index), 0, 0}).of_type<proto::attached>(1).size(), 1u);
}

TEST_F(core_test, malformed_frame_gets_an_error_and_the_connection_keeps_working) {
    connect(1);
    core_.on_frame(1, std::string("\xc1garbage", 8));
    auto out = decode_outputs(core_.take_outputs());
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::malformed_frame));
    EXPECT_TRUE(out.closed.empty());
    EXPECT_EQ(core_.metrics().frames_rejected_total, 1u);
    auto pong = send(1, proto::ping{42}).of_type<proto::pong>(1);
    ASSERT_EQ(pong.size(), 1u);
    EXPECT_EQ(pong[0].nonce, 42u);
}

TEST_F(core_test, unknown_frame_type_and_wrong_types_are_rejected) {
    connect(1);
    // {"type": "teleport"} and {"type": "ping", "nonce": "x"} as msgpack maps.
    core_.on_frame(1, std::string("\x81\xa4type\xa8teleport", 15));
    core_.on_frame(1, std::string("\x82\xa4type\xa4ping\xa5nonce\xa1x", 19));
    auto out = decode_outputs(core_.take_outputs());
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::unknown_frame_type));
    EXPECT_EQ(errors[1].code, static_cast<std::uint32_t>(errc::wrong_type));
    EXPECT_TRUE(out.closed.empty());
    EXPECT_EQ(core_.metrics().frames_rejected_total, 2u);
}

TEST_F(core_test, oversized_frame_errors_then_closes) {
    connect(1);
    core_.on_frame(1, std::string(64 * 1024 + 1, '\0'));
    auto out = decode_outputs(core_.take_outputs());
    ASSERT_EQ(out.of_type<proto::error_frame>(1).size(), 1u);
    EXPECT_EQ(out.of_type<proto::error_frame>(1)[0].code, static_cast<std::uint32_t>(errc::frame_too_large));
    EXPECT_TRUE(out.closed.contains(1));
}

TEST_F(core_test, sessions_index_gets_session_created_once_per_new_session) {
    connect(1);
    connect(2);
    send(2, proto::attach{std::string(sessions_index), 0, 0});
    auto first = publish(1, "alpha", "p", 1);
    publish(1, "alpha", "p", 2);
    publish(1, "beta", "p", 1);
    // Attaching creates a session but does not announce it: only the first event does.
    send(1, proto::attach{"gamma", 0, 0});
    auto created = first.of_type<proto::event_batch>(2);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0].session, sessions_index);
    EXPECT_EQ(created[0].events.at(0).kind, "session.created");

    EXPECT_EQ(core_.metrics().sessions_started_total, 2u) << "alpha and beta; the relay's own index is not one";

    auto index = core_.read_events(sessions_index, 0, 100);
    ASSERT_TRUE(index.has_value());
    ASSERT_EQ(index->events.size(), 2u);
    std::string json;
    append_event_json(index->events[0], json);
    EXPECT_NE(json.find(R"("payload":{"session":"alpha"})"), std::string::npos) << json;
    EXPECT_EQ(index->events[1].serial, 2u);
}

TEST_F(core_test, control_is_appended_as_control_action) {
    connect(1);
    connect(2);
    send(2, proto::attach{"s1", 0, 0});
    auto out = send(1, proto::control{"s1", "ui", 5, "cancel", "msg-9", json_payload(R"({"reason":"user"})")});
    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].producer_seq, 5u);
    auto batches = out.of_type<proto::event_batch>(2);
    ASSERT_EQ(batches.size(), 2u);  // the control, then the relay's outcome (no such message)
    EXPECT_EQ(batches[0].events.at(0).kind, "control.cancel");
    EXPECT_EQ(batches[0].events.at(0).msg_id, "msg-9");
    EXPECT_EQ(batches[1].events.at(0).kind, "control.outcome");
    // Same dedup as publish.
    auto retry = send(1, proto::control{"s1", "ui", 5, "cancel", "msg-9", {}});
    EXPECT_EQ(retry.of_type<proto::ack>(1).at(0).serial, acks[0].serial);
    EXPECT_TRUE(retry.to(2).empty());
}

TEST_F(core_test, http_append_fans_out_like_a_publish) {
    connect(1);
    send(1, proto::attach{"s1", 0, 0});
    append_input input;
    input.session = "s1";
    input.kind = "user.prompt";
    input.agent = "cli";
    auto reply = core_.append_http(input);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->serial, 1u);
    auto out = decode_outputs(core_.take_outputs());
    auto batches = out.of_type<proto::event_batch>(1);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].events.at(0).agent, "cli");
    input.session = "$sessions";
    EXPECT_EQ(core_.append_http(input).err().code, errc::forbidden);
}

// An event no subscriber could decode would stop its session for every one of them (its serial
// can never be delivered), so both ingress paths refuse it: a payload nesting deeper than the
// clients' 32 levels allow once the events frame and a bundle are around it, a container over the
// clients' item limits, an event whose events frame would pass max_frame_bytes.
TEST_F(core_test, events_a_subscriber_could_not_read_back_are_refused_on_both_paths) {
    const auto nested = [](std::size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); };
    connect(1);
    // The deepest payload accepted (28 arrays) reaches a subscriber reading as the SDK does, in a
    // bundle (the attach reply and the replay) of packed frames; decode_outputs reads every
    // message with the clients' limits.
    auto deepest = publish(1, "deep", "p", 1, "tool.result", nested(28));
    EXPECT_EQ(deepest.of_type<proto::ack>(1).size(), 1u);
    const std::uint64_t appended = core_.metrics().events_appended_total;  // with the index's session.created
    core_.on_open(2);
    proto::hello reader;
    reader.bundles = true;
    reader.packed = true;
    send(2, reader);
    core_.on_frame(2, proto::encode(proto::attach{"deep", 0, 0}));
    auto replay = decode_outputs(core_.take_outputs());
    EXPECT_EQ(replay.messages[2], 1u) << "one bundle: attached and the packed batch";
    const auto serials_to_2 = [](drained& out) {
        std::vector<std::uint64_t> serials;
        for (const auto& batch : out.of_type<proto::event_batch>(2)) {
            for (const auto& e : batch.events) serials.push_back(e.serial);
        }
        return serials;
    };
    EXPECT_EQ(serials_to_2(replay), std::vector<std::uint64_t>{1});

    const auto refused = [&](drained out, errc code) {
        auto errors = out.of_type<proto::error_frame>(1);
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(code)) << errors[0].message;
        EXPECT_EQ(errors[0].producer_seq, std::optional<std::uint64_t>{2});
        EXPECT_TRUE(out.to(2).empty()) << "nothing reached the subscriber";
    };
    refused(publish(1, "deep", "p", 2, "tool.result", nested(29)), errc::limit_exceeded);
    // max_frame_bytes is 64 KiB here: a publish frame under it whose events frame would be over.
    refused(publish(1, "deep", "p", 2, "tool.result", '"' + std::string(64 * 1024 - 120, 'x') + '"'),
            errc::frame_too_large);

    http_api api{core_};
    const auto post = [&](const std::string& payload) {
        auto reply = api.handle("POST", "/v1/sessions/deep/events", R"({"kind":"tool.result","payload":)" + payload + "}");
        return reply ? *reply : http_reply{};
    };
    std::string wide_array = "[0", wide_map = "{\"k0\":0";
    for (int i = 1; i <= 10'000; ++i) wide_array += ",0";
    for (int i = 1; i <= 1'000; ++i) wide_map += ",\"k" + std::to_string(i) + "\":0";
    for (const std::string& payload : {nested(29), wide_array + "]", wide_map + "}"}) {
        const http_reply reply = post(payload);
        EXPECT_EQ(reply.status, 400u) << reply.body.substr(0, 200);
        EXPECT_NE(reply.body.find("limit_exceeded"), std::string::npos) << reply.body.substr(0, 200);
    }
    EXPECT_EQ(post('"' + std::string(64 * 1024 - 100, 'x') + '"').status, 413u);
    EXPECT_TRUE(decode_outputs(core_.take_outputs()).to(2).empty());
    EXPECT_EQ(core_.metrics().events_appended_total, appended) << "none of the refused ones";

    // Just inside every limit, over HTTP too, and the subscriber reads it.
    EXPECT_EQ(post(nested(28)).status, 200u);
    auto live = decode_outputs(core_.take_outputs());
    EXPECT_EQ(serials_to_2(live), std::vector<std::uint64_t>{2});
}

TEST_F(core_test, read_events_of_an_unknown_session_does_not_create_it) {
    auto read = core_.read_events("nobody", 0, 10);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(read->epoch, 0u);
    EXPECT_EQ(read->head_serial, 0u);
    auto stored = store_.load("nobody");
    ASSERT_TRUE(stored.has_value());
    EXPECT_FALSE(stored.value().has_value());
}

} // namespace
} // namespace holdfast::relay::testing
