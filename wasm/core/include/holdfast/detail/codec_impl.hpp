// The generic msgpack adaptor keyed on Boost.Describe, plugged into msgpack-c's enabler slot, so
// no struct repeats its member list. Layer: portable core (included by codec.hpp only).
// Structs are maps (not arrays) so fields can be added; unknown keys are ignored; a missing
// std::optional member is simply absent, any other missing member is an error.
#pragma once
#include "holdfast/errc.hpp"
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"

#include <boost/describe.hpp>
#include <boost/mp11/algorithm.hpp>
#include <msgpack.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <type_traits>

namespace holdfast::proto::detail {

/// Thrown only inside decode() and caught there: names the member that failed.
struct field_error {
    errc code;
    std::string field;
};

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
using public_members = boost::describe::describe_members<T, boost::describe::mod_public>;

template <class T>
inline constexpr bool is_described_v = boost::describe::has_describe_members<T>::value;

/// Appends to a std::string: msgpack-c's packer writes through to any type with write().
struct string_writer {
    std::string& out;
    void write(const char* data, std::size_t size) { out.append(data, size); }
};

template <class T>
std::size_t present_member_count(const T& value) {
    std::size_t count = 0;
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) {
        using member_type = std::remove_cvref_t<decltype(value.*member.pointer)>;
        if constexpr (is_optional<member_type>::value) {
            count += (value.*member.pointer).has_value() ? 1 : 0;
        } else {
            ++count;
        }
    });
    return count;
}

template <class Stream>
void pack_key(msgpack::packer<Stream>& out, const char* name) {
    const auto size = static_cast<std::uint32_t>(std::strlen(name));
    out.pack_str(size);
    out.pack_str_body(name, size);
}

template <class Stream, class T>
void pack_members(msgpack::packer<Stream>& out, const T& value) {
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) {
        const auto& field = value.*member.pointer;
        using member_type = std::remove_cvref_t<decltype(field)>;
        if constexpr (is_optional<member_type>::value) {
            if (!field) return;
            pack_key(out, member.name);
            out.pack(*field);
        } else {
            pack_key(out, member.name);
            out.pack(field);
        }
    });
}

/// The value under `key` in a msgpack map, or nullptr. Maps here are small: a scan beats hashing.
inline const msgpack::object* find_key(const msgpack::object& map, std::string_view key) {
    for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
        const auto& entry = map.via.map.ptr[i];
        if (entry.key.type == msgpack::type::STR &&
            std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
            return &entry.val;
        }
    }
    return nullptr;
}

template <class Field>
void convert_field(const msgpack::object& source, Field& target, const char* name) {
    try {
        source.convert(target);
    } catch (const field_error& nested) {
        throw field_error{nested.code, std::string(name) + "." + nested.field};
    } catch (const msgpack::type_error&) {
        throw field_error{errc::wrong_type, name};
    }
}

template <class T>
void convert_members(const msgpack::object& map, T& value) {
    if (map.type != msgpack::type::MAP) throw field_error{errc::wrong_type, "(struct)"};
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) {
        auto& field = value.*member.pointer;
        using member_type = std::remove_cvref_t<decltype(field)>;
        const msgpack::object* found = find_key(map, member.name);
        if constexpr (is_optional<member_type>::value) {
            if (!found || found->type == msgpack::type::NIL) {
                field.reset();
                return;
            }
            typename member_type::value_type inner{};
            convert_field(*found, inner, member.name);
            field = std::move(inner);
        } else {
            if (!found) throw field_error{errc::missing_field, member.name};
            convert_field(*found, field, member.name);
        }
    });
}

} // namespace holdfast::proto::detail

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <class T>
struct pack<T, std::enable_if_t<holdfast::proto::detail::is_described_v<T>>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const T& value) const {
        out.pack_map(static_cast<std::uint32_t>(holdfast::proto::detail::present_member_count(value)));
        holdfast::proto::detail::pack_members(out, value);
        return out;
    }
};

template <class T>
struct convert<T, std::enable_if_t<holdfast::proto::detail::is_described_v<T>>> {
    const msgpack::object& operator()(const msgpack::object& source, T& value) const {
        holdfast::proto::detail::convert_members(source, value);
        return source;
    }
};

/// A raw_value is already msgpack: written through unchanged (pack_bin_body appends raw bytes
/// without a header), read back by re-packing the decoded sub-object.
template <>
struct pack<holdfast::proto::raw_value> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const holdfast::proto::raw_value& value) const {
        if (value.bytes.empty()) return out.pack_nil();
        return out.pack_bin_body(value.bytes.data(), static_cast<std::uint32_t>(value.bytes.size()));
    }
};

template <>
struct convert<holdfast::proto::raw_value> {
    const msgpack::object& operator()(const msgpack::object& source, holdfast::proto::raw_value& value) const {
        value.bytes.clear();
        if (source.type == msgpack::type::NIL) return source;
        holdfast::proto::detail::string_writer writer{value.bytes};
        msgpack::pack(writer, source);
        return source;
    }
};

} // namespace adaptor
} // MSGPACK_API_VERSION_NAMESPACE
} // namespace msgpack

namespace holdfast::proto {

struct decode_limits;

namespace detail {
/// Parses exactly one msgpack value spanning all of `bytes`; the handle owns the zone.
result<msgpack::object_handle> unpack_one(std::string_view bytes, const decode_limits& limits);
} // namespace detail

template <class T>
std::string encode_struct(const T& value) {
    std::string out;
    detail::string_writer writer{out};
    msgpack::pack(writer, value);
    return out;
}

template <class T>
result<T> decode_struct(std::string_view bytes, const decode_limits& limits) {
    auto handle = detail::unpack_one(bytes, limits);
    if (!handle) return handle.err();
    try {
        T value{};
        detail::convert_members(handle->get(), value);
        return value;
    } catch (const detail::field_error& e) {
        return make_error(e.code, e.field);
    }
}

template <class Frame>
std::string encode(const Frame& f) {
    std::string out;
    out.reserve(64);
    detail::string_writer writer{out};
    msgpack::packer<detail::string_writer> packer(writer);
    packer.pack_map(static_cast<std::uint32_t>(detail::present_member_count(f) + 1));
    detail::pack_key(packer, "type");
    packer.pack_str(static_cast<std::uint32_t>(Frame::frame_type.size()));
    packer.pack_str_body(Frame::frame_type.data(), static_cast<std::uint32_t>(Frame::frame_type.size()));
    detail::pack_members(packer, f);
    return out;
}

} // namespace holdfast::proto
