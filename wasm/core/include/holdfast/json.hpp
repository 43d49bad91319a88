// JSON <-> msgpack for event payloads. Layer: portable core. Payloads travel as msgpack; the JS API
// and the relay's HTTP API speak JSON. One converter on both sides keeps them in agreement.
#pragma once
#include "holdfast/decode_limits.hpp"
#include "holdfast/result.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>


namespace holdfast::json {

struct parse_limits {
    std::size_t max_depth = 32;
    std::size_t max_bytes = 1u << 20;
    /// The decoders' limits per container: what they would refuse is refused here, before it is
    /// sent anywhere.
    std::size_t max_array_items = proto::decode_limits{}.max_array_items;
    std::size_t max_map_entries = proto::decode_limits{}.max_map_entries;
};

/// Parses strict JSON (RFC 8259) into one msgpack value. Integers that fit stay integers;
/// other numbers become float64. Errors: errc::invalid_payload / errc::limit_exceeded.
result<std::string> to_msgpack(std::string_view json_text, const parse_limits& limits = {});

/// Renders msgpack bytes (exactly one value; empty means null) as JSON appended to `out`, read in
/// place. Non-string map keys are rendered as their JSON text in a string; bin as a string of its
/// bytes; NaN/Inf and ext as null. False (and `out` unchanged) when the bytes are not one value.
bool append_json(std::string_view msgpack_bytes, std::string& out);

/// Renders msgpack bytes (one value; empty means null) as JSON.
result<std::string> from_msgpack(std::string_view msgpack_bytes);

/// Appends `text` as a JSON string literal (quotes and escapes). Invalid UTF-8 becomes U+FFFD.
void append_string(std::string_view text, std::string& out);

/// Appends `value` in decimal (no allocation, unlike std::to_string).
inline void append_number(std::uint64_t value, std::string& out) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

/// Writes one JSON object field by field, so every hand-built object (events, messages, update
/// batches) escapes and separates the same way. Keys are literals, passed as C strings: a
/// string_view made from a literal at each call costs a call to its constructor and to strlen in
/// the size-optimized browser build at every call site (nine for every live event's update), and
/// is passed through memory; begin() measures the key once and writes it as any string is written,
/// with its separator and colon in the same append.
class object_writer {
public:
    explicit object_writer(std::string& out);
    object_writer& number(const char* key, std::uint64_t value);
    object_writer& string(const char* key, std::string_view value);
    object_writer& boolean(const char* key, bool value);
    /// A value that is already JSON text.
    object_writer& raw(const char* key, std::string_view json_text);
    /// Writes the key; the caller appends the value to the returned string.
    std::string& begin(const char* key);
    void close();

private:
    std::string& out_;
    bool first_ = true;
};

} // namespace holdfast::json
