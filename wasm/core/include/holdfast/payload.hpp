// Reading fields of an event payload (one msgpack value) without decoding it into a tree the
// caller must keep. Layer: portable core. Malformed payloads read as absent fields.
#pragma once
#include "holdfast/frames.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast {

/// The string under `key` of a map payload (its msgpack bytes); a payload that is itself a
/// string counts as "text". The view is into `payload`; empty when absent.
std::string_view payload_text(std::string_view payload, std::string_view key);
inline std::string payload_string(std::string_view payload, std::string_view key) {
    return std::string(payload_text(payload, key));
}
inline std::string payload_string(const proto::raw_value& payload, std::string_view key) {
    return payload_string(payload.bytes, key);
}
/// The non-negative integer under `key` of a map payload.
std::optional<std::uint64_t> payload_u64(std::string_view payload, std::string_view key);
inline std::optional<std::uint64_t> payload_u64(const proto::raw_value& payload, std::string_view key) {
    return payload_u64(std::string_view(payload.bytes), key);
}

} // namespace holdfast
