// The relay core with bundles: a bundle of publishes is appended in order in one turn, a bad
// frame in it fails alone, and a connection that takes bundles gets a turn's acks and fan-out in
// one message while one that does not gets them frame by frame. A bundle's consecutive events
// reach each subscriber as one events frame, and a client that reads ack ranges gets one ack per
// run of its publishes; whatever else the bundle causes keeps its place in the order.
#include "relay_test_support.hpp"

#include "holdfast/relay/sqlite_store.hpp"

#include <filesystem>
#include <numeric>
#include <unistd.h>

namespace holdfast::relay::testing {
namespace {

class bundle_test : public relay_core_fixture {
protected:
    void connect_with_bundles(connection_id id, bool bundles, std::string agent = {}, bool ack_ranges = false) {
        core_.on_open(id);
        proto::hello h;
        h.agent = std::move(agent);
        if (bundles) h.bundles = true;
        if (ack_ranges) h.ack_ranges = true;
        auto out = send(id, h);
        auto welcome = out.of_type<proto::welcome>(id);
        ASSERT_EQ(welcome.size(), 1u);
        EXPECT_TRUE(welcome[0].limits.max_bundle_frames.has_value()) << "the relay says it takes bundles";
    }
    std::string publish_frame(std::uint64_t seq, std::string text, std::string session = "s", std::string producer = "p") {
        return proto::encode(proto::publish{std::move(session), std::move(producer), seq, "message.delta", "m1",
                                            json_payload(R"({"text":")" + text + R"("})")});
    }
    /// Serials of the events a connection got, in the order it got them, and how many frames.
    static std::vector<std::uint64_t> serials_of(drained& out, connection_id id, std::size_t* frames = nullptr) {
        std::vector<std::uint64_t> serials;
        auto batches = out.of_type<proto::event_batch>(id);
        if (frames) *frames = batches.size();
        for (const auto& batch : batches) {
            for (const auto& e : batch.events) serials.push_back(e.serial);
        }
        return serials;
    }
};

TEST_F(bundle_test, a_bundle_of_publishes_is_appended_in_order_and_answered_in_one_message) {
    connect_with_bundles(1, true, "agent");
    connect_with_bundles(2, true);
    connect_with_bundles(3, false);
    for (connection_id id : {1, 2, 3}) send(id, proto::attach{"s", 0, 0});

    auto message = proto::bundle_frames({publish_frame(1, "a"), publish_frame(2, "b"), publish_frame(3, "c")});
    ASSERT_EQ(message.size(), 1u);
    core_.on_frame(1, message[0]);
    auto out = decode_outputs(core_.take_outputs());

    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(acks[i].producer_seq, i + 1);
        if (i) {
            EXPECT_EQ(acks[i].serial, acks[i - 1].serial + 1);
        }
    }
    EXPECT_FALSE(acks[0].count.has_value()) << "a client that did not ask for ack ranges gets one ack per publish";
    EXPECT_EQ(out.messages[1], 1u) << "acks and the publisher's own fan-out in one message";
    EXPECT_EQ(out.messages[2], 1u) << "a bundling subscriber gets the turn's fan-out in one message";
    std::size_t frames = 0;
    const std::vector<std::uint64_t> expected{acks[0].serial, acks[1].serial, acks[2].serial};
    EXPECT_EQ(serials_of(out, 2, &frames), expected);
    EXPECT_EQ(frames, 1u) << "the bundle's three events in one events frame";
    EXPECT_EQ(out.messages[3], 1u) << "a subscriber that did not ask for bundles gets one frame: the events frame";
    EXPECT_EQ(serials_of(out, 3, &frames), expected);
    EXPECT_EQ(frames, 1u);
    ASSERT_EQ(out.to(1).size(), 4u);
    EXPECT_TRUE(std::holds_alternative<proto::event_batch>(out.to(1)[0])) << "each event before its ack";
    EXPECT_EQ(core_.metrics().frames_received_total, 2u * 3 + 3);  // hello, attach each; 3 publishes
}

TEST(bundle_group_commit, a_bundles_appends_are_committed_before_its_acks_are_taken) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("holdfast-group-commit-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "relay.db").string();
    {
        auto writer = sqlite_store::open(path);
        auto reader = sqlite_store::open(path);
        ASSERT_TRUE(writer.has_value() && reader.has_value());
        relay_config config;
        config.group_commit = true;
        std::uint64_t now = 1'700'000'000'000;
        relay_core core(*writer.value(), config, [&] { return ++now; });
        core.on_open(1);
        proto::hello hello;
        hello.bundles = true;
        core.on_frame(1, proto::encode(hello));
        (void)core.take_outputs();
        std::vector<std::string> frames;
        for (std::uint64_t seq = 1; seq <= 3; ++seq) {
            frames.push_back(proto::encode(proto::publish{"s", "p", seq, "message.delta", "m1", json_payload("1")}));
        }
        frames.insert(frames.begin() + 1, proto::encode(proto::publish{"s", "p", 9, "message.delta", "m1", json_payload("1")}));
        const auto message = proto::bundle_frames(std::move(frames));
        ASSERT_EQ(message.size(), 1u);
        core.on_frame(1, message[0]);
        auto out = decode_outputs(core.take_outputs());
        EXPECT_EQ(out.of_type<proto::ack>(1).size(), 3u);
        EXPECT_EQ(out.of_type<proto::error_frame>(1).size(), 1u) << "the skipped sequence fails alone";
        // Everything acknowledged is committed: another connection to the file sees it.
        EXPECT_EQ(reader.value()->read("s", 0, 10).value().size(), 3u);
    }
    fs::remove_all(dir);
}

TEST_F(bundle_test, a_bad_frame_in_a_bundle_fails_alone) {
    connect_with_bundles(1, true);
    send(1, proto::attach{"s", 0, 0});
    std::string message;
    proto::append_bundle_header(3, message);
    message += publish_frame(1, "a");
    message += std::string("\x81\xa4" "type" "\xa5" "bogus", 12);  // {"type":"bogus"}: no such frame
    message += publish_frame(2, "c");
    core_.on_frame(1, message);
    auto out = decode_outputs(core_.take_outputs());
    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(acks[0].producer_seq, 1u);
    EXPECT_EQ(acks[1].producer_seq, 2u);
    auto errors = out.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::unknown_frame_type));
    EXPECT_TRUE(out.closed.empty());
}

