// Frame decoding and the non-template parts of the codec. Layer: portable core.
// Frames are read in place from the msgpack bytes (msgpack_reader); its errors stop here as errc values.
#include "holdfast/codec.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/json.hpp"

#include <boost/mp11/algorithm.hpp>

#include <optional>

namespace holdfast::proto {

using detail::field_error;
using detail::msgpack_kind;
using detail::msgpack_reader;

std::optional<error> detail::check_message(std::string_view bytes, const decode_limits& limits) {
    if (bytes.size() > limits.max_frame_bytes) {
        return make_error(errc::frame_too_large, std::to_string(bytes.size()) + " bytes exceeds " +
                                                     std::to_string(limits.max_frame_bytes));
    }
    if (bytes.empty()) return make_error(errc::malformed_frame, "empty frame");
    if (auto failure = prescan_msgpack(bytes, limits)) return make_error(failure->code, std::move(failure->detail));
    return std::nullopt;
}

namespace {

/// The frame's "type": the first key as our encoder writes it, else found by skipping the others.
std::string_view frame_type_of(msgpack_reader in) {
    if (in.peek() != msgpack_kind::map) throw field_error{errc::malformed_frame, "a frame must be a map"};
    if (!in.seek_key("type")) throw field_error{errc::missing_field, "type"};
    if (in.peek() != msgpack_kind::str) throw field_error{errc::wrong_type, "type"};
    return in.string();
}

/// One frame (a map) at the cursor, read into the alternative its "type" names.
frame read_frame(msgpack_reader& in) {
    const std::string_view name = frame_type_of(in);
    std::optional<frame> decoded;
    boost::mp11::mp_for_each<boost::mp11::mp_iota_c<std::variant_size_v<frame>>>([&](auto index) {
        using alternative = std::variant_alternative_t<decltype(index)::value, frame>;
        if (decoded || alternative::frame_type != name) return;
        alternative value{};
        detail::read_struct(in, value);
        decoded.emplace(std::move(value));
    });
    if (!decoded) throw field_error{errc::unknown_frame_type, std::string(name)};
    return std::move(*decoded);
}

} // namespace

result<frame> decode(std::string_view bytes, const decode_limits& limits) {
    return detail::read_whole<frame>(bytes, limits, [](msgpack_reader& in) { return read_frame(in); });
}

result<std::vector<result<frame>>> decode_message(std::string_view bytes, const decode_limits& limits) {
    if (auto failure = detail::check_message(bytes, limits)) return std::move(*failure);
    std::vector<result<frame>> frames;
    msgpack_reader in(bytes);
    // The prescan checked the structure, so reading one frame can fail only on its contents: its
    // error takes its place and the cursor moves past it to the next frame.
    auto read_one = [&] {
        const std::size_t start = in.offset();
        try {
            frames.push_back(read_frame(in));
        } catch (const field_error& e) {
            frames.push_back(make_error(e.code, e.field));
            in.seek(start);
            in.skip();
        }
    };
    try {
        if (in.peek() != msgpack_kind::array) {
            read_one();
            return frames;
        }
        const std::uint32_t count = in.array_header();
        if (count == 0) return make_error(errc::malformed_frame, "an empty bundle");
        frames.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) read_one();
    } catch (const field_error& e) {
        return make_error(e.code, e.field);  // only a structure the prescan let through
    }
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
