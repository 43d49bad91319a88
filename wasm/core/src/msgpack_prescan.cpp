// prescan_msgpack: walks the msgpack format byte by byte (spec: github.com/msgpack/msgpack,
// spec.md) with one counter per open container. Layer: portable core.
#include "holdfast/detail/msgpack_prescan.hpp"

#include "holdfast/codec.hpp"

#include <cstdint>
#include <vector>

namespace holdfast::proto::detail {
namespace {

// Every step answers ok or not; a failure's text is written once, by fail(), so the per-value path
// carries a bool instead of an optional string (a quarter of a replay batch's decode time).
class scanner {
public:
    scanner(std::string_view bytes, const decode_limits& limits) : bytes_(bytes), limits_(limits) {}

    std::optional<prescan_failure> run() {
        if (scan()) return std::nullopt;
        return std::move(failure_);
    }

private:
    bool scan() {
        // Values still expected in each open container (a map counts keys and values).
        std::vector<std::uint64_t> open;
        open.reserve(std::min<std::size_t>(limits_.max_depth, 64));
        for (;;) {
            std::uint64_t children = 0;
            if (!value_header(children)) return false;
            if (children > 0) {
                if (open.size() >= limits_.max_depth) {
                    return fail(errc::limit_exceeded, "nesting deeper than " + std::to_string(limits_.max_depth));
                }
                open.push_back(children);
                continue;
            }
            // One value is complete: it may complete its container, and so on up.
            for (;;) {
                if (open.empty()) {
                    if (pos_ != bytes_.size()) return fail(errc::malformed_frame, "trailing bytes after the frame");
                    return true;
                }
                if (--open.back() > 0) break;
                open.pop_back();
            }
        }
    }

    [[gnu::noinline, gnu::cold]] bool fail(errc code, std::string detail) {
        failure_ = prescan_failure{code, std::move(detail)};
        return false;
    }

    std::size_t left() const { return bytes_.size() - pos_; }

    bool truncated() { return fail(errc::malformed_frame, "truncated frame at byte " + std::to_string(pos_)); }

    /// Reads a big-endian length of `width` bytes.
    bool read_length(std::size_t width, std::uint64_t& value) {
        if (left() < width) return truncated();
        value = 0;
        for (std::size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes_[pos_ + i]);
        pos_ += width;
        return true;
    }

    bool skip(std::uint64_t count) {
        if (left() < count) return truncated();
        pos_ += static_cast<std::size_t>(count);
        return true;
    }

    /// str, bin and ext bodies: over the limit, or longer than what is left, before any copy.
    bool body(std::uint64_t length, std::size_t limit, const char* what) {
        if (length <= limit && length <= left()) {
            pos_ += static_cast<std::size_t>(length);
            return true;
        }
        if (length > limit) {
            return fail(errc::limit_exceeded, std::string(what) + " of " + std::to_string(length) + " bytes exceeds " +
                                                  std::to_string(limit));
        }
        return fail(errc::malformed_frame, std::string(what) + " declares " + std::to_string(length) + " bytes but " +
                                               std::to_string(left()) + " remain");
    }

    /// Arrays and maps: each element takes at least one byte, so a count above what is left is a lie.
    bool container(std::uint64_t count, bool map, std::uint64_t& children) {
        const std::size_t limit = map ? limits_.max_map_entries : limits_.max_array_items;
        if (count > limit) {
            return fail(errc::limit_exceeded, std::string(map ? "map of " : "array of ") + std::to_string(count) +
                                                  " entries exceeds " + std::to_string(limit));
        }
        children = map ? count * 2 : count;
        if (children > left()) {
            return fail(errc::malformed_frame, std::string(map ? "map" : "array") + " declares " + std::to_string(count) +
                                                   " entries but " + std::to_string(left()) + " bytes remain");
        }
        return true;
    }

    [[gnu::always_inline]] bool value_header(std::uint64_t& children) {
        children = 0;
        if (left() == 0) return truncated();
        const auto type = static_cast<std::uint8_t>(bytes_[pos_++]);
        std::uint64_t length = 0;
        if (type <= 0x7f || type >= 0xe0) return true;                              // fixint
        if (type <= 0x8f) return container(type & 0x0f, true, children);            // fixmap
        if (type <= 0x9f) return container(type & 0x0f, false, children);           // fixarray
        if (type <= 0xbf) {                                                          // fixstr
            // Keys and short strings: most of a frame's values, so checked here, not in body().
            const std::size_t length_here = type & 0x1f;
            if (length_here <= left() && length_here <= limits_.max_string_bytes) {
                pos_ += length_here;
                return true;
            }
            return body(length_here, limits_.max_string_bytes, "str");
        }
        switch (type) {
        case 0xc0: case 0xc2: case 0xc3: return true;  // nil, false, true
        case 0xc1: return fail(errc::malformed_frame, "reserved byte 0xc1");
        case 0xc4: case 0xc5: case 0xc6:  // bin 8/16/32
            return read_length(std::size_t{1} << (type - 0xc4), length) && body(length, limits_.max_string_bytes, "bin");
        case 0xc7: case 0xc8: case 0xc9:  // ext 8/16/32: length, then a type byte, then the body
            return read_length(std::size_t{1} << (type - 0xc7), length) && skip(1) &&
                   body(length, limits_.max_string_bytes, "ext");
        case 0xca: return skip(4);
        case 0xcb: return skip(8);
        case 0xcc: case 0xd0: return skip(1);
        case 0xcd: case 0xd1: return skip(2);
        case 0xce: case 0xd2: return skip(4);
        case 0xcf: case 0xd3: return skip(8);
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:  // fixext 1/2/4/8/16 (+ type byte)
            return skip(1 + (std::uint64_t{1} << (type - 0xd4)));
        case 0xd9: case 0xda: case 0xdb:  // str 8/16/32
            return read_length(std::size_t{1} << (type - 0xd9), length) && body(length, limits_.max_string_bytes, "str");
        case 0xdc: case 0xdd:  // array 16/32
            return read_length(type == 0xdc ? 2 : 4, length) && container(length, false, children);
        case 0xde: case 0xdf:  // map 16/32
            return read_length(type == 0xde ? 2 : 4, length) && container(length, true, children);
        }
        return fail(errc::malformed_frame, "unknown msgpack type byte");
    }

    std::string_view bytes_;
    const decode_limits& limits_;
    std::size_t pos_ = 0;
    prescan_failure failure_{};
};

} // namespace

std::optional<prescan_failure> prescan_msgpack(std::string_view bytes, const decode_limits& limits) {
    return scanner(bytes, limits).run();
}

} // namespace holdfast::proto::detail
