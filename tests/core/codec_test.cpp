// Codec: typed round-trip of every frame type, golden bytes, and strict rejection of bad input.
#include "holdfast/codec.hpp"
#include "sample_frames.hpp"
#include "../support/packed.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace holdfast {
namespace {

using test::for_each_frame_type;

TEST(codec, every_frame_type_round_trips_to_an_equal_value) {
    int count = 0;
    for_each_frame_type([&](const auto& original) {
        using T = std::decay_t<decltype(original)>;
        const std::string bytes = proto::encode(original);
        auto decoded = proto::decode(bytes);
        ASSERT_TRUE(decoded) << T::frame_type << ": " << decoded.err().detail;
        ASSERT_TRUE(std::holds_alternative<T>(decoded.value())) << T::frame_type;
        EXPECT_EQ(std::get<T>(decoded.value()), original) << T::frame_type;
        EXPECT_EQ(proto::type_name(decoded.value()), T::frame_type);
        EXPECT_EQ(proto::encode(decoded.value()), bytes) << "re-encoding must be byte-identical";
        ++count;
    });
    EXPECT_EQ(count, static_cast<int>(std::variant_size_v<proto::frame>));
}

TEST(codec, encoded_frames_match_the_golden_fixtures) {
    const std::filesystem::path dir = HOLDFAST_FIXTURES_DIR;
    const bool update = std::getenv("HOLDFAST_UPDATE_GOLDEN") != nullptr;
    for_each_frame_type([&](const auto& original) {
        using T = std::decay_t<decltype(original)>;
        const auto path = dir / (std::string(T::frame_type) + ".msgpack");
        const std::string bytes = proto::encode(original);
        if (update) std::ofstream(path, std::ios::binary) << bytes;
        std::ifstream in(path, std::ios::binary);
        ASSERT_TRUE(in) << "missing fixture " << path << " (run with HOLDFAST_UPDATE_GOLDEN=1)";
        const std::string golden{std::istreambuf_iterator<char>(in), {}};
        EXPECT_EQ(bytes, golden) << T::frame_type << " changed its wire form";
    });
}

TEST(codec, a_write_encoded_from_views_is_byte_for_byte_the_publish_or_control_frame) {
    const auto check = [](const proto::publish& p) {
        const proto::control c{p.session, p.producer_id, p.producer_seq, p.kind, p.msg_id, p.payload, p.producer_epoch};
        const auto view = [&](bool control) {
            return proto::write_view{control, p.session, p.producer_id, p.producer_seq, p.kind, p.msg_id,
                                     p.payload.bytes, p.producer_epoch};
        };
        EXPECT_EQ(proto::encode_write(view(false)), proto::encode(p)) << p.kind.size() << " " << p.producer_seq;
        EXPECT_EQ(proto::encode_write(view(true)), proto::encode(c)) << p.kind.size() << " " << p.producer_seq;
        auto back = proto::decode(proto::encode_write(view(false)));
        ASSERT_TRUE(back);
        EXPECT_EQ(std::get<proto::publish>(back.value()), p);
    };
    check(test::sample<proto::publish>());
    proto::publish p = test::sample<proto::publish>();
    p.payload.bytes.clear();  // nil
    check(p);
    // Every msgpack length form of its strings (fixstr, str8, str16, str32) and integer widths.
    for (std::size_t length : {0u, 31u, 32u, 255u, 256u, 65535u, 65536u}) {
        for (std::uint64_t number : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{65536},
                                     std::uint64_t{1} << 40, (std::uint64_t{1} << 63) - 1}) {
            proto::publish q{std::string(length, 's'), std::string(length / 2, 'p'), number, std::string(length, 'k'),
                             std::string(length, 'm'), test::payload("[1,\"" + std::string(length, 'x') + "\"]"), number};
            check(q);
        }
    }
}

TEST(codec, frame_starts_with_its_type_key) {
    const std::string bytes = proto::encode(test::sample<proto::attach>());
    // fixmap(4), then fixstr "type", then fixstr "attach"
    ASSERT_GE(bytes.size(), 13u);
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x84);
    EXPECT_EQ(bytes.substr(1, 5), "\xA4type");
    EXPECT_EQ(bytes.substr(6, 7), "\xA6" "attach");
}

