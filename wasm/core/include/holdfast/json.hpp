// JSON <-> msgpack for event payloads. Layer: portable core. Payloads travel as msgpack; the JS API
// and the relay's HTTP API speak JSON. One converter on both sides keeps them in agreement.
#pragma once
#include "holdfast/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>


namespace holdfast::json {

struct parse_limits {
    std::size_t max_depth = 32;
    std::size_t max_bytes = 1u << 20;
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

/// Writes one JSON object field by field, so every hand-built object (events, messages, update
/// batches) escapes and separates the same way. Keys are trusted literals.
class object_writer {
public:
    explicit object_writer(std::string& out) : out_(out) { out_ += '{'; }
    object_writer& number(std::string_view key, std::uint64_t value) { return raw(key, std::to_string(value)); }
    object_writer& string(std::string_view key, std::string_view value) {
        append_string(value, begin(key));
        return *this;
    }
    object_writer& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
    /// A value that is already JSON text.
    object_writer& raw(std::string_view key, std::string_view json_text) {
        begin(key) += json_text;
        return *this;
    }
    /// Writes the key; the caller appends the value to the returned string.
    std::string& begin(std::string_view key) {
        if (!first_) out_ += ',';
        first_ = false;
        out_ += '"';
        out_ += key;
        out_ += "\":";
        return out_;
    }
    void close() { out_ += '}'; }

private:
    std::string& out_;
    bool first_ = true;
};

} // namespace holdfast::json
