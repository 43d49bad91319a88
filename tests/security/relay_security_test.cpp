// The real relay (Beast shell, 127.0.0.1, ephemeral port) with a secret, an origin allow-list and
// tight limits, attacked over real sockets. Each hostile case gets its typed error or close code
// while a well-behaved client on another connection keeps being served. Layer: tests (security).
#include "test_clients.hpp"

#include "holdfast/json.hpp"
#include "holdfast/relay/access_token.hpp"
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/relay_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

namespace holdfast::relay::testing {
namespace {

using namespace std::string_literals;
const std::string secret = "security-test-secret-0123456789abcdef";

std::uint64_t now_seconds() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string token(const std::string& sessions_json, std::int64_t lifetime_seconds = 600) {
    return token_verifier(secret).sign(R"({"sub":"tester","exp":)" + std::to_string(now_seconds() + lifetime_seconds) +
                                       R"(,"sessions":)" + sessions_json + "}");
}

class secured_relay {
public:
    explicit secured_relay(server_config config) {
        config.host = "127.0.0.1";
        config.port = 0;
        config.static_dir = std::filesystem::temp_directory_path();
        config.sdk_dir = std::filesystem::temp_directory_path();
        server_ = std::make_unique<relay_server>(config, std::make_unique<memory_store>());
        auto port = server_->start();
        if (!port) throw std::runtime_error(port.err().detail);
        port_ = port.value();
        thread_ = std::thread([this] { server_->run(); });
    }
    ~secured_relay() {
        server_->stop();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

private:
    std::unique_ptr<relay_server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

server_config default_secured() {
    server_config config;
    config.relay.auth = std::make_shared<const token_verifier>(secret);
    config.allowed_origins = {"http://app.example"};
    config.max_connections_per_ip = 8;
    config.relay.max_sessions_per_connection = 3;
    config.relay.max_frame_bytes = 64 * 1024;
    return config;
}

proto::raw_value payload(const std::string& json_text) { return proto::raw_value{json::to_msgpack(json_text).value()}; }

/// The HTTP status a WebSocket handshake gets (101 when upgraded) with this Origin header.
unsigned handshake_status(std::uint16_t port, const std::string& origin) {
    net::io_context ioc;
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).expires_after(io_timeout);
    auto ec = run_op(ioc, [&](auto h) {
        beast::get_lowest_layer(ws).async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), h);
    });
    if (ec) throw std::runtime_error("connect: " + ec.message());
    if (!origin.empty()) {
        ws.set_option(websocket::stream_base::decorator(
            [origin](websocket::request_type& req) { req.set(http::field::origin, origin); }));
    }
    websocket::response_type res;
    run_op(ioc, [&](auto h) { ws.async_handshake(res, "127.0.0.1", "/v1/ws", h); });
    return res.result_int();
}

/// A well-behaved client with a full token: greets, attaches "good", and can do a round trip.
class good_client {
public:
    explicit good_client(std::uint16_t port) : ws_(port) {
        ws_.send(proto::hello{proto::protocol_version, token(R"({"good":["subscribe","publish"]})"), "good-client", "", std::nullopt, std::nullopt});
        ws_.read_until<proto::welcome>();
        ws_.send(proto::attach{"good", 0, 0});
        ws_.read_until<proto::attached>();
    }
    /// Publishes one prompt and returns once both its ack and its event came back.
    void round_trip() {
        ++seq_;
        ws_.send(proto::publish{"good", "good-client", seq_, "user.prompt", "u" + std::to_string(seq_), payload(R"({"text":"hi"})")});
        bool acked = false, seen = false;
        while (!acked || !seen) {
            proto::frame f = ws_.read();
            if (auto* ack = std::get_if<proto::ack>(&f)) acked = ack->producer_seq == seq_;
            if (auto* batch = std::get_if<proto::event_batch>(&f)) {
                for (auto& e : batch->events) seen = seen || e.serial == seq_;
            }
            if (auto* error = std::get_if<proto::error_frame>(&f)) FAIL() << "good client got error " << error->message;
        }
    }

private:
    ws_client ws_;
    std::uint64_t seq_ = 0;
};

std::string all_sessions_claims() {
    return R"({"sub":"x","exp":)" + std::to_string(now_seconds() + 600) + R"(,"sessions":{"*":["subscribe"]}})";
}

TEST(relay_security, bad_tokens_get_typed_errors_and_4401_while_others_are_served) {
    secured_relay relay(default_secured());
    good_client good(relay.port());
    good.round_trip();

    struct bad_token {
        const char* name;
        std::string token;
        errc code;
    };
    const std::vector<bad_token> cases = {
        {"missing", "", errc::unauthorized},
        {"alg none", base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(all_sessions_claims()) + ".",
         errc::unauthorized},
        {"forged", token_verifier("some-other-secret-0123456789abcdef").sign(all_sessions_claims()), errc::unauthorized},
        {"garbage", "eyJ.eyJ.sig", errc::unauthorized},
        {"expired", token(R"({"*":["subscribe"]})", -10), errc::token_expired},
    };
    for (const auto& bad : cases) {
        SCOPED_TRACE(bad.name);
        ws_client hostile(relay.port());
        hostile.send(proto::hello{proto::protocol_version, bad.token, "hostile", "", std::nullopt, std::nullopt});
        hostile.send(proto::attach{"good", 0, 0});  // pipelined: must not be served
        std::vector<proto::frame> before;
        auto error = hostile.read_until<proto::error_frame>(&before);
        EXPECT_EQ(error.code, static_cast<std::uint32_t>(bad.code)) << error.message;
        for (const auto& f : before) EXPECT_FALSE(std::holds_alternative<proto::attached>(f));
        try {
            for (int i = 0; i < 10; ++i) hostile.read();
        } catch (const std::exception&) {
        }
        EXPECT_EQ(hostile.close_reason().code, close_status::unauthorized);
        EXPECT_EQ(std::string(hostile.close_reason().reason.c_str()), std::string(to_string(bad.code)));
        good.round_trip();
    }
}

TEST(relay_security, a_token_for_one_session_cannot_read_or_write_another) {
    secured_relay relay(default_secured());
    good_client good(relay.port());
    ws_client scoped(relay.port());
    scoped.send(proto::hello{proto::protocol_version, token(R"({"chat-a":["subscribe"]})"), "scoped", "", std::nullopt, std::nullopt});
    scoped.read_until<proto::welcome>();

    scoped.send(proto::attach{"chat-b", 0, 0});
    auto refused = scoped.read_until<proto::error_frame>();
    EXPECT_EQ(refused.code, static_cast<std::uint32_t>(errc::forbidden));
    EXPECT_EQ(refused.session, std::optional<std::string>("chat-b"));

    scoped.send(proto::attach{"chat-a", 0, 0});
    EXPECT_EQ(scoped.read_until<proto::attached>().session, "chat-a");
    // subscribe only: a prompt is refused and names the producer sequence it answers.
    scoped.send(proto::publish{"chat-a", "scoped", 1, "user.prompt", "u1", payload(R"({"text":"x"})")});
    auto no_publish = scoped.read_until<proto::error_frame>();
    EXPECT_EQ(no_publish.code, static_cast<std::uint32_t>(errc::forbidden));
    EXPECT_EQ(no_publish.producer_seq, std::optional<std::uint64_t>(1));
    good.round_trip();

    // HTTP takes the same token as a bearer header.
    auto read = [&](const std::string& target, const std::string& bearer) {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.expires_after(io_timeout);
        run_op(ioc, [&](auto h) { stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), relay.port()), h); });
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
        req.keep_alive(false);
        run_op(ioc, [&](auto h) { http::async_write(stream, req, h); });
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        run_op(ioc, [&](auto h) { http::async_read(stream, buffer, res, h); });
        return res.result_int();
    };
    const std::string a_only = token(R"({"chat-a":["subscribe"]})");
    EXPECT_EQ(read("/v1/sessions/chat-a/events", a_only), 200u);
    EXPECT_EQ(read("/v1/sessions/chat-b/events", a_only), 403u);
    EXPECT_EQ(read("/v1/sessions/chat-a/events", ""), 401u);
    EXPECT_EQ(read("/v1/sessions/chat-a/events", token(R"({"chat-a":["subscribe"]})", -5)), 401u);
}

