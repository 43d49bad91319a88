// access_token: JWT HS256 verification and the capability rules. Layer: relay (sans-I/O).
#include "holdfast/relay/access_token.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cmath>

namespace holdfast::relay {
namespace {

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac.data(), &length);
    return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

error unauthorized(std::string why) { return make_error(errc::unauthorized, "token " + why); }

std::optional<boost::json::object> parse_object(std::string_view base64) {
    auto text = base64url_decode(base64);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 8;
    boost::json::value value = boost::json::parse(*text, ec, {}, options);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.get_object());
}

/// A NumericDate (seconds) as ms; nullopt when absent-but-required is decided by the caller.
std::optional<std::uint64_t> seconds_to_ms(const boost::json::value& v) {
    double seconds = 0;
    if (v.is_uint64()) seconds = static_cast<double>(v.get_uint64());
    else if (v.is_int64()) seconds = static_cast<double>(v.get_int64());
    else if (v.is_double()) seconds = v.get_double();
    else return std::nullopt;
    if (!(seconds >= 0) || seconds > 1e13) return std::nullopt;
    return static_cast<std::uint64_t>(std::floor(seconds * 1000));
}

std::optional<std::uint8_t> parse_capability(std::string_view name) {
    for (capability c : {capability::subscribe, capability::publish, capability::control, capability::agent}) {
        if (name == to_string(c)) return static_cast<std::uint8_t>(c);
    }
    return std::nullopt;
}

} // namespace

std::string_view to_string(capability what) {
    switch (what) {
    case capability::subscribe: return "subscribe";
    case capability::publish: return "publish";
    case capability::control: return "control";
    case capability::agent: return "agent";
    }
    return "unknown";
}

capability capability_for_kind(std::string_view kind) {
    if (kind.starts_with("control.") && kind != "control.outcome") return capability::control;
    if (kind.starts_with("user.")) return capability::publish;
    return capability::agent;
}

bool token_claims::allows(std::string_view session, capability what) const {
    auto bits = static_cast<std::uint8_t>(what);
    // An agent may also write what a user writes.
    if (what == capability::publish) bits |= static_cast<std::uint8_t>(capability::agent);
    for (const session_grant& grant : sessions) {
        const bool matches = grant.prefix ? session.starts_with(grant.pattern) : session == grant.pattern;
        if (matches && (grant.capabilities & bits) != 0) return true;
    }
    return false;
}

std::string token_verifier::sign(std::string_view claims_json) const {
    std::string token = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
    token += "." + base64url_encode(hmac_sha256(secret_, token));
    return token;
}

result<token_claims> token_verifier::verify(std::string_view token, std::uint64_t now_ms) const {
    if (token.empty()) return unauthorized("missing: this relay requires one in hello.token or Authorization: Bearer");
    if (token.size() > max_token_bytes) return unauthorized("longer than " + std::to_string(max_token_bytes) + " bytes");
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        return unauthorized("is not a JWT (header.claims.signature)");
    }
    auto header = parse_object(token.substr(0, first));
    if (!header) return unauthorized("header is not base64url JSON");
    const boost::json::value* alg = header->if_contains("alg");
    // Only HS256: "none" and every other algorithm are refused, so a token cannot choose how it
    // is checked (the classic alg-confusion attacks).
    if (!alg || !alg->is_string() || alg->get_string() != "HS256") return unauthorized("alg must be HS256");

    auto signature = base64url_decode(token.substr(second + 1));
    const std::string expected = hmac_sha256(secret_, token.substr(0, second));
    if (!signature || signature->size() != expected.size() ||
        CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
        return unauthorized("signature does not match");
    }

    auto claims_json = parse_object(token.substr(first + 1, second - first - 1));
    if (!claims_json) return unauthorized("claims are not base64url JSON");
    token_claims claims;
    if (const auto* sub = claims_json->if_contains("sub"); sub && sub->is_string()) {
        claims.subject.assign(sub->get_string().data(), sub->get_string().size());
    }
    const auto* exp = claims_json->if_contains("exp");
    auto expires = exp ? seconds_to_ms(*exp) : std::nullopt;
    if (!expires) return unauthorized("needs a numeric exp (seconds since 1970)");
    claims.expires_at_ms = *expires;
    if (const auto* nbf = claims_json->if_contains("nbf")) {
        auto not_before = seconds_to_ms(*nbf);
        if (!not_before) return unauthorized("nbf is not a number");
        if (*not_before > now_ms) return unauthorized("is not valid yet (nbf)");
    }
    const auto* sessions = claims_json->if_contains("sessions");
    if (!sessions || !sessions->is_object()) return unauthorized("needs a sessions object {pattern: [capabilities]}");
    for (const auto& [pattern, caps] : sessions->get_object()) {
        if (pattern.empty() || !caps.is_array()) return unauthorized("has a bad sessions entry");
        session_grant grant;
        const std::string_view text(pattern.data(), pattern.size());
        grant.prefix = text.back() == '*';
        grant.pattern = std::string(grant.prefix ? text.substr(0, text.size() - 1) : text);
        if (grant.pattern.find('*') != std::string::npos) return unauthorized("pattern '" + std::string(text) + "': '*' only at the end");
        for (const auto& cap : caps.get_array()) {
            auto bit = cap.is_string() ? parse_capability(std::string_view(cap.get_string().data(), cap.get_string().size()))
                                       : std::nullopt;
            if (!bit) return unauthorized("has an unknown capability for '" + std::string(text) + "'");
            grant.capabilities |= *bit;
        }
        claims.sessions.push_back(std::move(grant));
    }
    // Expiry last, so a forged or malformed token is never reported as merely expired.
    if (claims.expires_at_ms <= now_ms) return make_error(errc::token_expired, "token expired; fetch a new one");
    return claims;
}

} // namespace holdfast::relay
