// Capability tokens: JWT (RFC 7519) signed with HMAC-SHA256 (JWS "HS256", RFC 7515), checked by
// the relay on every hello, attach, publish and control and on HTTP bearer requests.
// Layer: relay (sans-I/O; OpenSSL's libcrypto for the MAC, Boost.JSON for the claims).
//
// Claims: {"sub": str, "exp": seconds since 1970, "nbf"?: seconds, "sessions": {pattern: [caps]}}
// where a pattern is an exact session id or a prefix ending in '*' ("chat-*"; "*" is every session)
// and caps are "subscribe", "publish", "control", "agent". Everything else is rejected: another
// alg (notably "none"), a bad signature, a missing or non-numeric exp, an unknown capability.
#pragma once
#include "holdfast/base64url.hpp"
#include "holdfast/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::relay {

enum class capability : std::uint8_t {
    subscribe = 1,  // attach (read the log), HTTP GET of events
    publish = 2,    // user.* events (a person's prompts)
    control = 4,    // control frames (cancel, steer, interrupt) and HTTP control.* posts
    agent = 8,      // every other kind (message.*, status, tool.*, control.outcome), agent presence
};

struct session_grant {
    std::string pattern;  // without the trailing '*' when `prefix`
    bool prefix = false;
    std::uint8_t capabilities = 0;  // capability bits
};

struct token_claims {
    std::string subject;
    std::uint64_t expires_at_ms = 0;
    std::vector<session_grant> sessions;

    /// True when some grant matching `session` holds `what`.
    bool allows(std::string_view session, capability what) const;
};

/// The capability an append of `kind` needs: control.* -> control, user.* -> publish (agent also
/// suffices), anything else -> agent.
capability capability_for_kind(std::string_view kind);
std::string_view to_string(capability what);

class token_verifier {
public:
    /// Tokens longer than this are refused before any decoding.
    static constexpr std::size_t max_token_bytes = 8192;

    explicit token_verifier(std::string secret) : secret_(std::move(secret)) {}

    /// Errors: unauthorized (malformed, wrong alg, bad signature, bad claims, not yet valid),
    /// token_expired (exp <= now).
    result<token_claims> verify(std::string_view token, std::uint64_t now_ms) const;

    /// Signs `claims_json` as an HS256 JWT (for tests and tools; the relay never mints tokens).
    std::string sign(std::string_view claims_json) const;

private:
    std::string secret_;
};

/// base64url (the core's: the client reads tokens with the same code).
using holdfast::base64url_decode;
using holdfast::base64url_encode;

} // namespace holdfast::relay