TEST(relay_security, origins_outside_the_allow_list_get_403) {
    secured_relay relay(default_secured());
    EXPECT_EQ(handshake_status(relay.port(), "http://evil.example"), 403u);
    EXPECT_EQ(handshake_status(relay.port(), "http://app.example.evil"), 403u);
    EXPECT_EQ(handshake_status(relay.port(), "http://app.example"), 101u);
    EXPECT_EQ(handshake_status(relay.port(), ""), 101u) << "no Origin: not a browser page";
}

/// A counter from the relay's /metrics.
std::uint64_t metric_value(std::uint16_t port, const std::string& name) {
    auto metrics = http_call(port, http::verb::get, "/metrics");
    const std::string key = "\n" + name + " ";
    const auto at = metrics.body.find(key);
    if (at == std::string::npos) throw std::runtime_error("no " + name + " in /metrics");
    return std::stoull(metrics.body.substr(at + key.size()));
}

TEST(relay_security, hostile_frames_get_typed_errors_and_the_link_stays_up) {
    secured_relay relay(default_secured());
    good_client good(relay.port());
    ws_client hostile(relay.port());
    hostile.send(proto::hello{proto::protocol_version, token(R"({"*":["subscribe"]})"), "hostile", "", std::nullopt, std::nullopt});
    hostile.read_until<proto::welcome>();
    const std::string ping = "\x82\xA4type\xA4ping\xA5nonce"s;
    const std::vector<std::pair<std::string, errc>> bombs = {
        {ping + "\xC6\xFF\xFF\xFF\xF0", errc::limit_exceeded},  // bin32 length bomb
        {ping + "\xC9\x00\x00\xFF\xF0\x01", errc::malformed_frame},  // ext32 past the end
        {ping + "\xDC\x13\x88\x01", errc::malformed_frame},      // array16 count past the end
        {ping + std::string(100, '\x91') + "\x01", errc::limit_exceeded},  // deep nesting
        {ping + "\xD4\x01", errc::malformed_frame},              // truncated fixext
        {"\xDF\xFF\xFF\xFF\xFF"s, errc::limit_exceeded},         // huge map count
    };
    std::uint64_t nonce = 0;
    for (const auto& [bytes, code] : bombs) {
        hostile.send_raw(bytes);
        auto error = hostile.read_until<proto::error_frame>();
        EXPECT_EQ(error.code, static_cast<std::uint32_t>(code)) << error.message;
        hostile.send(proto::ping{++nonce});
        EXPECT_EQ(hostile.read_until<proto::pong>().nonce, nonce);
        good.round_trip();
    }
    // Sessions per connection.
    for (const char* session : {"s1", "s2", "s3"}) {
        hostile.send(proto::attach{session, 0, 0});
        hostile.read_until<proto::attached>();
    }
    hostile.send(proto::attach{"s4", 0, 0});
    auto too_many = hostile.read_until<proto::error_frame>();
    EXPECT_EQ(too_many.code, static_cast<std::uint32_t>(errc::limit_exceeded));
    EXPECT_EQ(too_many.session, std::optional<std::string>("s4"));

    // A frame over max_frame_bytes ends that connection, nobody else's. The relay may close while
    // this client is still writing the frame (the write then fails with a broken pipe); when its
    // close frame gets here first, it says 1009. Either way the relay counted the rejection.
    const std::uint64_t rejected_before = metric_value(relay.port(), "holdfast_frames_rejected_total");
    try {
        hostile.send_raw(std::string(100 * 1024, '\x01'));
        for (int i = 0; i < 10; ++i) hostile.read();
    } catch (const std::exception&) {
    }
    const auto code = hostile.close_reason().code;
    EXPECT_TRUE(code == close_status::message_too_big || code == 0) << "close code " << code;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (metric_value(relay.port(), "holdfast_frames_rejected_total") == rejected_before &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(metric_value(relay.port(), "holdfast_frames_rejected_total"), rejected_before + 1);
    good.round_trip();
}

TEST(relay_security, connections_per_ip_are_capped_with_429) {
    secured_relay relay(default_secured());
    good_client good(relay.port());
    std::vector<std::unique_ptr<ws_client>> others;
    for (int i = 1; i < 8; ++i) others.push_back(std::make_unique<ws_client>(relay.port()));
    EXPECT_EQ(handshake_status(relay.port(), ""), 429u);
    good.round_trip();
    others.back()->close();
    others.pop_back();
    // The slot comes back once the relay has seen the close: retry until it has.
    unsigned status = 0;
    for (int attempt = 0; attempt < 50 && status != 101; ++attempt) {
        status = handshake_status(relay.port(), "");
        if (status != 101) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status, 101u);
}

/// holdfast_frames_received_total from /metrics.
std::uint64_t frames_received(std::uint16_t port) { return metric_value(port, "holdfast_frames_received_total"); }

TEST(relay_security, a_flood_is_throttled_in_order_while_another_connection_is_served) {
    server_config config = default_secured();
    config.relay.max_frames_per_second = 50;
    config.relay.rate_burst_seconds = 1;
    secured_relay relay(config);
    good_client good(relay.port());  // hello + attach: 2 frames
    ws_client flooder(relay.port());
    flooder.send(proto::hello{proto::protocol_version, token(R"({"*":["subscribe"]})"), "flooder", "", std::nullopt, std::nullopt});
    constexpr std::uint64_t flood = 200;
    for (std::uint64_t nonce = 1; nonce <= flood; ++nonce) flooder.send(proto::ping{nonce});

    good.round_trip();
    // The relay has not read the whole flood yet (50 frames/s: about 3 s of it), but the other
    // connection's round trip is done: throttling one connection does not hold the others.
    EXPECT_LT(frames_received(relay.port()), 2 + 1 + 1 + flood);

    // Nothing the flooder sent is lost: every ping is answered, in order, after one notice.
    std::uint64_t expected = 1;
    int notices = 0;
    while (expected <= flood) {
        proto::frame f = flooder.read_slow();
        if (auto* pong = std::get_if<proto::pong>(&f)) {
            ASSERT_EQ(pong->nonce, expected);
            ++expected;
        } else if (auto* error = std::get_if<proto::error_frame>(&f)) {
            EXPECT_EQ(error->code, static_cast<std::uint32_t>(errc::rate_limited)) << error->message;
            ++notices;
        }
    }
    EXPECT_EQ(notices, 1);
    good.round_trip();
}

TEST(relay_security, renewing_the_token_mid_stream_keeps_the_position) {
    secured_relay relay(default_secured());
    ws_client publisher(relay.port());
    publisher.send(proto::hello{proto::protocol_version, token(R"({"renew":["publish","subscribe"]})"), "pub", "", std::nullopt, std::nullopt});
    publisher.read_until<proto::welcome>();
    std::uint64_t seq = 0;
    auto publish = [&] {
        ++seq;
        publisher.send(proto::publish{"renew", "pub", seq, "user.prompt", "u" + std::to_string(seq), payload("{}")});
        EXPECT_EQ(publisher.read_until<proto::ack>().serial, seq);
    };
    auto next_events = [](ws_client& c, std::size_t count) {
        std::vector<std::uint64_t> serials;
        while (serials.size() < count) {
            for (auto& e : c.read_until<proto::event_batch>().events) serials.push_back(e.serial);
        }
        return serials;
    };

    // A reader whose token lives 2 s renews it on the live link with a second hello.
    ws_client reader(relay.port());
    reader.send(proto::hello{proto::protocol_version, token(R"({"renew":["subscribe"]})", 2), "reader", "", std::nullopt, std::nullopt});
    reader.read_until<proto::welcome>();
    reader.send(proto::attach{"renew", 0, 0});
    reader.read_until<proto::attached>();
    publish();
    publish();
    EXPECT_EQ(next_events(reader, 2), (std::vector<std::uint64_t>{1, 2}));
    reader.send(proto::hello{proto::protocol_version, token(R"({"renew":["subscribe"]})", 600), "reader", "", std::nullopt, std::nullopt});
    reader.read_until<proto::welcome>();
    publish();
    EXPECT_EQ(next_events(reader, 1), (std::vector<std::uint64_t>{3}));

    // A reader that does not renew is closed with token_expired once its token runs out...
    ws_client lapsed(relay.port());
    lapsed.send(proto::hello{proto::protocol_version, token(R"({"renew":["subscribe"]})", 2), "lapsed", "", std::nullopt, std::nullopt});
    lapsed.send(proto::attach{"renew", 0, 0});
    EXPECT_EQ(next_events(lapsed, 3), (std::vector<std::uint64_t>{1, 2, 3}));
    auto expired = lapsed.read_until<proto::error_frame>();  // within 2 s: exp is in whole seconds
    EXPECT_EQ(expired.code, static_cast<std::uint32_t>(errc::token_expired));
    try {
        for (int i = 0; i < 10; ++i) lapsed.read();
    } catch (const std::exception&) {
    }
    EXPECT_EQ(lapsed.close_reason().code, close_status::unauthorized);

    // ...by then the first reader's original token has expired too, and the renewed one serves it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    publish();
    EXPECT_EQ(next_events(reader, 1), (std::vector<std::uint64_t>{4}));

    // The lapsed reader reconnects with a fresh token and resumes from its last serial.
    ws_client resumed(relay.port());
    resumed.send(proto::hello{proto::protocol_version, token(R"({"renew":["subscribe"]})"), "lapsed", "", std::nullopt, std::nullopt});
    resumed.send(proto::attach{"renew", 3, 0});
    EXPECT_EQ(resumed.read_until<proto::attached>().head_serial, 4u);
    EXPECT_EQ(next_events(resumed, 1), (std::vector<std::uint64_t>{4}));
}

} // namespace
} // namespace holdfast::relay::testing