TEST(codec, unknown_keys_are_ignored_and_absent_optionals_stay_empty) {
    const std::string bytes = holdfast::testing::packed([](auto& p) {
        p.pack_map(4);
        p.pack(std::string("type")); p.pack(std::string("error"));
        p.pack(std::string("code")); p.pack(7);
        p.pack(std::string("message")); p.pack(std::string("bad"));
        p.pack(std::string("added_in_v2")); p.pack(std::string("whatever"));
    });
    auto decoded = proto::decode(bytes);
    ASSERT_TRUE(decoded) << decoded.err().detail;
    const auto& err = std::get<proto::error_frame>(decoded.value());
    EXPECT_EQ(err.code, 7u);
    EXPECT_FALSE(err.session.has_value());
    EXPECT_FALSE(err.producer_seq.has_value());
}

struct bad_case {
    const char* name;
    std::string bytes;
    errc expected;
    const char* detail_contains;
};

std::vector<bad_case> bad_cases() {
    const std::string good = proto::encode(test::sample<proto::publish>());
    return {
        {"empty", "", errc::malformed_frame, "empty"},
        {"not msgpack", "\xC1", errc::malformed_frame, ""},
        {"truncated", good.substr(0, good.size() - 3), errc::malformed_frame, "truncated"},
        {"trailing bytes", good + "\x01", errc::malformed_frame, "trailing"},
        {"not a map", holdfast::testing::packed([](auto& p) { p.pack_array(1); p.pack(1); }), errc::malformed_frame, "map"},
        {"no type", holdfast::testing::packed([](auto& p) { p.pack_map(1); p.pack(std::string("session")); p.pack(std::string("x")); }),
         errc::missing_field, "type"},
        {"type not a string", holdfast::testing::packed([](auto& p) { p.pack_map(1); p.pack(std::string("type")); p.pack(3); }),
         errc::wrong_type, "type"},
        {"unknown type", holdfast::testing::packed([](auto& p) { p.pack_map(1); p.pack(std::string("type")); p.pack(std::string("teleport")); }),
         errc::unknown_frame_type, "teleport"},
        {"missing field", holdfast::testing::packed([](auto& p) {
             p.pack_map(2); p.pack(std::string("type")); p.pack(std::string("attach"));
             p.pack(std::string("session")); p.pack(std::string("s"));
         }), errc::missing_field, "from_serial"},
        {"string where integer", holdfast::testing::packed([](auto& p) {
             p.pack_map(4); p.pack(std::string("type")); p.pack(std::string("attach"));
             p.pack(std::string("session")); p.pack(std::string("s"));
             p.pack(std::string("from_serial")); p.pack(std::string("12"));
             p.pack(std::string("epoch")); p.pack(1);
         }), errc::wrong_type, "from_serial"},
        {"negative serial", holdfast::testing::packed([](auto& p) {
             p.pack_map(4); p.pack(std::string("type")); p.pack(std::string("attach"));
             p.pack(std::string("session")); p.pack(std::string("s"));
             p.pack(std::string("from_serial")); p.pack(-1);
             p.pack(std::string("epoch")); p.pack(1);
         }), errc::wrong_type, "from_serial"},
        {"integer where string", holdfast::testing::packed([](auto& p) {
             p.pack_map(2); p.pack(std::string("type")); p.pack(std::string("detach"));
             p.pack(std::string("session")); p.pack(5);
         }), errc::wrong_type, "session"},
        {"u32 overflow", holdfast::testing::packed([](auto& p) {
             p.pack_map(5); p.pack(std::string("type")); p.pack(std::string("hello"));
             p.pack(std::string("version")); p.pack(std::uint64_t{1} << 40);
             p.pack(std::string("token")); p.pack(std::string(""));
             p.pack(std::string("client_id")); p.pack(std::string(""));
             p.pack(std::string("agent")); p.pack(std::string(""));
         }), errc::wrong_type, "version"},
        {"nested struct wrong type", holdfast::testing::packed([](auto& p) {
             p.pack_map(4); p.pack(std::string("type")); p.pack(std::string("welcome"));
             p.pack(std::string("connection_id")); p.pack(std::string("c"));
             p.pack(std::string("version")); p.pack(1);
             p.pack(std::string("limits")); p.pack_map(2);
             p.pack(std::string("max_frame_bytes")); p.pack(std::string("big"));
             p.pack(std::string("max_batch_events")); p.pack(1);
         }), errc::wrong_type, "limits.max_frame_bytes"},
        {"events not an array", holdfast::testing::packed([](auto& p) {
             p.pack_map(3); p.pack(std::string("type")); p.pack(std::string("events"));
             p.pack(std::string("session")); p.pack(std::string("s"));
             p.pack(std::string("events")); p.pack(std::string("nope"));
         }), errc::wrong_type, "events"},
    };
}

