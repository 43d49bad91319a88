// A structural pass over untrusted msgpack before msgpack-c sees it. Layer: portable core (used by
// the codec natively and in the WASM build). msgpack-c allocates a container's element array as
// soon as it reads the header, so a 5-byte array32 header claiming 10,000 items costs 240 KB, and
// nested ones multiply that before the truncation is noticed. This pass allocates nothing beyond a
// stack bounded by the depth limit: every declared length must fit in the bytes that remain, the
// nesting must stay within the limit and exactly one value must span all of the input. After it,
// msgpack-c's allocations are bounded by the input's size.
#pragma once
#include "holdfast/errc.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast::proto {
struct decode_limits;
}

namespace holdfast::proto::detail {

struct prescan_failure {
    errc code;  // limit_exceeded (over a configured limit) or malformed_frame (truncated, bad byte)
    std::string detail;
};

/// nullopt when `bytes` holds exactly one well-formed msgpack value within `limits`.
std::optional<prescan_failure> prescan_msgpack(std::string_view bytes, const decode_limits& limits);

} // namespace holdfast::proto::detail
