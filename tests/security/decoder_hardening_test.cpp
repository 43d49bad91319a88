// The shared decoder against hostile msgpack: length bombs, counts larger than the bytes left,
// deep nesting, truncated fixext, reserved bytes. Each is a typed error, never an allocation
// proportional to a declared size. Layer: tests (portable core; the WASM build runs the same code).
#include "holdfast/codec.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/history.hpp"

#include <gtest/gtest.h>

#include <string>

namespace holdfast {
namespace {

using namespace std::string_literals;

/// A frame {"type": "ping", "nonce": <value>} whose nonce is the given raw msgpack.
std::string ping_with(const std::string& value) { return "\x82\xA4type\xA4ping\xA5nonce"s + value; }

error decode_error(const std::string& bytes, proto::decode_limits limits = {}) {
    auto decoded = proto::decode(bytes, limits);
    EXPECT_FALSE(decoded) << "accepted";
    return decoded ? error{} : decoded.err();
}

TEST(decoder_hardening, well_formed_frames_still_decode) {
    auto decoded = proto::decode(ping_with("\x07"));
    ASSERT_TRUE(decoded) << decoded.err().detail;
    EXPECT_EQ(std::get<proto::ping>(decoded.value()).nonce, 7u);
}

TEST(decoder_hardening, counts_beyond_the_remaining_bytes_are_refused_before_unpacking) {
    // array16 claiming 5,000 items (under the 10,000-item limit) with 1 byte behind it.
    auto e = decode_error(ping_with("\xDC\x13\x88\x01"));
    EXPECT_EQ(e.code, errc::malformed_frame);
    EXPECT_NE(e.detail.find("remain"), std::string::npos) << e.detail;
    // map16 claiming 900 entries.
    e = decode_error(ping_with("\xDE\x03\x84\x01\x02"));
    EXPECT_EQ(e.code, errc::malformed_frame);
    EXPECT_NE(e.detail.find("remain"), std::string::npos) << e.detail;
    // Nested arrays each claiming 9,000 items: with one level per remaining byte, none fits.
    std::string nested;
    for (int i = 0; i < 20; ++i) nested += "\xDC\x23\x28"s;
    EXPECT_EQ(decode_error(ping_with(nested)).code, errc::malformed_frame);
}

TEST(decoder_hardening, bin32_ext32_and_str32_length_bombs) {
    // Over the string limit: limit_exceeded; under it but past the end: malformed.
    EXPECT_EQ(decode_error(ping_with("\xC6\xFF\xFF\xFF\xF0"s)).code, errc::limit_exceeded);       // bin32 4 GiB
    EXPECT_EQ(decode_error(ping_with("\xC9\xFF\xFF\xFF\xF0\x01"s)).code, errc::limit_exceeded);   // ext32 4 GiB
    EXPECT_EQ(decode_error(ping_with("\xDB\x00\x01\x00\x00xx"s)).code, errc::malformed_frame);    // str32 64 KiB
    EXPECT_EQ(decode_error(ping_with("\xC6\x00\x00\x10\x00"s)).code, errc::malformed_frame);      // bin32 4 KiB
}

TEST(decoder_hardening, truncated_values_and_reserved_bytes) {
    EXPECT_EQ(decode_error(ping_with("\xD4\x01"s)).code, errc::malformed_frame);  // fixext1 without its byte
    EXPECT_EQ(decode_error(ping_with("\xD8\x01\x00\x00"s)).code, errc::malformed_frame);  // fixext16, 2 of 16
    EXPECT_EQ(decode_error(ping_with("\xC7"s)).code, errc::malformed_frame);      // ext8 with no length
    EXPECT_EQ(decode_error(ping_with("\xCF\x00\x00"s)).code, errc::malformed_frame);  // uint64 cut short
    EXPECT_EQ(decode_error(ping_with("\xC1"s)).code, errc::malformed_frame);      // never-used byte
    EXPECT_EQ(decode_error(ping_with("\x01\x02"s)).code, errc::malformed_frame);  // trailing bytes
}

TEST(decoder_hardening, nesting_past_the_depth_limit) {
    proto::decode_limits limits;
    limits.max_depth = 8;
    // 7 arrays inside the frame's map: depth 8, allowed (decoding then fails on the nonce's type).
    EXPECT_EQ(decode_error(ping_with(std::string(7, '\x91') + "\x01"), limits).code, errc::wrong_type);
    EXPECT_EQ(decode_error(ping_with(std::string(8, '\x91') + "\x01"), limits).code, errc::limit_exceeded);
    // Maps nest as deep as arrays.
    std::string maps;
    for (int i = 0; i < 50; ++i) maps += "\x81\x01"s;
    EXPECT_EQ(decode_error(ping_with(maps + "\x01"), limits).code, errc::limit_exceeded);
}

TEST(decoder_hardening, huge_counts_over_the_limits) {
    EXPECT_EQ(decode_error(ping_with("\xDD\x7F\xFF\xFF\xFF"s)).code, errc::limit_exceeded);  // array32
    EXPECT_EQ(decode_error(ping_with("\xDF\x7F\xFF\xFF\xFF"s)).code, errc::limit_exceeded);  // map32
    EXPECT_EQ(decode_error("\xDF\xFF\xFF\xFF\xFF"s).code, errc::limit_exceeded);             // as the frame itself
}

TEST(decoder_hardening, every_prefix_of_a_valid_frame_is_refused_by_the_prescan) {
    const std::string frame = proto::encode(proto::publish{"chat-1", "p", 1, "message.delta", "m1", proto::raw_value{"\x92\xD4\x01\x02\xC4\x02xy"s}});
    ASSERT_FALSE(proto::detail::prescan_msgpack(frame, {}));
    for (std::size_t length = 0; length < frame.size(); ++length) {
        auto failure = proto::detail::prescan_msgpack(std::string_view(frame).substr(0, length), {});
        ASSERT_TRUE(failure) << "prefix of " << length;
        EXPECT_EQ(failure->code, errc::malformed_frame);
    }
}

TEST(decoder_hardening, history_records_go_through_the_same_limits) {
    // A record whose event map declares a bin32 body past its end.
    const std::string bomb = "\x81\xA5""event\x81\xA7payload\xC6\x00\x00\xFF\xFF"s;
    auto decoded = proto::decode_struct<client::history_record>(bomb, {});
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.err().code, errc::malformed_frame);
}

} // namespace
} // namespace holdfast
