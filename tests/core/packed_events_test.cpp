// The packed wire form of an events frame (proto::encode_packed): what it carries back, when it is
// not used, how small it is, and how malformed ones are refused. Layer: tests (portable core).
#include "holdfast/codec.hpp"
#include "sample_frames.hpp"
#include "../support/packed.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

namespace holdfast {
namespace {

using holdfast::testing::encoded_type;
using holdfast::testing::packed;
using test::payload;

proto::event_batch decoded_batch(const std::string& bytes) {
    auto decoded = proto::decode(bytes);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.err().detail);
    if (!decoded) return {};
    EXPECT_TRUE(std::holds_alternative<proto::event_batch>(decoded.value()));
    return std::get<proto::event_batch>(std::move(decoded).value());
}

/// Two producers interleaved, a ts that goes back (the relay's wall clock may step), a nil and an
/// empty payload, an empty msg_id.
proto::event_batch mixed_batch() {
    return {"chat-1",
            {{7, 1700000000500, "agent-1", "message.delta", "reply-1", "writer", payload(R"({"text":"a"})")},
             {8, 1700000000499, "tab-9", "user.prompt", "", "", payload(R"({"text":"stop"})")},
             {9, 1700000000600, "agent-1", "message.delta", "reply-1", "writer", proto::raw_value{}},
             {10, 1700000000600, "agent-1", "status", "", "writer", payload("{}")},
             {11, 1700000000601, "agent-2", "message.delta", "reply-2", "reviewer", payload(R"({"text":"b"})")}}};
}

TEST(packed_events, decode_to_the_same_batch_as_the_plain_form) {
    const auto batch = mixed_batch();
    const std::string bytes = proto::encode_packed(batch);
    EXPECT_EQ(encoded_type(bytes), proto::packed_frame_type);
    EXPECT_EQ(decoded_batch(bytes), batch);
    // and a decoded packed batch re-encodes (plain) to the plain form's bytes
    EXPECT_EQ(proto::encode(decoded_batch(bytes)), proto::encode(batch));
}

TEST(packed_events, an_empty_batch_and_a_single_event_round_trip) {
    const proto::event_batch empty{"s", {}};
    EXPECT_EQ(decoded_batch(proto::encode_packed(empty)), empty);
    const proto::event_batch one{"s", {{1, 0, "", "agent.attached", "", "a", payload(R"({"agent":"a"})")}}};
    EXPECT_EQ(decoded_batch(proto::encode_packed(one)), one);
}

TEST(packed_events, events_that_are_not_consecutive_travel_in_the_plain_form) {
    auto batch = mixed_batch();
    batch.events[2].serial = 20;
    const std::string bytes = proto::encode_packed(batch);
    EXPECT_EQ(encoded_type(bytes), "events");
    EXPECT_EQ(bytes, proto::encode(batch));
    auto far_future = mixed_batch();
    far_future.events[1].ts = std::uint64_t{1} << 63;  // no signed difference holds it
    EXPECT_EQ(encoded_type(proto::encode_packed(far_future)), "events");
}

TEST(packed_events, a_replay_batch_takes_under_a_third_of_the_plain_bytes) {
    // The bench's event ({seq, t, tok}) from one agent: what a catch-up carries.
    proto::event_batch batch{"bench-session", {}};
    for (std::uint64_t i = 1; i <= 2048; ++i) {
        batch.events.push_back({i, 1700000000000 + i / 3, "b5f0c3d2-agent-producer-17", "bench", "", "bench-publisher",
                                payload(R"({"seq":)" + std::to_string(i) + R"(,"t":1700000000.123,"tok":"x"})")});
    }
    const std::size_t plain = proto::encode(batch).size();
    const std::size_t small = proto::encode_packed(batch).size();
    EXPECT_LT(small * 3, plain) << small << " packed against " << plain << " plain";
    EXPECT_EQ(decoded_batch(proto::encode_packed(batch)), batch);
}

TEST(packed_events, the_golden_fixture_holds_the_sample_batch_packed) {
    const auto path = std::filesystem::path(HOLDFAST_FIXTURES_DIR) / "packed.msgpack";
    const std::string bytes = proto::encode_packed(test::sample<proto::event_batch>());
    if (std::getenv("HOLDFAST_UPDATE_GOLDEN") != nullptr) std::ofstream(path, std::ios::binary) << bytes;
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "missing fixture " << path << " (run with HOLDFAST_UPDATE_GOLDEN=1)";
    const std::string golden{std::istreambuf_iterator<char>(in), {}};
    EXPECT_EQ(bytes, golden) << "the packed form changed on the wire";
    EXPECT_EQ(decoded_batch(golden), test::sample<proto::event_batch>());
}

/// A packed frame written by hand: the keys given, each value written by its function.
template <class... Entries>
std::string packed_frame(const Entries&... entries) {
    return packed([&](auto& p) {
        p.pack_map(1 + sizeof...(entries));
        p.pack(std::string("type"));
        p.pack(std::string(proto::packed_frame_type));
        (entries(p), ...);
    });
}
auto entry(std::string key, auto write) {
    return [key, write](auto& p) {
        p.pack(key);
        write(p);
    };
}
auto session_entry() { return entry("session", [](auto& p) { p.pack(std::string("s")); }); }
auto serial_entry(std::uint64_t serial = 1) { return entry("serial", [serial](auto& p) { p.pack(serial); }); }
auto producers_entry() {
    return entry("producers", [](auto& p) {
        p.pack_array(1);
        p.pack_array(2);
        p.pack(std::string("prod"));
        p.pack(std::string("agent"));
    });
}
/// One event row: [ts difference, producer index, kind, msg_id, payload] and any extra items.
auto events_entry(std::int64_t ts, std::uint64_t producer, std::uint32_t items = 5) {
    return entry("events", [=](auto& p) {
        p.pack_array(1);
        p.pack_array(items);
        if (items > 0) p.pack(ts);
        if (items > 1) p.pack(producer);
        if (items > 2) p.pack(std::string("message.delta"));
        if (items > 3) p.pack(std::string("m"));
        if (items > 4) p.pack_nil();
        for (std::uint32_t extra = 5; extra < items; ++extra) p.pack(std::string("later"));
    });
}

/** `count` rows of 6 bytes each: [0, 0, "k", "", nil] (the first producer, no time step). */
auto minimal_rows_entry(std::uint32_t count) {
    return entry("events", [count](auto& p) {
        p.pack_array(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            p.pack_array(5);
            p.pack(0);
            p.pack(0);
            p.pack(std::string("k"));
            p.pack(std::string(""));
            p.pack_nil();
        }
    });
}

TEST(packed_events, keys_in_any_order_unknown_keys_and_extra_items_are_read) {
    const std::string bytes = packed_frame(events_entry(5, 0, 7), entry("later", [](auto& p) { p.pack(1); }),
                                           producers_entry(), serial_entry(3), session_entry());
    const auto batch = decoded_batch(bytes);
    ASSERT_EQ(batch.events.size(), 1u);
    EXPECT_EQ(batch.session, "s");
    EXPECT_EQ(batch.events[0], (proto::event{3, 5, "prod", "message.delta", "m", "agent", {}}));
}

/// The one frame of a message as read in place (the client's receive path).
proto::event_batch_view viewed_batch(const std::string& bytes) {
    auto decoded = proto::decode_message_in_place(bytes);
    EXPECT_TRUE(decoded.has_value() && decoded->size() == 1 && decoded->front().has_value());
    if (!decoded || decoded->size() != 1 || !decoded->front()) return {};
    EXPECT_TRUE(std::holds_alternative<proto::event_batch_view>(decoded->front().value())) << "a packed frame is read in place";
    if (!std::holds_alternative<proto::event_batch_view>(decoded->front().value())) return {};
    return std::get<proto::event_batch_view>(std::move(decoded->front()).value());
}

std::vector<proto::event> owned(const std::vector<proto::event_view>& views) {
    std::vector<proto::event> events;
    for (const auto& v : views) events.push_back(proto::to_event(v));
    return events;
}

TEST(packed_events, read_in_place_they_give_the_same_events_as_views_into_the_message) {
    const auto batch = mixed_batch();
    const std::string bytes = proto::encode_packed(batch);
    const auto viewed = viewed_batch(bytes);
    EXPECT_EQ(viewed.session, batch.session);
    EXPECT_EQ(owned(viewed.events), batch.events);
    const auto inside = [&](std::string_view text) {
        return text.empty() || (text.data() >= bytes.data() && text.data() + text.size() <= bytes.data() + bytes.size());
    };
    for (const auto& e : viewed.events) {
        EXPECT_TRUE(inside(e.kind) && inside(e.msg_id) && inside(e.producer_id) && inside(e.agent) && inside(e.payload))
            << "event " << e.serial << " copied something";
    }
    // Every other frame, a plain events frame included, comes as decode_message gives it.
    auto plain = proto::decode_message_in_place(proto::encode(batch));
    ASSERT_TRUE(plain.has_value() && plain->size() == 1 && plain->front().has_value());
    EXPECT_EQ(std::get<proto::frame>(plain->front().value()), proto::frame{batch});
}

/// The refusal of a malformed single-frame message, the same whether decoded or read in place.
errc refusal(const std::string& bytes, std::string* detail = nullptr) {
    auto decoded = proto::decode(bytes);
    EXPECT_FALSE(decoded.has_value()) << "a malformed packed frame was accepted";
    if (decoded) return errc{};
    auto in_place = proto::decode_message_in_place(bytes);
    if (in_place && in_place->size() == 1) {
        EXPECT_FALSE(in_place->front().has_value()) << "accepted when read in place";
        if (!in_place->front().has_value()) {
            EXPECT_EQ(in_place->front().err().code, decoded.err().code);
            EXPECT_EQ(in_place->front().err().detail, decoded.err().detail);
        }
    } else {
        EXPECT_FALSE(in_place.has_value());
        if (!in_place) EXPECT_EQ(in_place.err().code, decoded.err().code);
    }
    if (detail) *detail = decoded.err().detail;
    return decoded.err().code;
}

TEST(packed_events, malformed_ones_are_refused_with_the_field_named) {
    std::string detail;
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), producers_entry(), events_entry(0, 1)), &detail),
              errc::malformed_frame);
    EXPECT_EQ(detail, "events.producer") << "an index past the producer table";
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), producers_entry(), events_entry(-1, 0)), &detail),
              errc::malformed_frame);
    EXPECT_EQ(detail, "events.ts") << "a ts below zero";
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), producers_entry(),
                                   events_entry(std::numeric_limits<std::int64_t>::min(), 0)),
                      &detail),
              errc::malformed_frame);
    EXPECT_EQ(detail, "events.ts") << "the lowest difference (its negation does not fit)";
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(UINT64_MAX), producers_entry(),
                                   minimal_rows_entry(2))),
              errc::malformed_frame)
        << "serials past 2^64";
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), producers_entry(), events_entry(0, 0, 4)), &detail),
              errc::missing_field);
    EXPECT_EQ(refusal(packed_frame(serial_entry(), producers_entry(), events_entry(0, 0)), &detail), errc::missing_field);
    EXPECT_EQ(detail, "session");
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), events_entry(0, 0)), &detail), errc::missing_field);
    EXPECT_EQ(detail, "producers");
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(), producers_entry(),
                                   entry("events", [](auto& p) {
                                       p.pack_array(1);
                                       p.pack(std::string("not a row"));
                                   }))),
              errc::wrong_type);
    EXPECT_EQ(refusal(packed_frame(session_entry(), serial_entry(),
                                   entry("producers", [](auto& p) {
                                       p.pack_array(1);
                                       p.pack_array(1);
                                       p.pack(std::string("no agent"));
                                   }),
                                   events_entry(0, 0)),
                      &detail),
              errc::missing_field);
    EXPECT_EQ(detail, "producers.agent");
    // Faults are reported as the keys are met. After the serial and the producers (the encoder's
    // order) the rows are read where they stand, so a bad row is named before a session missing
    // or wrong further on; rows that come first wait for the table, and the missing session is
    // found before them.
    EXPECT_EQ(refusal(packed_frame(serial_entry(), producers_entry(), events_entry(0, 1)), &detail), errc::malformed_frame);
    EXPECT_EQ(detail, "events.producer");
    EXPECT_EQ(refusal(packed_frame(serial_entry(), producers_entry(), events_entry(0, 1), entry("session", [](auto& p) { p.pack(7); })),
                      &detail),
              errc::malformed_frame);
    EXPECT_EQ(detail, "events.producer");
    EXPECT_EQ(refusal(packed_frame(events_entry(0, 1), serial_entry(), producers_entry()), &detail), errc::missing_field);
    EXPECT_EQ(detail, "session");
}

