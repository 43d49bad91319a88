// Payload field access. Layer: portable core.
#include "holdfast/payload.hpp"

#include <msgpack.hpp>

namespace holdfast {
namespace {

/// Calls `read(value)` with the map entry's value under `key`; false when absent or unreadable.
template <class Read>
bool with_field(const proto::raw_value& payload, std::string_view key, Read&& read) {
    if (payload.bytes.empty()) return false;
    try {
        std::size_t offset = 0;
        auto handle = msgpack::unpack(payload.bytes.data(), payload.bytes.size(), offset);
        const msgpack::object& root = handle.get();
        if (root.type == msgpack::type::STR && key == "text") return read(root);
        if (root.type != msgpack::type::MAP) return false;
        for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
            const auto& entry = root.via.map.ptr[i];
            if (entry.key.type == msgpack::type::STR && std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
                return read(entry.val);
            }
        }
    } catch (const std::exception&) {
        // Not msgpack: the codec never produces that; treat the field as absent.
    }
    return false;
}

} // namespace

std::string payload_string(const proto::raw_value& payload, std::string_view key) {
    std::string out;
    with_field(payload, key, [&](const msgpack::object& v) {
        if (v.type != msgpack::type::STR) return false;
        out.assign(v.via.str.ptr, v.via.str.size);
        return true;
    });
    return out;
}

std::optional<std::uint64_t> payload_u64(const proto::raw_value& payload, std::string_view key) {
    std::optional<std::uint64_t> out;
    with_field(payload, key, [&](const msgpack::object& v) {
        if (v.type == msgpack::type::POSITIVE_INTEGER) out = v.via.u64;
        else if (v.type == msgpack::type::FLOAT64 && v.via.f64 >= 0 && v.via.f64 < 9007199254740992.0) out = static_cast<std::uint64_t>(v.via.f64);
        return out.has_value();
    });
    return out;
}

} // namespace holdfast
