// Reads a JWT's exp claim on the client, to renew the token before the relay refuses it. Layer:
// portable core. Nothing is verified here (the client has no secret); the relay verifies.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace holdfast::client {

/// `exp` (seconds) as ms since 1970; nullopt when `token` is not a JWT with an unsigned exp.
std::optional<std::uint64_t> jwt_expiry_ms(std::string_view token);

} // namespace holdfast::client
