// msgpack bytes written by msgpack-c's own packer, the reference the core tests compare with.
// Layer: tests.
#pragma once
#include "holdfast/detail/codec_impl.hpp"

#include <string>
#include <string_view>

namespace holdfast::testing {

/// The bytes `build(packer)` writes through a msgpack-c packer.
std::string packed(const auto& build) {
    std::string out;
    proto::detail::string_writer writer{out};
    msgpack::packer<proto::detail::string_writer> packer(writer);
    build(packer);
    return out;
}

/// The value of a frame's first key, its "type" as our encoder writes it ("events", "packed"...):
/// which wire form a frame took, where decoding would give the same frame for both.
inline std::string encoded_type(std::string_view bytes) {
    proto::detail::msgpack_reader in(bytes);
    in.map_header();
    in.string();
    return std::string(in.string());
}

} // namespace holdfast::testing
