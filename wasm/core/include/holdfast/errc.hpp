// Error codes shared by the client core, the relay and (through the bindings) JavaScript.
// Layer: portable core. The numeric values are part of the wire protocol (error frames carry them)
// and of the JS API (HoldfastError.code): append new codes, never renumber.
#pragma once
#include <cstdint>
#include <string_view>

namespace holdfast {

enum class errc : std::uint16_t {
    ok = 0,
    malformed_frame = 1,      // not msgpack, truncated, or not a map
    unknown_frame_type = 2,   // a well-formed frame of a type this side does not know
    missing_field = 3,
    wrong_type = 4,
    frame_too_large = 5,
    limit_exceeded = 6,       // nesting depth, string/array length, counts
    version_mismatch = 7,
    not_attached = 8,         // publish/control on a session the connection has not attached
    invalid_session_id = 9,
    invalid_payload = 10,     // payload JSON that does not parse, or a value that is not JSON-representable
    store_failure = 11,
    stale_epoch = 12,
    protocol_violation = 13,  // a frame valid on its own but not allowed now (e.g. attach before hello)
    forbidden = 14,           // e.g. publishing into a reserved system session
    closed = 15,              // the client was closed before the request completed
    sequence_gap = 16,        // a producer skipped a sequence number within its epoch
    slow_consumer = 17,       // the relay dropped a link whose send queue outgrew its bound
    unauthorized = 18,        // a token is required and is missing, malformed, forged or not for this relay
    token_expired = 19,       // the token's exp has passed: fetch a new one and reconnect
    rate_limited = 20,        // the connection sends faster than its frames/s or bytes/s budget
};

/// A stable lower_snake name per code, for logs, metrics labels and HoldfastError.name.
constexpr std::string_view to_string(errc code) noexcept {
    switch (code) {
    case errc::ok: return "ok";
    case errc::malformed_frame: return "malformed_frame";
    case errc::unknown_frame_type: return "unknown_frame_type";
    case errc::missing_field: return "missing_field";
    case errc::wrong_type: return "wrong_type";
    case errc::frame_too_large: return "frame_too_large";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::version_mismatch: return "version_mismatch";
    case errc::not_attached: return "not_attached";
    case errc::invalid_session_id: return "invalid_session_id";
    case errc::invalid_payload: return "invalid_payload";
    case errc::store_failure: return "store_failure";
    case errc::stale_epoch: return "stale_epoch";
    case errc::protocol_violation: return "protocol_violation";
    case errc::forbidden: return "forbidden";
    case errc::closed: return "closed";
    case errc::sequence_gap: return "sequence_gap";
    case errc::slow_consumer: return "slow_consumer";
    case errc::unauthorized: return "unauthorized";
    case errc::token_expired: return "token_expired";
    case errc::rate_limited: return "rate_limited";
    }
    return "unknown";
}

/// Highest code in use; tests walk 0..last_errc so a code added without a name fails.
inline constexpr errc last_errc = errc::rate_limited;

} // namespace holdfast