TEST(packed_events, a_producer_named_by_many_events_cannot_blow_up_the_decoded_size) {
    // One long producer id in the table, named by every event: each event would copy it.
    const std::string long_id(100'000, 'p');
    const auto build = [&](std::uint32_t events) {
        return packed_frame(session_entry(), serial_entry(),
                            entry("producers", [&](auto& p) {
                                p.pack_array(1);
                                p.pack_array(2);
                                p.pack(long_id);
                                p.pack(std::string("agent"));
                            }),
                            minimal_rows_entry(events));
    };
    proto::decode_limits limits;
    limits.max_frame_bytes = 1u << 20;
    // Ten copies (1 MB) fit the 1 MiB a plain frame could have carried; 5,000 (500 MB) do not.
    auto fits = proto::decode(build(10), limits);
    ASSERT_TRUE(fits.has_value()) << fits.err().detail;
    EXPECT_EQ(std::get<proto::event_batch>(fits.value()).events.at(9).producer_id, long_id);
    const std::string hostile = build(5'000);
    ASSERT_LT(hostile.size(), limits.max_frame_bytes) << "a small frame";
    auto refused = proto::decode(hostile, limits);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.err().code, errc::limit_exceeded);
    // Read in place, refused the same: the client's history would copy the id into every record.
    auto in_place = proto::decode_message_in_place(hostile, limits);
    ASSERT_TRUE(in_place.has_value() && in_place->size() == 1);
    ASSERT_FALSE(in_place->front().has_value());
    EXPECT_EQ(in_place->front().err().code, errc::limit_exceeded);
    auto fits_in_place = proto::decode_message_in_place(build(10), limits);
    ASSERT_TRUE(fits_in_place.has_value() && fits_in_place->front().has_value());
    const auto& viewed = std::get<proto::event_batch_view>(fits_in_place->front().value());
    EXPECT_EQ(viewed.events.back().producer_id.data(), viewed.events.front().producer_id.data()) << "views, not copies";
}

TEST(packed_events, a_bad_packed_frame_in_a_bundle_leaves_the_others_readable) {
    const std::string bad = packed_frame(session_entry(), serial_entry(), producers_entry(), events_entry(0, 3));
    const std::string good = proto::encode_packed(mixed_batch());
    std::string message;
    proto::append_bundle_header(2, message);
    message += bad;
    message += good;
    auto frames = proto::decode_message(message);
    ASSERT_TRUE(frames.has_value());
    ASSERT_EQ(frames->size(), 2u);
    EXPECT_FALSE((*frames)[0].has_value());
    ASSERT_TRUE((*frames)[1].has_value());
    EXPECT_EQ(std::get<proto::event_batch>((*frames)[1].value()), mixed_batch());
}

} // namespace
} // namespace holdfast
