// A cursor over msgpack bytes that decodes values in place, with no intermediate object tree.
// Layer: portable core. The codec reads frames through it straight into the described structs
// (codec_impl.hpp), the JSON bridge transcodes payloads with it, and payload.hpp reads fields.
// msgpack-c's object model built a zone of msgpack::object nodes for every frame and re-packed each
// payload out of it; per event that was most of the client's decode cost and ~7 KB of the wasm.
// Every read is bounds-checked and throws field_error{malformed_frame | wrong_type, ""} on a
// mismatch; the codec runs the structural prescan first, so in practice only wrong types remain.
#pragma once
#include "holdfast/errc.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace holdfast::proto::detail {

/// Thrown while decoding and caught at the codec's edge: names the member that failed.
struct field_error {
    errc code;
    std::string field;
};

enum class msgpack_kind : std::uint8_t { nil, boolean, positive, negative, float32, float64, str, bin, array, map, ext };

class msgpack_reader {
public:
    explicit msgpack_reader(std::string_view bytes) noexcept
        : begin_(reinterpret_cast<const std::uint8_t*>(bytes.data())), pos_(begin_), end_(begin_ + bytes.size()) {}

    bool at_end() const noexcept { return pos_ == end_; }
    std::size_t offset() const noexcept { return static_cast<std::size_t>(pos_ - begin_); }
    void seek(std::size_t offset) noexcept { pos_ = begin_ + offset; }
    /// The bytes from `from` (an earlier offset()) to the cursor.
    std::string_view span_from(std::size_t from) const noexcept {
        return {reinterpret_cast<const char*>(begin_ + from), offset() - from};
    }

    /// The kind of the next value, without consuming it.
    msgpack_kind peek() const {
        need(1);
        const std::uint8_t b = *pos_;
        if (b <= 0x7f) return msgpack_kind::positive;
        if (b <= 0x8f) return msgpack_kind::map;
        if (b <= 0x9f) return msgpack_kind::array;
        if (b <= 0xbf) return msgpack_kind::str;
        if (b >= 0xe0) return msgpack_kind::negative;
        switch (b) {
        case 0xc0: return msgpack_kind::nil;
        case 0xc2: case 0xc3: return msgpack_kind::boolean;
        case 0xc4: case 0xc5: case 0xc6: return msgpack_kind::bin;
        case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return msgpack_kind::ext;
        case 0xca: return msgpack_kind::float32;
        case 0xcb: return msgpack_kind::float64;
        case 0xcc: case 0xcd: case 0xce: case 0xcf: return msgpack_kind::positive;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: return msgpack_kind::negative;
        case 0xd9: case 0xda: case 0xdb: return msgpack_kind::str;
        case 0xdc: case 0xdd: return msgpack_kind::array;
        case 0xde: case 0xdf: return msgpack_kind::map;
        default: throw field_error{errc::malformed_frame, ""};  // 0xc1: never used
        }
    }

    /// Consumes a nil if one is next.
    bool nil() {
        if (peek() != msgpack_kind::nil) return false;
        ++pos_;
        return true;
    }

    bool boolean() {
        if (peek() != msgpack_kind::boolean) wrong_type();
        return *pos_++ == 0xc3;
    }

