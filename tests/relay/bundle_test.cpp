// The relay core with bundles: a bundle of publishes is appended in order in one turn, a bad
// frame in it fails alone, and a connection that takes bundles gets a turn's acks and fan-out in
// one message while one that does not gets them frame by frame.
#include "relay_test_support.hpp"

#include "holdfast/relay/sqlite_store.hpp"

#include <filesystem>
#include <unistd.h>

namespace holdfast::relay::testing {
namespace {

class bundle_test : public relay_core_fixture {
protected:
    void connect_with_bundles(connection_id id, bool bundles, std::string agent = {}) {
        core_.on_open(id);
        proto::hello h;
        h.agent = std::move(agent);
        if (bundles) h.bundles = true;
        auto out = send(id, h);
        auto welcome = out.of_type<proto::welcome>(id);
        ASSERT_EQ(welcome.size(), 1u);
        EXPECT_TRUE(welcome[0].limits.max_bundle_frames.has_value()) << "the relay says it takes bundles";
    }
    std::string publish_frame(std::uint64_t seq, std::string text) {
        return proto::encode(proto::publish{"s", "p", seq, "message.delta", "m1",
                                            json_payload(R"({"text":")" + text + R"("})")});
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
    EXPECT_EQ(out.messages[1], 1u) << "acks and the publisher's own fan-out in one message";
    EXPECT_EQ(out.messages[2], 1u) << "a bundling subscriber gets the turn's fan-out in one message";
    EXPECT_EQ(out.of_type<proto::event_batch>(2).size(), 3u);
    EXPECT_EQ(out.messages[3], 3u) << "a subscriber that did not ask for bundles gets frames one by one";
    auto plain = out.of_type<proto::event_batch>(3);
    ASSERT_EQ(plain.size(), 3u);
    EXPECT_EQ(plain[2].events.at(0).serial, acks[2].serial);
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

} // namespace
} // namespace holdfast::relay::testing
