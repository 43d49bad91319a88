// The generic msgpack adaptor keyed on Boost.Describe, plugged into msgpack-c's enabler slot, so
// no struct repeats its member list. Layer: portable core (included by codec.hpp only).
// Structs are maps (not arrays) so fields can be added; unknown keys are ignored; a missing
// std::optional member is simply absent, any other missing member is an error.
#pragma once
#include "holdfast/errc.hpp"
#include "holdfast/frames.hpp"
#include "holdfast/detail/msgpack_reader.hpp"
#include "holdfast/detail/same_text.hpp"
#include "holdfast/result.hpp"

#include <boost/describe.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/mp11/integer_sequence.hpp>
#include <msgpack.hpp>

#include <array>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace holdfast::proto::detail {

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

/// A msgpack str from text held as a view: a key, or a value not held as a std::string.
template <class Stream>
void pack_text(msgpack::packer<Stream>& out, std::string_view text) {
    const auto size = static_cast<std::uint32_t>(text.size());
    out.pack_str(size);
    out.pack_str_body(text.data(), size);
}

/// A described member's name (a C string) as a key.
template <class Stream>
void pack_key(msgpack::packer<Stream>& out, const char* name) {
    pack_text(out, std::string_view(name));
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

template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
void read_struct(msgpack_reader& in, T& value);

/// Reads one value into `target`, with msgpack-c's conversion rules: unsigned members take
/// non-negative integers that fit, strings take str or bin, vectors take arrays, a raw_value takes
/// any value's bytes as they are (nil: empty).
template <class T>
void read_value(msgpack_reader& in, T& target) {
    if constexpr (std::is_same_v<T, bool>) {
        target = in.boolean();
    } else if constexpr (std::is_unsigned_v<T>) {
        const std::uint64_t v = in.unsigned_integer();
        if (v > std::numeric_limits<T>::max()) msgpack_reader::wrong_type();
        target = static_cast<T>(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        target.assign(in.string());
    } else if constexpr (std::is_same_v<T, raw_value>) {
        if (in.nil()) {
            target.bytes.clear();
            return;
        }
        const std::size_t from = in.offset();
        in.skip();
        target.bytes.assign(in.span_from(from));
    } else if constexpr (std::is_same_v<T, std::vector<char>>) {
        const std::string_view bytes = in.string();
        target.assign(bytes.begin(), bytes.end());
    } else if constexpr (is_vector<T>::value) {
        const std::uint32_t count = in.array_header();
        target.clear();
        target.resize(count);
        for (auto& item : target) read_value(in, item);
    } else {
        static_assert(is_described_v<T>, "no msgpack reading rule for this member type");
        read_struct(in, target);
    }
}

template <class Field>
void read_field(msgpack_reader& in, Field& target, const char* name) {
    try {
        read_value(in, target);
    } catch (field_error& nested) {
        nested.field = nested.field.empty() ? std::string(name) : std::string(name) + "." + nested.field;
        throw;
    }
}

/// same_text behind one call: always inlined into each of the twenty-odd read_struct
/// instantiations it cost 140 bytes of wasm in each.
inline bool same_key(std::string_view name, std::string_view key) { return holdfast::detail::same_text(name, key); }

template <class T>
constexpr auto member_names() {
    std::array<std::string_view, boost::mp11::mp_size<public_members<T>>::value> names{};
    std::size_t i = 0;
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) { names[i++] = member.name; });
    return names;
}

