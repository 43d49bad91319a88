// Capability tokens: what verifies, what is refused and with which code, and the capability
// rules (exact ids, prefix patterns, kinds). Layer: tests (relay, sans-I/O).
#include "holdfast/relay/access_token.hpp"

#include <gtest/gtest.h>

namespace holdfast::relay {
namespace {

constexpr std::uint64_t now_ms = 1'700'000'000'000;
const token_verifier verifier("a-secret-of-at-least-thirty-two-bytes!!");

std::string claims(std::string sessions, std::uint64_t exp_seconds = now_ms / 1000 + 60) {
    return R"({"sub":"user-1","exp":)" + std::to_string(exp_seconds) + R"(,"sessions":)" + sessions + "}";
}

errc refusal(std::string_view token) {
    auto verified = verifier.verify(token, now_ms);
    EXPECT_FALSE(verified) << "accepted " << token;
    return verified ? errc::ok : verified.err().code;
}

TEST(access_token, a_signed_token_yields_subject_expiry_and_grants) {
    auto verified = verifier.verify(verifier.sign(claims(R"({"chat-*":["subscribe","publish"],"ops":["control"]})")), now_ms);
    ASSERT_TRUE(verified) << verified.err().detail;
    EXPECT_EQ(verified->subject, "user-1");
    EXPECT_EQ(verified->expires_at_ms, (now_ms / 1000 + 60) * 1000);
    EXPECT_TRUE(verified->allows("chat-1", capability::subscribe));
    EXPECT_TRUE(verified->allows("chat-", capability::publish));
    EXPECT_FALSE(verified->allows("chat-1", capability::control));
    EXPECT_FALSE(verified->allows("cha", capability::subscribe));
    EXPECT_FALSE(verified->allows("other", capability::subscribe));
    EXPECT_TRUE(verified->allows("ops", capability::control));
    EXPECT_FALSE(verified->allows("ops-2", capability::control)) << "an exact id is not a prefix";
}

TEST(access_token, agent_covers_publish_but_not_the_reverse) {
    auto verified = verifier.verify(verifier.sign(claims(R"({"*":["agent"],"u":["publish"]})")), now_ms);
    ASSERT_TRUE(verified);
    EXPECT_TRUE(verified->allows("anything", capability::publish));
    EXPECT_TRUE(verified->allows("anything", capability::agent));
    EXPECT_FALSE(verified->allows("anything", capability::subscribe));
    EXPECT_EQ(capability_for_kind("user.prompt"), capability::publish);
    EXPECT_EQ(capability_for_kind("control.cancel"), capability::control);
    EXPECT_EQ(capability_for_kind("control.outcome"), capability::agent);
    EXPECT_EQ(capability_for_kind("message.delta"), capability::agent);
}

TEST(access_token, missing_malformed_and_forged_tokens_are_unauthorized) {
    EXPECT_EQ(refusal(""), errc::unauthorized);
    EXPECT_EQ(refusal("not-a-jwt"), errc::unauthorized);
    EXPECT_EQ(refusal("a.b"), errc::unauthorized);
    EXPECT_EQ(refusal("a.b.c.d"), errc::unauthorized);
    EXPECT_EQ(refusal(std::string(token_verifier::max_token_bytes + 1, 'a')), errc::unauthorized);
    const std::string good = verifier.sign(claims(R"({"*":["subscribe"]})"));
    // Signed with another secret.
    EXPECT_EQ(refusal(token_verifier("another-secret-of-thirty-two-bytes!!").sign(claims(R"({"*":["subscribe"]})"))),
              errc::unauthorized);
    // Claims changed after signing (a wider grant), signature kept.
    const auto dot = good.find('.');
    const auto last = good.rfind('.');
    EXPECT_EQ(refusal(good.substr(0, dot + 1) + base64url_encode(claims(R"({"*":["subscribe","agent"]})")) +
                      good.substr(last)),
              errc::unauthorized);
    // Signature truncated.
    EXPECT_EQ(refusal(good.substr(0, good.size() - 2)), errc::unauthorized);
}

TEST(access_token, alg_none_and_other_algorithms_are_refused) {
    const std::string body = base64url_encode(claims(R"({"*":["subscribe"]})"));
    EXPECT_EQ(refusal(base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + body + "."), errc::unauthorized);
    EXPECT_EQ(refusal(base64url_encode(R"({"alg":"None"})") + "." + body + "."), errc::unauthorized);
    EXPECT_EQ(refusal(base64url_encode(R"({"alg":"HS512"})") + "." + body + ".c2ln"), errc::unauthorized);
    EXPECT_EQ(refusal(base64url_encode(R"({"typ":"JWT"})") + "." + body + ".c2ln"), errc::unauthorized);
}

TEST(access_token, expiry_and_bad_claims) {
    EXPECT_EQ(refusal(verifier.sign(claims(R"({"*":["subscribe"]})", now_ms / 1000 - 1))), errc::token_expired);
    EXPECT_EQ(refusal(verifier.sign(claims(R"({"*":["subscribe"]})", now_ms / 1000))), errc::token_expired);
    EXPECT_EQ(refusal(verifier.sign(R"({"sub":"x","sessions":{"*":["subscribe"]}})")), errc::unauthorized) << "no exp";
    EXPECT_EQ(refusal(verifier.sign(R"({"sub":"x","exp":"tomorrow","sessions":{}})")), errc::unauthorized);
    EXPECT_EQ(refusal(verifier.sign(claims(R"({"*":["read"]})"))), errc::unauthorized) << "unknown capability";
    EXPECT_EQ(refusal(verifier.sign(claims(R"({"a*b":["subscribe"]})"))), errc::unauthorized);
    EXPECT_EQ(refusal(verifier.sign(claims(R"(["subscribe"])"))), errc::unauthorized);
    const std::string future = R"({"exp":)" + std::to_string(now_ms / 1000 + 60) + R"(,"nbf":)" +
                               std::to_string(now_ms / 1000 + 30) + R"(,"sessions":{}})";
    EXPECT_EQ(refusal(verifier.sign(future)), errc::unauthorized) << "not valid before nbf";
}

TEST(access_token, base64url_round_trips) {
    for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
        auto back = base64url_decode(base64url_encode(text));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, text);
    }
    EXPECT_FALSE(base64url_decode("ab=c"));
    EXPECT_FALSE(base64url_decode("a"));
}

} // namespace
} // namespace holdfast::relay