TEST(codec, malformed_input_is_rejected_with_the_right_error) {
    for (const auto& c : bad_cases()) {
        auto decoded = proto::decode(c.bytes);
        ASSERT_FALSE(decoded) << c.name;
        EXPECT_EQ(decoded.err().code, c.expected) << c.name << ": " << decoded.err().detail;
        EXPECT_NE(decoded.err().detail.find(c.detail_contains), std::string::npos)
            << c.name << ": detail was '" << decoded.err().detail << "'";
    }
}

TEST(codec, every_truncation_of_every_frame_is_rejected_without_crashing) {
    for_each_frame_type([&](const auto& original) {
        const std::string bytes = proto::encode(original);
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            auto decoded = proto::decode(std::string_view(bytes).substr(0, length));
            EXPECT_FALSE(decoded) << "prefix of " << length << " bytes accepted";
        }
    });
}

TEST(codec, oversized_frame_is_rejected_before_parsing) {
    proto::decode_limits limits;
    limits.max_frame_bytes = 64;
    const std::string big = proto::encode(proto::publish{"s", "p", 1, "k", "m", test::payload("\"" + std::string(100, 'x') + "\"")});
    auto decoded = proto::decode(big, limits);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.err().code, errc::frame_too_large);
}

TEST(codec, declared_lengths_and_depth_beyond_limits_are_rejected) {
    proto::decode_limits limits;
    // array32 header claiming 2^32-1 items in a 6-byte frame: refused, not allocated.
    const std::string array_bomb = "\x81\xA4type\xDD\xFF\xFF\xFF\xFF";
    EXPECT_EQ(proto::decode(array_bomb, limits).err().code, errc::limit_exceeded);
    // str32 claiming 4 GiB.
    const std::string str_bomb = "\x81\xA4type\xDB\xFF\xFF\xFF\xF0";
    EXPECT_FALSE(proto::decode(str_bomb, limits));
    // 100 nested arrays inside a payload.
    std::string deep = "\x82\xA4type\xA4ping\xA5nonce";
    deep += std::string(100, '\x91');
    deep += '\x01';
    auto decoded = proto::decode(deep, limits);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.err().code, errc::limit_exceeded);
}

TEST(codec, single_events_round_trip_for_storage) {
    const auto batch = test::sample<proto::event_batch>();
    for (const auto& e : batch.events) {
        auto decoded = proto::decode_event(proto::encode_event(e));
        ASSERT_TRUE(decoded);
        EXPECT_EQ(decoded.value(), e);
    }
    EXPECT_FALSE(proto::decode_event("\x93\x01\x02\x03"));
}

TEST(codec, members_may_come_in_any_order_and_the_first_of_a_repeated_key_counts) {
    const std::string bytes = holdfast::testing::packed([](auto& p) {
        p.pack_map(6);
        p.pack(std::string("epoch")); p.pack(9);
        p.pack(7); p.pack(std::string("a non-string key is skipped"));
        p.pack(std::string("from_serial")); p.pack(41);
        p.pack(std::string("type")); p.pack(std::string("attach"));
        p.pack(std::string("session")); p.pack(std::string("first"));
        p.pack(std::string("session")); p.pack(std::string("second"));
    });
    auto decoded = proto::decode(bytes);
    ASSERT_TRUE(decoded) << decoded.err().detail;
    EXPECT_EQ(std::get<proto::attach>(decoded.value()), (proto::attach{"first", 41, 9}));
}

