// JSON <-> msgpack payload bridge: round-trips, strictness, limits.
#include "holdfast/json.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/detail/codec_impl.hpp"

#include <cmath>
#include <cstdio>
#include <random>

#include "holdfast/detail/msgpack_reader.hpp"
#include "../support/packed.hpp"

#include <gtest/gtest.h>

namespace holdfast {
namespace {

std::string round_trip(std::string_view text) {
    auto packed = json::to_msgpack(text);
    EXPECT_TRUE(packed) << text << ": " << (packed ? "" : packed.err().detail);
    if (!packed) return {};
    auto back = json::from_msgpack(packed.value());
    EXPECT_TRUE(back);
    return back ? back.value() : std::string{};
}

TEST(json, values_round_trip_in_canonical_form) {
    EXPECT_EQ(round_trip("null"), "null");
    EXPECT_EQ(round_trip(" true "), "true");
    EXPECT_EQ(round_trip("false"), "false");
    EXPECT_EQ(round_trip("0"), "0");
    EXPECT_EQ(round_trip("-17"), "-17");
    EXPECT_EQ(round_trip("18446744073709551615"), "18446744073709551615");
    EXPECT_EQ(round_trip("0.1"), "0.1");
    EXPECT_EQ(round_trip("1e3"), "1000");
    EXPECT_EQ(round_trip("-2.5E-3"), "-0.0025");
    EXPECT_EQ(round_trip(R"("a\"b\\c\n\t\u0001")"), R"("a\"b\\c\n\t\u0001")");
    EXPECT_EQ(round_trip(R"("\u00e9\ud83d\ude00")"), "\"\xC3\xA9\xF0\x9F\x98\x80\"");
    EXPECT_EQ(round_trip(R"({"a":[1,{"b":null}],"c":{}})"), R"({"a":[1,{"b":null}],"c":{}})");
    EXPECT_EQ(round_trip("[]"), "[]");
}

TEST(json, integers_stay_integers_in_msgpack) {
    auto packed = json::to_msgpack("42");
    ASSERT_TRUE(packed);
    EXPECT_EQ(packed.value(), std::string("\x2A"));
}

TEST(json, invalid_text_is_rejected_with_invalid_payload) {
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"abc", "\"\\x\"", "{1:2}",
                            "[1] 2", "\"\\ud800\"", "\"a\nb\"", "-", "NaN"}) {
        auto packed = json::to_msgpack(bad);
        ASSERT_FALSE(packed) << "accepted: " << bad;
        EXPECT_EQ(packed.err().code, errc::invalid_payload) << bad;
    }
}

TEST(json, depth_and_size_limits_are_enforced) {
    const std::string deep = std::string(40, '[') + std::string(40, ']');
    auto packed = json::to_msgpack(deep);
    ASSERT_FALSE(packed);
    EXPECT_EQ(packed.err().code, errc::limit_exceeded);
    json::parse_limits small;
    small.max_bytes = 4;
    EXPECT_EQ(json::to_msgpack("\"hello\"", small).err().code, errc::limit_exceeded);
}

// A payload the decoders would refuse (decode_limits: 10,000 items, 1,000 entries per container)
// is refused when it is made, so a client never spends a producer sequence on a publish the relay
// refuses.
TEST(json, containers_over_the_decoders_limits_are_refused) {
    const auto array_of = [](std::size_t n) {
        std::string text = "[0";
        for (std::size_t i = 1; i < n; ++i) text += ",0";
        return text + "]";
    };
    const auto map_of = [](std::size_t n) {
        std::string text = "{";
        for (std::size_t i = 0; i < n; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
        return text + "}";
    };
    EXPECT_TRUE(json::to_msgpack(array_of(10'000)));
    EXPECT_TRUE(json::to_msgpack(map_of(1'000)));
    for (const std::string& text : {array_of(10'001), map_of(1'001), "{\"deep\":" + array_of(10'001) + "}"}) {
        auto packed = json::to_msgpack(text);
        ASSERT_FALSE(packed);
        EXPECT_EQ(packed.err().code, errc::limit_exceeded) << packed.err().detail;
    }
    // What passes decodes under the same limits.
    EXPECT_FALSE(proto::detail::prescan_msgpack(json::to_msgpack(array_of(10'000)).value(), proto::decode_limits{}));
}

TEST(json, invalid_utf8_in_msgpack_strings_renders_as_replacement) {
    std::string out;
    json::append_string("ok\xFF!", out);
    EXPECT_EQ(out, "\"ok\xEF\xBF\xBD!\"");
}

TEST(json, msgpack_that_is_not_one_bounded_value_is_refused_without_reading_past_it) {
    EXPECT_FALSE(json::from_msgpack(std::string(100, '\x91') + '\x01'));   // nested past the render depth
    EXPECT_FALSE(json::from_msgpack(std::string("\xdd\xff\xff\xff\xff\x01", 6)));  // claims 4 G items, holds one
    EXPECT_FALSE(json::from_msgpack(std::string("\x92\x01", 2)));  // truncated array
    EXPECT_FALSE(json::from_msgpack(std::string("\x01\x02", 2)));  // two values
    std::string out = "kept";
    EXPECT_FALSE(json::append_json(std::string("\x92\x01", 2), out));
    EXPECT_EQ(out, "kept");
    EXPECT_EQ(json::from_msgpack(std::string("\x81\x01\xa1x", 4)).value(), R"({"1":"x"})");
}

TEST(json, rendering_keeps_strings_numbers_keys_and_nesting_exact) {
    // Strings of many lengths as values and keys, deep brackets closing together, every kind of
    // number, escapes and non-ASCII text, and keys that are not strings.
    // 59 and 60: a short string fills the one-append buffer exactly, as a key with its brace or
    // comma and its colon; 61 on: the general path.
    for (const std::size_t n : {0u, 1u, 59u, 60u, 61u, 62u, 63u, 64u, 65u, 200u}) {
        const std::string text(n, 'x');
        const std::string doc = R"({"k":[")" + text + R"(",{")" + text + R"(":")" + text + R"("}],")" + text + R"(":1})";
        EXPECT_EQ(round_trip(doc), doc) << n;
    }
    EXPECT_EQ(json::from_msgpack(std::string(20, '\x91').substr(0, 19) + '\x90').value(), std::string(19, '[') + "[]" + std::string(19, ']'));
    EXPECT_EQ(round_trip(R"([[[[[[[[[[{"a":{"b":{"c":{}}}}]]]]]]]]]])"), R"([[[[[[[[[[{"a":{"b":{"c":{}}}}]]]]]]]]]])");
    EXPECT_EQ(round_trip(R"({"n":-9007199254740993,"w":1795000000000.0,"f":12345.678,"e":1e300,"z":-0.5,"t":true,"u":null})"),
              R"({"n":-9007199254740993,"w":1795000000000,"f":12345.678,"e":1e+300,"z":-0.5,"t":true,"u":null})");
    EXPECT_EQ(round_trip(R"({"\u00e9t\u00e9":"a\"b","tab\t":["\\"]})"), "{\"\xC3\xA9t\xC3\xA9\":\"a\\\"b\",\"tab\\t\":[\"\\\\\"]}");
    // A key that is not a string is written as the JSON text of its value, quoted.
    EXPECT_EQ(json::from_msgpack(std::string("\x82\x92\x01\xa1\x61\x02\xc3\xa1\x62", 9)).value(), R"({"[1,\"a\"]":2,"true":"b"})");
}

TEST(json, object_keys_of_every_length_are_written_whole) {
    // A key goes with its comma, quotes and colon in one append when it is short (up to 60
    // bytes, as any short string: append_quoted), else by the general path.
    for (const std::size_t n : {0u, 1u, 59u, 60u, 61u, 67u, 68u, 69u, 70u, 71u, 72u, 73u, 200u}) {
        const std::string key(n, 'k');
        std::string first;
        json::object_writer(first).number(key.c_str(), 2).close();
        EXPECT_EQ(first, "{\"" + key + "\":2}") << n;
        std::string later;
        json::object_writer(later).number("a", 1).string(key.c_str(), "v").close();
        EXPECT_EQ(later, "{\"a\":1,\"" + key + "\":\"v\"}") << n;
    }
}

TEST(json, empty_msgpack_means_null) {
    EXPECT_EQ(json::from_msgpack("").value(), "null");
    EXPECT_FALSE(json::from_msgpack("\xC1"));
}

} // namespace
} // namespace holdfast

namespace holdfast {
namespace {

/// The reference for JS's Number toString: the shortest digits from printf's %.*e searched from
/// one digit up (not to_chars, which the native formatter uses), laid out by ECMAScript's rules.
std::string js_number_reference(double d) {
    char buffer[40];
    for (int precision = 0; precision <= 16; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*e", precision, d);
        if (std::strtod(buffer, nullptr) == d) break;
    }
    std::string text = buffer, digits, out = d < 0 ? "-" : "";
    const std::size_t e = text.find('e');
    for (std::size_t i = d < 0 ? 1 : 0; i < e; ++i) {
        if (text[i] != '.') digits += text[i];
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    const int n = std::stoi(text.substr(e + 1)) + 1, k = static_cast<int>(digits.size());
    if (k <= n && n <= 21) return out + digits + std::string(static_cast<std::size_t>(n - k), '0');
    if (0 < n && n <= 21) return out + digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
    if (-6 < n && n <= 0) return out + "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
    return out + digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
}

std::string render_double(double d) {
    return json::from_msgpack(holdfast::testing::packed([d](auto& p) { p.pack_double(d); })).value();
}

TEST(json, strings_arrays_and_maps_get_msgpack_cs_header_at_every_size_boundary) {
    for (const std::size_t n : {0u, 1u, 15u, 16u, 31u, 32u, 255u, 256u, 65535u, 65536u, 70000u}) {
        const std::string text(n, 'a');
        const std::string expected_string = holdfast::testing::packed([&](auto& p) {
            p.pack_str(static_cast<std::uint32_t>(n));
            p.pack_str_body(text.data(), static_cast<std::uint32_t>(n));
        });
        EXPECT_EQ(json::to_msgpack("\"" + text + "\"", {32, 1u << 20}).value(), expected_string) << n;

        std::string array = "[", object = "{", expected_items, expected_entries;
        for (std::size_t i = 0; i < n; ++i) {
            array += (i ? ",1" : "1");
            const std::string key = "k" + std::to_string(i);
            object += (i ? ",\"" : "\"") + key + "\":true";
            expected_items += '\x01';
            expected_entries += holdfast::testing::packed([&](auto& p) {
                p.pack_str(static_cast<std::uint32_t>(key.size()));
                p.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
                p.pack_true();
            });
        }
        array += "]";
        object += "}";
        const json::parse_limits big{32, 4u << 20, 1u << 20, 1u << 20};
        EXPECT_EQ(json::to_msgpack(array, big).value(),
                  holdfast::testing::packed([&](auto& p) { p.pack_array(static_cast<std::uint32_t>(n)); }) + expected_items) << n;
        EXPECT_EQ(json::to_msgpack(object, big).value(),
                  holdfast::testing::packed([&](auto& p) { p.pack_map(static_cast<std::uint32_t>(n)); }) + expected_entries) << n;
    }
    // Nested, with escapes and a long string inside a short container: every header lands where it belongs.
    EXPECT_EQ(round_trip(R"({"a":[1,{"b":"x\ny"}],"c":")" + std::string(300, 'z') + R"("})"),
              R"({"a":[1,{"b":"x\ny"}],"c":")" + std::string(300, 'z') + R"("})");
}

TEST(json, the_number_reference_writes_what_node_writes) {
    // String(x) in Node 20 for each.
    EXPECT_EQ(js_number_reference(1152921504606846976.0), "1152921504606847000");
    EXPECT_EQ(js_number_reference(1.5e-7), "1.5e-7");
    EXPECT_EQ(js_number_reference(1e21), "1e+21");
    EXPECT_EQ(js_number_reference(123456789012345680000.0), "123456789012345680000");
    EXPECT_EQ(js_number_reference(0.000001234), "0.000001234");
    EXPECT_EQ(js_number_reference(-12345.678), "-12345.678");
    EXPECT_EQ(js_number_reference(0.1 + 0.2), "0.30000000000000004");
}

TEST(json, floats_render_as_the_shortest_text_that_reads_back_exactly_as_js_writes_it) {
    std::mt19937_64 random(20261123);
    std::uniform_real_distribution<double> wide(-1e6, 1e6), clock(0.0, 1e8);
    std::uniform_int_distribution<int> exponent(-30, 30), decimals(1, 9);
    for (int i = 0; i < 200000; ++i) {
        double d = wide(random) * std::pow(10.0, exponent(random));
        // "Nice" values such as 1234.567 (a monotonic clock in ms), which the fast path formats.
        if (i % 4 == 0) d = std::round(d * 1000.0) / 1000.0;
        if (i % 4 == 1) d = std::round(clock(random) * std::pow(10.0, decimals(random))) / std::pow(10.0, decimals(random));
        if (i % 4 == 2) d = std::nextafter(std::round(d * 100.0) / 100.0, 0.0);  // one step off a nice value
        const std::string text = render_double(d);
        ASSERT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
        // (msgpack-c packs a whole double that fits 64 bits as an integer: printed as one.)
        if (d != std::trunc(d)) ASSERT_EQ(text, js_number_reference(d)) << "for " << js_number_reference(d);
    }
    // Zero-padded fractions near the fixed notation's lower end (1e-6), and one digit after the point.
    EXPECT_EQ(render_double(0.05), "0.05");
    EXPECT_EQ(render_double(0.000001), "0.000001");
    EXPECT_EQ(render_double(0.0000015), "0.0000015");
    EXPECT_EQ(render_double(5.5), "5.5");
    EXPECT_EQ(render_double(1700000000123.0), "1700000000123");
    EXPECT_EQ(render_double(12345.678), "12345.678");
    EXPECT_EQ(render_double(-0.5), "-0.5");
    EXPECT_EQ(render_double(1e300), "1e+300");
}

TEST(json, number_literals_read_as_the_nearest_double_fast_path_or_not) {
    std::mt19937_64 random(20261124);
    std::uniform_int_distribution<int> digit(0, 9), length(1, 20), point(0, 20), exponent(-40, 40), form(0, 3);
    for (int i = 0; i < 50000; ++i) {
        std::string text = (i % 2) ? "-" : "";
        const int n = length(random), dot = point(random);
        text += static_cast<char>('1' + digit(random) % 9);
        for (int k = 1; k < n; ++k) {
            if (k == dot) text += '.';
            text += static_cast<char>('0' + digit(random));
        }
        if (form(random) == 0) text += (i % 3 ? "e" : "E-") + std::to_string(std::abs(exponent(random)));
        if (text.find_first_of(".eE") == std::string::npos) text += ".5";
        const std::string packed = json::to_msgpack(text).value();
        // msgpack-c packs a whole double as an integer.
        proto::detail::msgpack_reader in(packed);
        const auto kind = in.peek();
        const double parsed = kind == proto::detail::msgpack_kind::float64 ? in.floating()
                              : kind == proto::detail::msgpack_kind::negative ? static_cast<double>(in.signed_integer())
                                                                              : static_cast<double>(in.unsigned_integer());
        ASSERT_EQ(parsed, std::strtod(text.c_str(), nullptr)) << text;
    }
}

} // namespace
} // namespace holdfast
