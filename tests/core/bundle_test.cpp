// Bundles: several frames in one WebSocket message (a msgpack array of frame maps), the codec's
// grouping and decoding, and the client core on both ends of them.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"

#include <gtest/gtest.h>

namespace holdfast {
namespace {

std::string ping_frame(std::uint64_t nonce) { return proto::encode(proto::ping{nonce}); }

std::vector<std::uint64_t> nonces_of(std::string_view message) {
    auto decoded = proto::decode_message(message);
    EXPECT_TRUE(decoded.has_value());
    std::vector<std::uint64_t> out;
    if (!decoded) return out;
    for (auto& frame : decoded.value()) {
        EXPECT_TRUE(frame.has_value());
        if (frame) out.push_back(std::get<proto::ping>(frame.value()).nonce);
    }
    return out;
}

TEST(bundle, a_single_frame_is_a_message_of_one) {
    EXPECT_EQ(nonces_of(ping_frame(7)), std::vector<std::uint64_t>{7});
}

TEST(bundle, frames_grouped_into_one_message_decode_in_order) {
    auto messages = proto::bundle_frames({ping_frame(1), ping_frame(2), ping_frame(3)});
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(nonces_of(messages[0]), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_FALSE(proto::decode(messages[0]).has_value()) << "a bundle is not a frame";
}

TEST(bundle, grouping_respects_the_frame_count_and_byte_limits) {
    std::vector<std::string> frames;
    for (std::uint64_t i = 1; i <= 5; ++i) frames.push_back(ping_frame(i));
    auto by_count = proto::bundle_frames(frames, proto::bundle_limits{2, 1 << 20});
    ASSERT_EQ(by_count.size(), 3u);
    EXPECT_EQ(nonces_of(by_count[0]), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(nonces_of(by_count[1]), (std::vector<std::uint64_t>{3, 4}));
    EXPECT_EQ(by_count[2], frames[4]) << "a run of one travels as the bare frame";

    const std::string big = proto::encode(proto::error_frame{1, std::string(300, 'x'), {}, {}, {}});
    auto by_bytes = proto::bundle_frames({frames[0], big, frames[1], frames[2]}, proto::bundle_limits{100, 64});
    ASSERT_EQ(by_bytes.size(), 3u);
    EXPECT_EQ(by_bytes[0], frames[0]);
    EXPECT_EQ(by_bytes[1], big) << "a frame above the byte limit goes alone";
    EXPECT_EQ(nonces_of(by_bytes[2]), (std::vector<std::uint64_t>{2, 3}));
}

TEST(bundle, counts_past_the_short_array_header_round_trip) {
    for (std::size_t count : {15u, 16u, 300u}) {
        std::vector<std::string> frames;
        for (std::size_t i = 0; i < count; ++i) frames.push_back(ping_frame(i));
        auto messages = proto::bundle_frames(frames, proto::bundle_limits{100'000, 1 << 20});
        ASSERT_EQ(messages.size(), 1u);
        EXPECT_EQ(nonces_of(messages[0]).size(), count);
    }
}

TEST(bundle, a_bad_frame_inside_fails_alone) {
    std::string message;
    proto::append_bundle_header(3, message);
    message += ping_frame(1);
    message += '\x05';  // a positive fixint, not a frame map
    message += ping_frame(3);
    auto decoded = proto::decode_message(message);
    ASSERT_TRUE(decoded.has_value());
    ASSERT_EQ(decoded->size(), 3u);
    EXPECT_TRUE((*decoded)[0].has_value());
    ASSERT_FALSE((*decoded)[1].has_value());
    EXPECT_EQ((*decoded)[1].err().code, errc::malformed_frame);
    EXPECT_TRUE((*decoded)[2].has_value());
}

TEST(bundle, an_empty_or_truncated_bundle_is_malformed) {
    EXPECT_EQ(proto::decode_message(std::string("\x90", 1)).err().code, errc::malformed_frame);
    std::string truncated;
    proto::append_bundle_header(2, truncated);
    truncated += ping_frame(1);
    EXPECT_EQ(proto::decode_message(truncated).err().code, errc::malformed_frame);
}

client::client_config agent_config() {
    client::client_config c;
    c.client_id = "agent-b";
    c.agent = "writer";
    return c;
}

TEST(bundle, the_client_bundles_only_after_a_relay_said_it_takes_them) {
    client::client_core c(agent_config());
    ASSERT_TRUE(c.open_session("s"));
    c.on_transport_open();
    auto opening = c.take_frames();
    ASSERT_EQ(opening.size(), 2u);  // hello, attach
    EXPECT_EQ(std::get<proto::hello>(proto::decode(opening[0]).value()).bundles, std::optional<bool>(true));

    // An older relay: no max_bundle_frames in its limits, frames go one by one.
    c.on_frame(proto::encode(proto::welcome{"c1", proto::protocol_version, proto::limits{1 << 20, 256, std::nullopt}}));
    for (int i = 0; i < 3; ++i) (void)c.publish("s", "message.delta", "m", R"({"text":"x"})");
    EXPECT_EQ(c.bundle_for_relay(c.take_frames()).size(), 3u);

    // A relay that takes bundles: the three publishes leave as one message.
    c.on_transport_closed();
    c.on_transport_open();
    (void)c.take_frames();
    c.on_frame(proto::encode(proto::welcome{"c2", proto::protocol_version, proto::limits{1 << 20, 256, 64}}));
    for (int i = 0; i < 3; ++i) (void)c.publish("s", "message.delta", "m", R"({"text":"y"})");
    auto out = c.bundle_for_relay(c.take_frames());
    ASSERT_EQ(out.size(), 1u);
    auto decoded = proto::decode_message(out[0]);
    ASSERT_TRUE(decoded.has_value());
    std::size_t publishes = 0;
    for (auto& f : decoded.value()) publishes += f.has_value() && std::holds_alternative<proto::publish>(f.value());
    EXPECT_GE(publishes, 3u);  // plus the resent first three, still unacknowledged
}

TEST(bundle, the_client_applies_every_frame_of_a_relay_bundle) {
    client::client_core c(agent_config());
    ASSERT_TRUE(c.open_session("s"));
    c.on_transport_open();
    (void)c.take_frames();
    auto seq = c.publish("s", "message.delta", "m", R"({"text":"a"})").value();
    auto payload = proto::raw_value{json::to_msgpack(R"({"text":"a"})").value()};
    auto message = proto::bundle_frames({
        proto::encode(proto::welcome{"c1", proto::protocol_version, proto::limits{1 << 20, 256, 64}}),
        proto::encode(proto::attached{"s", 9, 0}),
        proto::encode(proto::ack{"s", "agent-b", seq, 1}),
        proto::encode(proto::event_batch{"s", {proto::event{1, 5, "agent-b", "message.delta", "m", "writer", payload}}}),
    });
    ASSERT_EQ(message.size(), 1u);
    c.on_frame(message[0]);
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("state":"live","lastSerial":1,"epoch":9)"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("acks":[{"request":)" + std::to_string(seq) + R"(,"serial":1}])"), std::string::npos) << updates;
    EXPECT_EQ(updates.find(R"("errors":[{)"), std::string::npos) << updates;
}

} // namespace
} // namespace holdfast
