// msgpack bytes written by msgpack-c's own packer, the reference the core tests compare with.
// Layer: tests.
#pragma once
#include "holdfast/detail/codec_impl.hpp"

#include <string>

namespace holdfast::testing {

/// The bytes `build(packer)` writes through a msgpack-c packer.
std::string packed(const auto& build) {
    std::string out;
    proto::detail::string_writer writer{out};
    msgpack::packer<proto::detail::string_writer> packer(writer);
    build(packer);
    return out;
}

} // namespace holdfast::testing
