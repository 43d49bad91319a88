// The bounds every msgpack reader of the protocol applies (relay and clients alike), on their own
// so that what writes msgpack (the JSON converter) can keep to them too. Layer: portable core.
#pragma once
#include <cstddef>

namespace holdfast::proto {

/// Bounds applied before and while decoding, so hostile input is rejected before allocating.
struct decode_limits {
    std::size_t max_frame_bytes = 1u << 20;   // 1 MiB
    std::size_t max_depth = 32;
    std::size_t max_array_items = 10'000;
    std::size_t max_map_entries = 1'000;
    std::size_t max_string_bytes = 1u << 20;
};

/// How deep an event's payload may nest: a subscriber decodes it four containers down (a bundle,
/// the events frame, its events array, the event) with decode_limits. The relay refuses a deeper
/// one and the client does not send it.
inline constexpr std::size_t max_payload_depth = decode_limits{}.max_depth - 4;

} // namespace holdfast::proto