    /// A non-negative integer (msgpack's int family written with a non-negative value).
    std::uint64_t unsigned_integer() {
        const std::uint8_t b = take();
        if (b <= 0x7f) return b;
        switch (b) {
        case 0xcc: return big_endian(1);
        case 0xcd: return big_endian(2);
        case 0xce: return big_endian(4);
        case 0xcf: return big_endian(8);
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            const std::int64_t v = signed_body(b);
            if (v < 0) wrong_type();
            return static_cast<std::uint64_t>(v);
        }
        default: --pos_; wrong_type();
        }
    }

    /// Any integer (as int64; a positive value above INT64_MAX is a wrong type) — for JSON.
    std::int64_t signed_integer() {
        need(1);
        const std::uint8_t b = *pos_;
        if (b >= 0xe0) { ++pos_; return static_cast<std::int8_t>(b); }
        if (b >= 0xd0 && b <= 0xd3) { ++pos_; return signed_body(b); }
        const std::uint64_t v = unsigned_integer();
        if (v > static_cast<std::uint64_t>(INT64_MAX)) wrong_type();
        return static_cast<std::int64_t>(v);
    }

    double floating() {
        const std::uint8_t b = take();
        if (b == 0xca) {
            const auto bits = static_cast<std::uint32_t>(big_endian(4));
            float f;
            std::memcpy(&f, &bits, 4);
            return f;
        }
        if (b == 0xcb) {
            const std::uint64_t bits = big_endian(8);
            double d;
            std::memcpy(&d, &bits, 8);
            return d;
        }
        --pos_;
        wrong_type();
    }

    /// A str or bin value's bytes (a view into the input). msgpack-c read both into std::string.
    std::string_view string() {
        const std::uint8_t b = take();
        std::size_t size;
        if (b >= 0xa0 && b <= 0xbf) size = b & 0x1f;
        else if (b == 0xd9 || b == 0xc4) size = big_endian(1);
        else if (b == 0xda || b == 0xc5) size = big_endian(2);
        else if (b == 0xdb || b == 0xc6) size = big_endian(4);
        else { --pos_; wrong_type(); }
        need(size);
        std::string_view out(reinterpret_cast<const char*>(pos_), size);
        pos_ += size;
        return out;
    }

    /// A map entry's key when it is a string (then the value is next); any other key is skipped
    /// with its value, and false returned: structs and frames ignore such entries.
    bool string_key(std::string_view& key) {
        if (peek() != msgpack_kind::str) {
            skip();
            skip();
            return false;
        }
        key = string();
        return true;
    }

    std::uint32_t array_header() { return container_header(0x90, 0xdc); }
    std::uint32_t map_header() { return container_header(0x80, 0xde); }

    /// With the cursor on a map: moves it to the value under `key` (the first string key equal to
    /// it) and returns true; false when the map has no such key.
    bool seek_key(std::string_view key) {
        const std::uint32_t entries = map_header();
        for (std::uint32_t i = 0; i < entries; ++i) {
            std::string_view name;
            if (!string_key(name)) continue;
            if (name == key) return true;
            skip();  // the value
        }
        return false;
    }

    /// Skips one whole value (containers included) without recursion.
    void skip() {
        std::uint64_t pending = 1;
        while (pending > 0) {
            --pending;
            const std::uint8_t b = take();
            if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) continue;
            if (b <= 0x8f) { pending += 2u * (b & 0x0f); continue; }
            if (b <= 0x9f) { pending += b & 0x0f; continue; }
            if (b <= 0xbf) { advance(b & 0x1f); continue; }
            switch (b) {
            case 0xc4: case 0xd9: advance(big_endian(1)); break;
            case 0xc5: case 0xda: advance(big_endian(2)); break;
            case 0xc6: case 0xdb: advance(big_endian(4)); break;
            case 0xc7: advance(big_endian(1) + 1); break;
            case 0xc8: advance(big_endian(2) + 1); break;
            case 0xc9: advance(big_endian(4) + 1); break;
            case 0xca: advance(4); break;
            case 0xcb: advance(8); break;
            case 0xcc: case 0xd0: advance(1); break;
            case 0xcd: case 0xd1: advance(2); break;
            case 0xce: case 0xd2: advance(4); break;
            case 0xcf: case 0xd3: advance(8); break;
            case 0xd4: advance(2); break;
            case 0xd5: advance(3); break;
            case 0xd6: advance(5); break;
            case 0xd7: advance(9); break;
            case 0xd8: advance(17); break;
            case 0xdc: pending += big_endian(2); break;
            case 0xdd: pending += big_endian(4); break;
            case 0xde: pending += 2 * big_endian(2); break;
            case 0xdf: pending += 2 * big_endian(4); break;
            default: throw field_error{errc::malformed_frame, ""};
            }
        }
    }

    [[noreturn]] static void wrong_type() { throw field_error{errc::wrong_type, ""}; }

private:
    /// An array's or a map's count: the fix form (fix_first..fix_first + 15) or the 16-bit and
    /// 32-bit forms (code16, code16 + 1); msgpack lays both kinds out the same way.
    std::uint32_t container_header(std::uint8_t fix_first, std::uint8_t code16) {
        const std::uint8_t b = take();
        if (b >= fix_first && b <= fix_first + 0x0f) return b & 0x0f;
        if (b == code16) return static_cast<std::uint32_t>(big_endian(2));
        if (b == code16 + 1) return static_cast<std::uint32_t>(big_endian(4));
        --pos_;
        wrong_type();
    }
    // The per-byte steps are always inlined and their throw is out of line: under -Oz each was a
    // call, several per value, and V8 inlines no wasm call (a sixth of a replay's time in the core).
    [[noreturn, gnu::noinline, gnu::cold]] static void truncated() { throw field_error{errc::malformed_frame, ""}; }
    [[gnu::always_inline]] void need(std::size_t n) const {
        if (static_cast<std::size_t>(end_ - pos_) < n) truncated();
    }
    [[gnu::always_inline]] void advance(std::size_t n) {
        need(n);
        pos_ += n;
    }
    [[gnu::always_inline]] std::uint8_t take() {
        need(1);
        return *pos_++;
    }
    std::uint64_t big_endian(std::size_t n) {
        need(n);
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | pos_[i];
        pos_ += n;
        return v;
    }
    std::int64_t signed_body(std::uint8_t b) {
        switch (b) {
        case 0xd0: return static_cast<std::int8_t>(big_endian(1));
        case 0xd1: return static_cast<std::int16_t>(big_endian(2));
        case 0xd2: return static_cast<std::int32_t>(big_endian(4));
        default: return static_cast<std::int64_t>(big_endian(8));
        }
    }

    const std::uint8_t* begin_;
    const std::uint8_t* pos_;
    const std::uint8_t* end_;
};

} // namespace holdfast::proto::detail
