// jwt_expiry_ms: base64url-decode the claims segment, convert its JSON with the core's bounded
// converter and read exp as payloads' fields are read. Layer: portable core.
#include "holdfast/token_expiry.hpp"

#include "holdfast/base64url.hpp"
#include "holdfast/json.hpp"
#include "holdfast/payload.hpp"

#include <string>

namespace holdfast::client {

std::optional<std::uint64_t> jwt_expiry_ms(std::string_view token) {
    const auto first = token.find('.');
    if (first == std::string_view::npos || token.size() > 8192) return std::nullopt;
    const auto second = token.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    auto text = base64url_decode(token.substr(first + 1, second - first - 1));
    if (!text) return std::nullopt;
    auto packed = json::to_msgpack(*text);
    if (!packed) return std::nullopt;
    const auto exp = payload_u64(proto::raw_value{std::move(packed).value()}, "exp");
    if (!exp || *exp > (std::uint64_t{1} << 43)) return std::nullopt;
    return *exp * 1000;
}

} // namespace holdfast::client
