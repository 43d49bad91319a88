// Payload field access. Layer: portable core.
#include "holdfast/payload.hpp"

#include "holdfast/detail/msgpack_reader.hpp"

namespace holdfast {
namespace {

using proto::detail::msgpack_kind;
using proto::detail::msgpack_reader;

/// Calls `read(reader)` with the cursor on the map value under `key` (or on a bare string
/// payload, which counts as its "text"); false when absent or unreadable.
template <class Read>
bool with_field(std::string_view payload, std::string_view key, Read&& read) {
    if (payload.empty()) return false;
    try {
        msgpack_reader in(payload);
        const msgpack_kind root = in.peek();
        if (root == msgpack_kind::str && key == std::string_view("text", 4)) return read(in);
        if (root == msgpack_kind::map && in.seek_key(key)) return read(in);
    } catch (const proto::detail::field_error&) {
        // Not msgpack: the codec never produces that; treat the field as absent.
    }
    return false;
}

} // namespace

std::string_view payload_text(std::string_view payload, std::string_view key) {
    std::string_view out;
    with_field(payload, key, [&](msgpack_reader& v) {
        if (v.peek() != msgpack_kind::str) return false;
        out = v.string();
        return true;
    });
    return out;
}

std::optional<std::uint64_t> payload_u64(std::string_view payload, std::string_view key) {
    std::optional<std::uint64_t> out;
    with_field(payload, key, [&](msgpack_reader& v) {
        const msgpack_kind kind = v.peek();
        if (kind == msgpack_kind::positive) {
            out = v.unsigned_integer();
        } else if (kind == msgpack_kind::negative) {
            if (const std::int64_t i = v.signed_integer(); i >= 0) out = static_cast<std::uint64_t>(i);
        } else if (kind == msgpack_kind::float64) {
            const double d = v.floating();
            if (d >= 0 && d < 9007199254740992.0) out = static_cast<std::uint64_t>(d);
        }
        return out.has_value();
    });
    return out;
}

} // namespace holdfast