TEST_F(bundle_test, an_undecodable_bundle_is_one_error_and_the_link_stays) {
    connect_with_bundles(1, true);
    std::string truncated;
    proto::append_bundle_header(2, truncated);
    truncated += publish_frame(1, "a");
    core_.on_frame(1, truncated);
    auto out = decode_outputs(core_.take_outputs());
    ASSERT_EQ(out.of_type<proto::error_frame>(1).size(), 1u);
    EXPECT_TRUE(out.of_type<proto::ack>(1).empty());
    EXPECT_EQ(send(1, proto::ping{5}).of_type<proto::pong>(1).size(), 1u);
}

TEST_F(bundle_test, a_client_that_reads_ack_ranges_gets_one_ack_per_run_of_publishes) {
    connect_with_bundles(1, true, "", true);
    connect_with_bundles(2, true);
    for (connection_id id : {1, 2}) send(id, proto::attach{"s", 0, 0});
    for (connection_id id : {1, 2}) send(id, proto::attach{"t", 0, 0});
    // Two runs of producer p in session s around one publish to t, then a run of producer q.
    auto message = proto::bundle_frames({publish_frame(1, "a"), publish_frame(2, "b"), publish_frame(1, "x", "t"),
                                         publish_frame(3, "c"), publish_frame(4, "d"), publish_frame(1, "e", "s", "q"),
                                         publish_frame(2, "f", "s", "q")});
    ASSERT_EQ(message.size(), 1u);
    core_.on_frame(1, message[0]);
    auto out = decode_outputs(core_.take_outputs());

    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 4u);
    EXPECT_EQ(acks[0].producer_seq, 1u);
    EXPECT_EQ(acks[0].count.value_or(1), 2u);
    EXPECT_EQ(acks[1].session, "t");
    EXPECT_FALSE(acks[1].count.has_value()) << "a run of one is a plain ack";
    EXPECT_EQ(acks[2].producer_seq, 3u);
    EXPECT_EQ(acks[2].count.value_or(1), 2u);
    EXPECT_EQ(acks[2].serial, acks[0].serial + 2) << "s's serials run on across the publish to t";
    EXPECT_EQ(acks[3].producer_id, "q");
    EXPECT_EQ(acks[3].serial, acks[2].serial + 2);
    EXPECT_EQ(acks[3].count.value_or(1), 2u);

    // Every ack comes after the events it answers, and each session's events keep their order.
    std::uint64_t delivered_s = 0;
    for (const proto::frame& f : out.to(1)) {
        if (const auto* batch = std::get_if<proto::event_batch>(&f); batch && batch->session == "s") {
            for (const auto& e : batch->events) EXPECT_EQ(e.serial, ++delivered_s);
        }
        if (const auto* ack = std::get_if<proto::ack>(&f); ack && ack->session == "s") {
            EXPECT_GE(delivered_s, ack->serial + ack->count.value_or(1) - 1) << "an ack before its events";
        }
    }
    EXPECT_EQ(delivered_s, 6u);
    std::size_t frames = 0;
    EXPECT_EQ(serials_of(out, 2, &frames), (std::vector<std::uint64_t>{1, 2, 1, 3, 4, 5, 6}));
    EXPECT_EQ(frames, 3u) << "s's run, t's event, s's next run";
}

