// The client core's side of token renewal: a new token goes out at once in a second hello on a
// live link (nothing else is resent and every session keeps its position), and the next
// connect uses it; the refresh delay is read from the token's exp. Layer: tests (portable core).
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"
#include "holdfast/token_expiry.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

std::vector<proto::frame> decoded(const std::vector<std::string>& frames) {
    std::vector<proto::frame> out;
    for (const auto& bytes : frames) out.push_back(proto::decode(bytes).value());
    return out;
}

std::string jwt_with_claims(const std::string& claims_json) {
    auto encode = [](std::string_view bytes) {
        constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::string out;
        std::uint32_t buffer = 0;
        int bits = 0;
        for (unsigned char c : bytes) {
            buffer = (buffer << 8) | c;
            bits += 8;
            while (bits >= 6) out += alphabet[(buffer >> (bits -= 6)) & 0x3f];
        }
        if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 0x3f];
        return out;
    };
    return encode(R"({"alg":"HS256"})") + "." + encode(claims_json) + ".sig";
}

TEST(client_token, renewal_on_a_live_link_is_one_hello_and_keeps_the_position) {
    client_config config;
    config.client_id = "c1";
    config.token = "first";
    client_core core(config);
    ASSERT_TRUE(core.open_session("chat-1"));
    core.on_transport_open();
    auto opened = decoded(core.take_frames());
    ASSERT_EQ(std::get<proto::hello>(opened.at(0)).token, "first");
    core.on_frame(proto::encode(proto::attached{"chat-1", 9, 2}));
    proto::event_batch batch{"chat-1", {}};
    for (std::uint64_t serial = 1; serial <= 2; ++serial) {
        batch.events.push_back(proto::event{serial, serial, "p", "user.prompt", "m" + std::to_string(serial), "", {}});
    }
    core.on_frame(proto::encode(batch));
    ASSERT_EQ(core.find_session("chat-1")->last_serial(), 2u);

    core.set_token("second");
    auto renewal = decoded(core.take_frames());
    ASSERT_EQ(renewal.size(), 1u) << "only a hello: no re-attach, no resend";
    EXPECT_EQ(std::get<proto::hello>(renewal[0]).token, "second");
    EXPECT_EQ(std::get<proto::hello>(renewal[0]).client_id, "c1");
    EXPECT_EQ(core.find_session("chat-1")->last_serial(), 2u);

    // After a drop the reconnect greets with the new token and resumes from serial 2.
    core.on_transport_closed();
    core.on_transport_open();
    auto reconnect = decoded(core.take_frames());
    EXPECT_EQ(std::get<proto::hello>(reconnect.at(0)).token, "second");
    EXPECT_EQ(std::get<proto::attach>(reconnect.at(1)).from_serial, 2u);
}

TEST(client_token, a_token_set_while_offline_is_used_at_the_next_connect) {
    client_config config;
    config.client_id = "c2";
    client_core core(config);
    core.set_token("later");
    EXPECT_TRUE(core.take_frames().empty());
    core.on_transport_open();
    EXPECT_EQ(std::get<proto::hello>(decoded(core.take_frames()).at(0)).token, "later");
}

TEST(client_token, refresh_delay_comes_from_exp) {
    const std::uint64_t now_ms = 1'700'000'000'000;
    EXPECT_EQ(jwt_expiry_ms(jwt_with_claims(R"({"exp":1700000600,"sessions":{}})")), 1'700'000'600'000u);
    EXPECT_FALSE(jwt_expiry_ms("opaque-token"));
    EXPECT_FALSE(jwt_expiry_ms(jwt_with_claims(R"({"sub":"no exp"})")));
    EXPECT_FALSE(jwt_expiry_ms(jwt_with_claims(R"({"exp":"soon"})")));

    client_config config;
    config.token = jwt_with_claims(R"({"exp":1700000600})");  // 10 minutes left: renew 30 s early
    EXPECT_EQ(client_core(config).token_refresh_delay_ms(now_ms), 570'000u);
    config.token = jwt_with_claims(R"({"exp":1700000040})");  // 40 s left: at half
    EXPECT_EQ(client_core(config).token_refresh_delay_ms(now_ms), 20'000u);
    config.token = jwt_with_claims(R"({"exp":1699999000})");  // already expired: soon, not in a loop
    EXPECT_EQ(client_core(config).token_refresh_delay_ms(now_ms), 1'000u);
    config.token = "opaque";
    EXPECT_FALSE(client_core(config).token_refresh_delay_ms(now_ms));
}

} // namespace
} // namespace holdfast::client
