// Reading fields of an event payload (one msgpack value) without decoding it into a tree the
// caller must keep. Layer: portable core. Malformed payloads read as absent fields.
#pragma once
#include "holdfast/frames.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast {

/// The string under `key` of a map payload; a payload that is itself a string counts as "text".
std::string payload_string(const proto::raw_value& payload, std::string_view key);
/// The non-negative integer under `key` of a map payload.
std::optional<std::uint64_t> payload_u64(const proto::raw_value& payload, std::string_view key);

} // namespace holdfast
