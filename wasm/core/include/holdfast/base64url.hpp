// base64url without padding (RFC 4648 section 5), as JWT uses: the relay signs and verifies
// tokens with it, the client reads a token's expiry. Layer: portable core.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace holdfast {

std::string base64url_encode(std::string_view bytes);
/// nullopt for a character outside the alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace holdfast