/// A described struct from a msgpack map, keys in any order: unknown keys are skipped, the first
/// of repeated keys counts, a missing std::optional member (or nil) is empty, any other missing
/// member is an error. Our encoder writes members in declaration order, so the next expected name
/// is tried first.
template <class T>
void read_struct(msgpack_reader& in, T& value) {
    using members = public_members<T>;
    constexpr std::size_t count = boost::mp11::mp_size<members>::value;
    static_assert(count <= 64, "a struct of more than 64 members");
    static constexpr auto names = member_names<T>();
    if (in.peek() != msgpack_kind::map) throw field_error{errc::wrong_type, "(struct)"};
    const std::uint32_t entries = in.map_header();
    std::uint64_t seen = 0;
    std::size_t expected = 0;
    for (std::uint32_t e = 0; e < entries; ++e) {
        std::string_view key;
        if (!in.string_key(key)) continue;
        std::size_t index = count;
        // Keys are short: an inline loop beats a memcmp call per key (a sixth of a batch's decode).
        if (expected < count && same_key(names[expected], key)) {
            index = expected;
        } else {
            for (std::size_t i = 0; i < count; ++i) {
                if (same_key(names[i], key)) {
                    index = i;
                    break;
                }
            }
        }
        if (index == count || (seen >> index) & 1u) {
            in.skip();
            continue;
        }
        seen |= std::uint64_t{1} << index;
        expected = index + 1;
        boost::mp11::mp_with_index<count>(index, [&](auto i) {
            using member_t = boost::mp11::mp_at_c<members, decltype(i)::value>;
            auto& field = value.*member_t::pointer;
            using field_t = std::remove_cvref_t<decltype(field)>;
            if constexpr (is_optional<field_t>::value) {
                if (in.nil()) {
                    field.reset();
                    return;
                }
                typename field_t::value_type inner{};
                read_field(in, inner, member_t::name);
                field = std::move(inner);
            } else {
                read_field(in, field, member_t::name);
            }
        });
    }
    boost::mp11::mp_for_each<boost::mp11::mp_iota_c<count>>([&](auto i) {
        if ((seen >> decltype(i)::value) & 1u) return;
        using member_t = boost::mp11::mp_at_c<members, decltype(i)::value>;
        auto& field = value.*member_t::pointer;
        if constexpr (is_optional<std::remove_cvref_t<decltype(field)>>::value) {
            field.reset();
        } else {
            throw field_error{errc::missing_field, member_t::name};
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

/// A raw_value is already msgpack: written through unchanged (pack_bin_body appends raw bytes
/// without a header).
template <>
struct pack<holdfast::proto::raw_value> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const holdfast::proto::raw_value& value) const {
        if (value.bytes.empty()) return out.pack_nil();
        return out.pack_bin_body(value.bytes.data(), static_cast<std::uint32_t>(value.bytes.size()));
    }
};

} // namespace adaptor
} // MSGPACK_API_VERSION_NAMESPACE
} // namespace msgpack

namespace holdfast::proto {

struct decode_limits;

namespace detail {
/// Checks a whole received value before any of it is read: size, then structure (prescan).
std::optional<error> check_message(std::string_view bytes, const decode_limits& limits);
/// The codec's edge: runs `read` over `bytes` (one value, all of it) and turns a field_error into
/// the error it names.
template <class T, class Read>
result<T> read_whole(std::string_view bytes, const decode_limits& limits, Read&& read) {
    if (auto failure = check_message(bytes, limits)) return std::move(*failure);
    try {
        msgpack_reader in(bytes);
        T value = read(in);
        if (!in.at_end()) return make_error(errc::malformed_frame, "trailing bytes after the frame");
        return value;
    } catch (const field_error& e) {
        return make_error(e.code, e.field);
    }
}
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
    return detail::read_whole<T>(bytes, limits, [](detail::msgpack_reader& in) {
        T value{};
        detail::read_struct(in, value);
        return value;
    });
}

template <class Frame>
std::string encode(const Frame& f) {
    std::string out;
    out.reserve(64);
    detail::string_writer writer{out};
    msgpack::packer<detail::string_writer> packer(writer);
    packer.pack_map(static_cast<std::uint32_t>(detail::present_member_count(f) + 1));
    detail::pack_text(packer, "type");
    detail::pack_text(packer, Frame::frame_type);
    detail::pack_members(packer, f);
    return out;
}

} // namespace holdfast::proto
