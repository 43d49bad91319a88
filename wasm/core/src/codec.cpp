// Frame decoding and the non-template parts of the codec. Layer: portable core.
// All of msgpack-c's exceptions stop here and become errc values.
#include "holdfast/codec.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/json.hpp"

#include <boost/mp11/algorithm.hpp>

namespace holdfast::proto {
namespace {

using detail::field_error;

msgpack::unpack_limit to_unpack_limit(const decode_limits& limits) {
    return msgpack::unpack_limit(limits.max_array_items, limits.max_map_entries, limits.max_string_bytes,
                                 limits.max_string_bytes, limits.max_string_bytes, limits.max_depth);
}

} // namespace

result<msgpack::object_handle> detail::unpack_one(std::string_view bytes, const decode_limits& limits) {
    if (bytes.size() > limits.max_frame_bytes) {
        return make_error(errc::frame_too_large, std::to_string(bytes.size()) + " bytes exceeds " +
                                                     std::to_string(limits.max_frame_bytes));
    }
    if (bytes.empty()) return make_error(errc::malformed_frame, "empty frame");
    // Before msgpack-c: it allocates for declared counts before it finds them missing.
    if (auto failure = prescan_msgpack(bytes, limits)) return make_error(failure->code, std::move(failure->detail));
    try {
        std::size_t offset = 0;
        auto handle = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, to_unpack_limit(limits));
        if (offset != bytes.size()) return make_error(errc::malformed_frame, "trailing bytes after the frame");
        return handle;
    } catch (const msgpack::depth_size_overflow&) {
        return make_error(errc::limit_exceeded, "nesting deeper than " + std::to_string(limits.max_depth));
    } catch (const msgpack::size_overflow& e) {
        return make_error(errc::limit_exceeded, e.what());
    } catch (const msgpack::insufficient_bytes&) {
        return make_error(errc::malformed_frame, "truncated frame");
    } catch (const msgpack::unpack_error& e) {
        return make_error(errc::malformed_frame, e.what());
    } catch (const std::bad_alloc&) {
        return make_error(errc::limit_exceeded, "frame too large to decode");
    }
}

namespace {

template <class T>
result<T> convert_struct(const msgpack::object& source) {
    try {
        T value{};
        detail::convert_members(source, value);
        return value;
    } catch (const field_error& e) {
        return make_error(e.code, e.field);
    }
}

} // namespace

namespace {

result<frame> frame_from_object(const msgpack::object& root) {
    if (root.type != msgpack::type::MAP) return make_error(errc::malformed_frame, "a frame must be a map");
    const msgpack::object* type = detail::find_key(root, "type");
    if (!type) return make_error(errc::missing_field, "type");
    if (type->type != msgpack::type::STR) return make_error(errc::wrong_type, "type");
    const std::string_view name(type->via.str.ptr, type->via.str.size);

    std::optional<result<frame>> decoded;
    boost::mp11::mp_for_each<boost::mp11::mp_iota_c<std::variant_size_v<frame>>>([&](auto index) {
        using alternative = std::variant_alternative_t<decltype(index)::value, frame>;
        if (decoded || alternative::frame_type != name) return;
        auto value = convert_struct<alternative>(root);
        decoded = value ? result<frame>(frame(std::move(value).value())) : result<frame>(value.err());
    });
    if (!decoded) return make_error(errc::unknown_frame_type, std::string(name));
    return std::move(*decoded);
}

} // namespace

result<frame> decode(std::string_view bytes, const decode_limits& limits) {
    auto handle = detail::unpack_one(bytes, limits);
    if (!handle) return handle.err();
    return frame_from_object(handle->get());
}

result<std::vector<result<frame>>> decode_message(std::string_view bytes, const decode_limits& limits) {
    auto handle = detail::unpack_one(bytes, limits);
    if (!handle) return handle.err();
    const msgpack::object& root = handle->get();
    std::vector<result<frame>> frames;
    if (root.type != msgpack::type::ARRAY) {
        frames.push_back(frame_from_object(root));
        return frames;
    }
    if (root.via.array.size == 0) return make_error(errc::malformed_frame, "an empty bundle");
    frames.reserve(root.via.array.size);
    for (std::uint32_t i = 0; i < root.via.array.size; ++i) frames.push_back(frame_from_object(root.via.array.ptr[i]));
    return frames;
}

void append_bundle_header(std::size_t count, std::string& out) {
    if (count < 16) {
        out += static_cast<char>(0x90 | count);
    } else if (count <= 0xffff) {
        out += static_cast<char>(0xdc);
        out += static_cast<char>(count >> 8);
        out += static_cast<char>(count & 0xff);
    } else {
        out += static_cast<char>(0xdd);
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((count >> shift) & 0xff);
    }
}

std::vector<std::string> bundle_frames(std::vector<std::string> frames, const bundle_limits& limits) {
    if (frames.size() < 2) return frames;
    std::vector<std::string> messages;
    std::size_t i = 0;
    while (i < frames.size()) {
        // The run [i, end): as many frames as fit both limits (at least one).
        std::size_t end = i, bytes = 0;
        while (end < frames.size() && end - i < limits.max_frames &&
               (end == i || bytes + frames[end].size() <= limits.max_bytes)) {
            bytes += frames[end].size();
            ++end;
        }
        if (end - i == 1) {
            messages.push_back(std::move(frames[i]));
        } else {
            std::string message;
            message.reserve(bytes + 5);
            append_bundle_header(end - i, message);
            for (std::size_t k = i; k < end; ++k) message += frames[k];
            messages.push_back(std::move(message));
        }
        i = end;
    }
    return messages;
}

std::string encode(const frame& f) {
    return std::visit([](const auto& alternative) { return encode(alternative); }, f);
}

std::string_view type_name(const frame& f) noexcept {
    return std::visit([](const auto& alternative) { return std::remove_cvref_t<decltype(alternative)>::frame_type; }, f);
}

std::string encode_event(const event& e) { return encode_struct(e); }

result<event> decode_event(std::string_view bytes, const decode_limits& limits) {
    return decode_struct<event>(bytes, limits);
}

std::string describe(const frame& f) {
    auto text = json::from_msgpack(encode(f));
    return text ? std::move(text).value() : std::string("<unprintable frame>");
}

} // namespace holdfast::proto