TEST(codec, a_bad_event_inside_a_batch_is_named_by_its_path) {
    const std::string bytes = holdfast::testing::packed([](auto& p) {
        p.pack_map(3);
        p.pack(std::string("type")); p.pack(std::string("events"));
        p.pack(std::string("session")); p.pack(std::string("s"));
        p.pack(std::string("events")); p.pack_array(1);
        p.pack_map(2);
        p.pack(std::string("serial")); p.pack(1);
        p.pack(std::string("ts")); p.pack(2);
    });
    auto decoded = proto::decode(bytes);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.err().code, errc::missing_field);
    EXPECT_EQ(decoded.err().detail, "events.producer_id");
}

TEST(codec, payloads_keep_their_bytes_and_bin_reads_as_a_string) {
    // A float64 payload and a non-minimal integer inside it: carried byte for byte, never re-packed.
    std::string payload = holdfast::testing::packed([](auto& p) {
        p.pack_map(2);
        p.pack(std::string("x")); p.pack_double(0.5);
        p.pack(std::string("n"));
    });
    payload += std::string("\xcd\x00\x05", 3);  // uint16 holding 5
    const std::string bytes = holdfast::testing::packed([&](auto& p) {
        p.pack_map(8);
        p.pack(std::string("type")); p.pack(std::string("publish"));
        p.pack(std::string("session")); p.pack_bin(1); p.pack_bin_body("s", 1);
        p.pack(std::string("producer_id")); p.pack(std::string("p"));
        p.pack(std::string("producer_seq")); p.pack(1);
        p.pack(std::string("kind")); p.pack(std::string("k"));
        p.pack(std::string("msg_id")); p.pack(std::string(""));
        p.pack(std::string("payload")); p.pack_bin_body(payload.data(), static_cast<std::uint32_t>(payload.size()));
        p.pack(std::string("producer_epoch")); p.pack(3);
    });
    auto decoded = proto::decode(bytes);
    ASSERT_TRUE(decoded) << decoded.err().detail;
    const auto& publish = std::get<proto::publish>(decoded.value());
    EXPECT_EQ(publish.session, "s");
    EXPECT_EQ(publish.payload.bytes, payload);
}

TEST(codec, a_bundle_keeps_the_good_frames_around_a_bad_one) {
    const std::string good = proto::encode(proto::ping{5});
    const std::string bad = holdfast::testing::packed([](auto& p) {
        p.pack_map(2);
        p.pack(std::string("type")); p.pack(std::string("ping"));
        p.pack(std::string("nonce")); p.pack_array(2); p.pack(1); p.pack(2);
    });
    std::string message;
    proto::append_bundle_header(3, message);
    message += good + bad + good;
    auto decoded = proto::decode_message(message);
    ASSERT_TRUE(decoded) << decoded.err().detail;
    ASSERT_EQ(decoded.value().size(), 3u);
    EXPECT_TRUE(decoded.value()[0]);
    ASSERT_FALSE(decoded.value()[1]);
    EXPECT_EQ(decoded.value()[1].err().code, errc::wrong_type);
    EXPECT_EQ(decoded.value()[1].err().detail, "nonce");
    ASSERT_TRUE(decoded.value()[2]);
    EXPECT_EQ(std::get<proto::ping>(decoded.value()[2].value()).nonce, 5u);
}

TEST(codec, describe_renders_frames_as_json) {
    const std::string text = proto::describe(proto::frame(test::sample<proto::publish>()));
    EXPECT_NE(text.find("\"type\":\"publish\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"payload\":{\"text\":\"hello"), std::string::npos) << text;
}

TEST(errc, every_code_has_a_distinct_name) {
    std::set<std::string_view> names;
    for (unsigned code = 0; code <= static_cast<unsigned>(last_errc); ++code) {
        const auto name = to_string(static_cast<errc>(code));
        EXPECT_NE(name, "unknown") << code;
        EXPECT_TRUE(names.insert(name).second) << name;
    }
}

} // namespace
} // namespace holdfast