TEST_F(bundle_test, what_else_a_bundle_causes_keeps_its_place_among_held_events_and_acks) {
    connect_with_bundles(1, true, "", true);
    send(1, proto::attach{"s", 0, 0});
    // A publish, a ping, a refused publish (a gap), another publish: the pong and the error come
    // between the outputs of the publishes around them.
    auto message = proto::bundle_frames({publish_frame(1, "a"), proto::encode(proto::ping{7}), publish_frame(2, "b"),
                                         publish_frame(9, "gap"), publish_frame(3, "c")});
    ASSERT_EQ(message.size(), 1u);
    core_.on_frame(1, message[0]);
    auto out = decode_outputs(core_.take_outputs());
    std::vector<std::string> order;
    for (const proto::frame& f : out.to(1)) {
        if (const auto* batch = std::get_if<proto::event_batch>(&f)) {
            for (const auto& e : batch->events) order.push_back("event " + std::to_string(e.serial));
        } else if (const auto* ack = std::get_if<proto::ack>(&f)) {
            order.push_back("ack " + std::to_string(ack->producer_seq) + "x" + std::to_string(ack->count.value_or(1)));
        } else if (std::holds_alternative<proto::pong>(f)) {
            order.push_back("pong");
        } else if (const auto* error = std::get_if<proto::error_frame>(&f)) {
            order.push_back("error " + std::to_string(error->producer_seq.value_or(0)));
        }
    }
    EXPECT_EQ(order, (std::vector<std::string>{"event 1", "ack 1x1", "pong", "event 2", "ack 2x1", "error 9",
                                               "event 3", "ack 3x1"}));
}

TEST_F(bundle_test, a_bundles_held_fan_out_is_cut_at_the_batch_limit) {
    connect_with_bundles(1, true, "", true);
    send(1, proto::attach{"s", 0, 0});
    std::vector<std::string> frames;
    for (std::uint64_t seq = 1; seq <= 10; ++seq) frames.push_back(publish_frame(seq, "t" + std::to_string(seq)));
    auto message = proto::bundle_frames(std::move(frames));
    ASSERT_EQ(message.size(), 1u);
    core_.on_frame(1, message[0]);
    auto out = decode_outputs(core_.take_outputs());
    auto batches = out.of_type<proto::event_batch>(1);
    ASSERT_EQ(batches.size(), 3u) << "max_batch_events is 4 in this fixture: 4 + 4 + 2";
    EXPECT_EQ(batches[0].events.size(), 4u);
    EXPECT_EQ(batches[2].events.size(), 2u);
    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].count.value_or(1), 10u);
    // The same events reach a client that attaches later, through the replay.
    connect_with_bundles(2, true);
    auto replay = send(2, proto::attach{"s", 0, 0});
    std::vector<std::uint64_t> expected(10);
    std::iota(expected.begin(), expected.end(), 1);
    EXPECT_EQ(serials_of(replay, 2), expected);
}

TEST_F(bundle_test, an_agent_attaching_inside_a_bundle_gets_each_serial_once) {
    // The SDK sends a turn's frames as one bundle: a new agent's hello and attach come together,
    // and the attach appends agent.attached while fan-out is held. The attacher's replay reads it;
    // the held fan-out must not reach the attacher again once the replay made it live.
    connect(2);
    send(2, proto::attach{"s", 0, 0});
    publish(2, "s", "ui", 1);
    (void)core_.take_outputs();
    core_.on_open(1);
    proto::hello h;
    h.agent = "bot";
    h.bundles = true;
    auto message = proto::bundle_frames({proto::encode(h), proto::encode(proto::attach{"s", 0, 0})});
    ASSERT_EQ(message.size(), 1u);
    core_.on_frame(1, message[0]);
    auto out = decode_outputs(core_.take_outputs());
    EXPECT_EQ(serials_of(out, 1), (std::vector<std::uint64_t>{1, 2})) << "each serial once, in order";
    EXPECT_EQ(serials_of(out, 2), (std::vector<std::uint64_t>{2})) << "the live subscriber hears agent.attached";
}

TEST_F(bundle_test, a_retried_run_is_acked_with_the_serials_first_assigned) {
    connect_with_bundles(1, true, "", true);
    send(1, proto::attach{"s", 0, 0});
    auto first = proto::bundle_frames({publish_frame(1, "a"), publish_frame(2, "b"), publish_frame(3, "c")});
    core_.on_frame(1, first[0]);
    (void)core_.take_outputs();
    // A reconnecting client resends 2 and 3 with a new 4: the duplicates' serials run into 4's.
    auto again = proto::bundle_frames({publish_frame(2, "b"), publish_frame(3, "c"), publish_frame(4, "d")});
    core_.on_frame(1, again[0]);
    auto out = decode_outputs(core_.take_outputs());
    auto acks = out.of_type<proto::ack>(1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].producer_seq, 2u);
    EXPECT_EQ(acks[0].serial, 2u);
    EXPECT_EQ(acks[0].count.value_or(1), 3u);
    EXPECT_EQ(serials_of(out, 1), (std::vector<std::uint64_t>{4})) << "duplicates are not fanned out again";
}

} // namespace
} // namespace holdfast::relay::testing
