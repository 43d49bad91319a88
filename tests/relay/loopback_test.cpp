// The real Beast shell on 127.0.0.1 (ephemeral port) over a SQLite file, driven by real
// WebSocket and HTTP clients, then restarted on the same file. Layer: tests (relay, loopback).
#include "test_clients.hpp"

#include "holdfast/json.hpp"
#include "holdfast/relay/relay_server.hpp"
#include "holdfast/relay/sqlite_store.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace holdfast::relay::testing {
namespace {

namespace fs = std::filesystem;

/// A relay_server running on its own thread for the lifetime of this object.
class running_relay {
public:
    explicit running_relay(const fs::path& db, relay_config relay = {}) {
        auto store = open_store("sqlite:" + db.string());
        if (!store) throw std::runtime_error(store.err().detail);
        server_config config;
        config.host = "127.0.0.1";
        config.port = 0;
        config.static_dir = db.parent_path() / "web";
        config.sdk_dir = db.parent_path() / "sdk";
        config.relay = relay;
        server_ = std::make_unique<relay_server>(config, std::move(store).value());
        auto port = server_->start();
        if (!port) throw std::runtime_error(port.err().detail);
        port_ = port.value();
        thread_ = std::thread([this] { server_->run(); });
    }
    ~running_relay() {
        server_->stop();
        thread_.join();
    }
    void stop() { server_->stop(); }
    std::uint16_t port() const { return port_; }

private:
    std::unique_ptr<relay_server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

class loopback_test : public ::testing::Test {
protected:
    loopback_test() {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() /
               ("holdfast-loopback-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "web");
        fs::create_directories(dir_ / "sdk");
    }
    ~loopback_test() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    static proto::welcome greet(ws_client& c) {
        c.send(proto::hello{});
        return c.read_until<proto::welcome>();
    }

    static std::vector<proto::event> read_events(ws_client& c, std::size_t count) {
        std::vector<proto::event> events;
        while (events.size() < count) {
            auto batch = c.read_until<proto::event_batch>();
            for (auto& e : batch.events) events.push_back(std::move(e));
        }
        return events;
    }

    static std::vector<std::uint64_t> serials(const std::vector<proto::event>& events) {
        std::vector<std::uint64_t> out;
        for (const auto& e : events) out.push_back(e.serial);
        return out;
    }

    fs::path dir_;
};

TEST_F(loopback_test, two_clients_publish_http_restart_and_resume) {
    const fs::path db = dir_ / "relay.db";
    std::uint64_t epoch = 0;
    std::vector<proto::event> first_life;
    {
        running_relay relay(db);
        ws_client a(relay.port());
        ws_client b(relay.port());
        EXPECT_NE(greet(a).connection_id, greet(b).connection_id);
        a.send(proto::attach{"chat-1", 0, 0});
        b.send(proto::attach{"chat-1", 0, 0});
        auto attached_a = a.read_until<proto::attached>();
        auto attached_b = b.read_until<proto::attached>();
        EXPECT_EQ(attached_a.epoch, attached_b.epoch);
        EXPECT_EQ(attached_a.head_serial, 0u);
        epoch = attached_a.epoch;

        for (std::uint64_t seq = 1; seq <= 3; ++seq) {
            a.send(proto::publish{"chat-1", "agent-a", seq, "message.delta", "m1",
                                  proto::raw_value{json::to_msgpack(R"({"text":"token )" + std::to_string(seq) + "\"}").value()}});
        }
        std::vector<proto::frame> skipped;
        std::vector<proto::event> seen_a;
        std::vector<std::uint64_t> acked;
        while (seen_a.size() < 3 || acked.size() < 3) {
            proto::frame f = a.read();
            if (auto* batch = std::get_if<proto::event_batch>(&f)) {
                for (auto& e : batch->events) seen_a.push_back(e);
            } else if (auto* ack = std::get_if<proto::ack>(&f)) {
                acked.push_back(ack->serial);
            }
        }
        auto seen_b = read_events(b, 3);
        EXPECT_EQ(serials(seen_a), (std::vector<std::uint64_t>{1, 2, 3}));
        EXPECT_EQ(acked, (std::vector<std::uint64_t>{1, 2, 3}));
        EXPECT_EQ(seen_a, seen_b);

        auto posted = http_call(relay.port(), http::verb::post, "/v1/sessions/chat-1/events",
                                R"({"kind":"user.prompt","msgId":"u1","payload":{"text":"over http"}})");
        ASSERT_EQ(posted.status, 200u) << posted.body;
        EXPECT_EQ(boost::json::parse(posted.body).at("serial").as_int64(), 4);
        EXPECT_EQ(read_events(a, 1).at(0).serial, 4u);
        auto over_http = read_events(b, 1).at(0);
        EXPECT_EQ(over_http.serial, 4u);
        EXPECT_EQ(over_http.kind, "user.prompt");

        auto got = http_call(relay.port(), http::verb::get, "/v1/sessions/chat-1/events?from=0");
        ASSERT_EQ(got.status, 200u);
        auto page = boost::json::parse(got.body);
        EXPECT_EQ(page.at("headSerial").as_int64(), 4);
        EXPECT_EQ(static_cast<std::uint64_t>(page.at("epoch").as_int64()), epoch);
        ASSERT_EQ(page.at("events").as_array().size(), 4u);
        EXPECT_EQ(page.at("events").at(3).at("payload").at("text").as_string(), "over http");

        auto health = http_call(relay.port(), http::verb::get, "/healthz");
        EXPECT_EQ(health.status, 200u);
        EXPECT_EQ(health.body, R"({"status":"ok"})");
        auto metrics = http_call(relay.port(), http::verb::get, "/metrics");
        EXPECT_EQ(metrics.status, 200u);
        EXPECT_NE(metrics.body.find("\nholdfast_open_connections 2\n"), std::string::npos) << metrics.body;
        EXPECT_NE(metrics.body.find("\nholdfast_events_appended_total 5\n"), std::string::npos)
            << "4 events in chat-1 plus its session.created in $sessions\n"
            << metrics.body;

        first_life = seen_a;
        first_life.push_back(over_http);
        a.close();
        b.close();
    }
    {
        running_relay relay(db);
        ws_client c(relay.port());
        greet(c);
        c.send(proto::attach{"chat-1", 0, epoch});
        auto attached = c.read_until<proto::attached>();
        EXPECT_EQ(attached.epoch, epoch);
        EXPECT_EQ(attached.head_serial, 4u);
        EXPECT_EQ(read_events(c, 4), first_life);

        c.send(proto::publish{"chat-1", "agent-a", 3, "message.delta", "m1", {}});
        EXPECT_EQ(c.read_until<proto::ack>().serial, 3u) << "a retry across restarts is still deduplicated";
        c.send(proto::publish{"chat-1", "agent-a", 4, "message.end", "m1", {}});
        std::vector<proto::frame> skipped;
        EXPECT_EQ(c.read_until<proto::ack>(&skipped).serial, 5u);
        c.close();
    }
}

/// The value of one unlabelled metric on /metrics.
std::uint64_t metric(std::uint16_t port, const std::string& name) {
    const std::string body = http_call(port, http::verb::get, "/metrics").body;
    const auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) throw std::runtime_error("no metric " + name);
    return std::stoull(body.substr(at + name.size() + 2));
}

TEST_F(loopback_test, a_long_replay_with_a_publisher_appending_arrives_whole_in_order_once) {
    constexpr std::uint64_t history = 20'000;
    constexpr std::uint64_t live = 300;
    const fs::path db = dir_ / "relay.db";
    {
        auto store = sqlite_store::open(db.string());
        ASSERT_TRUE(store.has_value());
        ASSERT_TRUE(store.value()->create("long").has_value());
        for (std::uint64_t serial = 1; serial <= history; ++serial) {
            stored_event e;
            e.event = proto::event{serial, serial, "", "message.delta", "m", "", proto::raw_value{"\xa5token"}};
            ASSERT_TRUE(store.value()->append("long", e).has_value());
        }
    }
    running_relay relay(db);
    ws_client reader(relay.port());
    greet(reader);
    reader.send(proto::attach{"long", 0, 0});
    EXPECT_EQ(reader.read_until<proto::attached>().head_serial, history);

    // The publisher runs while the reader is still in its replay.
    std::exception_ptr publisher_failed;
    std::thread publisher([&] {
        try {
            ws_client writer(relay.port());
            greet(writer);
            for (std::uint64_t seq = 1; seq <= live; ++seq) {
                proto::publish p{"long", "writer", seq, "message.delta", "m2", proto::raw_value{"\xa4live"}};
                p.producer_epoch = 1'700'000'000'000;
                writer.send(p);
                if (writer.read_until<proto::ack>().serial != history + seq) throw std::runtime_error("bad ack");
            }
            writer.close();
        } catch (...) {
            publisher_failed = std::current_exception();
        }
    });
    std::vector<std::uint64_t> got;
    try {
        while (got.size() < history + live) {
            for (const auto& e : reader.read_until<proto::event_batch>().events) got.push_back(e.serial);
        }
    } catch (...) {
        publisher.join();
        throw;
    }
    publisher.join();
    if (publisher_failed) std::rethrow_exception(publisher_failed);
    std::vector<std::uint64_t> expected(history + live);
    for (std::uint64_t i = 0; i < expected.size(); ++i) expected[i] = i + 1;
    EXPECT_EQ(got, expected) << "1..N+k, no hole, no repeat";
    // Paced in batches of the default size, not sent as one block.
    EXPECT_GE(metric(relay.port(), "holdfast_replay_batches_total"), history / relay::relay_config{}.max_batch_events);
    reader.close();
}

TEST_F(loopback_test, a_reader_that_stops_reading_is_closed_with_4008_and_the_others_keep_up) {
    relay_config limits;
    limits.max_queued_bytes = 256 * 1024;
    running_relay relay(dir_ / "relay.db", limits);
    // Default socket buffers: a tiny SO_RCVBUF made this kernel prune the stalled socket's queue
    // so hard that other loopback connections stalled for seconds.
    ws_client stalled(relay.port());
    ws_client follower(relay.port());
    ws_client writer(relay.port());
    for (ws_client* c : {&stalled, &follower, &writer}) greet(*c);
    stalled.send(proto::attach{"s", 0, 0});
    EXPECT_EQ(stalled.read_until<proto::attached>().head_serial, 0u);
    follower.send(proto::attach{"s", 0, 0});
    follower.read_until<proto::attached>();

    // The follower reads on its own thread (it must keep up) until the writer's end marker.
    std::vector<std::uint64_t> followed;
    std::exception_ptr follower_failed;
    std::thread follow([&] {
        try {
            for (bool ended = false; !ended;) {
                for (const auto& e : follower.read_until<proto::event_batch>().events) {
                    followed.push_back(e.serial);
                    ended = ended || e.kind == "test.end";
                }
            }
        } catch (...) {
            follower_failed = std::current_exception();
        }
    });
    const std::string text(16 * 1024, 'x');
    const auto payload = proto::raw_value{json::to_msgpack("\"" + text + "\"").value()};
    std::uint64_t seq = 0;
    // The stalled socket absorbs its kernel buffers first; 2,000 x 16 KiB is far beyond them.
    while (seq < 2000 && (seq % 16 != 0 || metric(relay.port(), "holdfast_slow_consumer_closes_total") == 0)) {
        writer.send(proto::publish{"s", "writer", ++seq, "message.delta", "m", payload});
        writer.read_until<proto::ack>();
    }
    writer.send(proto::publish{"s", "writer", ++seq, "test.end", "m", {}});
    writer.read_until<proto::ack>();
    follow.join();
    if (follower_failed) std::rethrow_exception(follower_failed);
    ASSERT_EQ(metric(relay.port(), "holdfast_slow_consumer_closes_total"), 1u);
    std::vector<std::uint64_t> expected(seq);
    for (std::uint64_t i = 0; i < seq; ++i) expected[i] = i + 1;
    EXPECT_EQ(followed, expected) << "the follower got everything";

    // The stalled reader finally reads: a gap-free prefix, the error, then the close.
    std::vector<std::uint64_t> prefix;
    std::optional<proto::error_frame> last_error;
    try {
        for (;;) {
            proto::frame f = stalled.read();
            if (auto* batch = std::get_if<proto::event_batch>(&f)) {
                for (const auto& e : batch->events) prefix.push_back(e.serial);
            } else if (auto* error = std::get_if<proto::error_frame>(&f)) {
                last_error = *error;
            }
        }
    } catch (const std::runtime_error&) {
    }
    ASSERT_TRUE(last_error.has_value());
    EXPECT_EQ(last_error->code, static_cast<std::uint32_t>(errc::slow_consumer));
    EXPECT_EQ(stalled.close_reason().code, 4008);
    EXPECT_EQ(std::string_view(stalled.close_reason().reason.data(), stalled.close_reason().reason.size()),
              "slow_consumer");
    EXPECT_LT(prefix.size(), seq - 1);
    for (std::size_t i = 0; i < prefix.size(); ++i) ASSERT_EQ(prefix[i], i + 1);
    follower.close();
    writer.close();
}

TEST_F(loopback_test, an_agent_that_drops_mid_answer_is_ended_by_the_lease_timer_and_a_cancel_is_answered) {
    relay_config config;
    config.agent_lease_ms = 300;
    running_relay relay(dir_ / "relay.db", config);
    ws_client browser(relay.port());
    greet(browser);
    browser.send(proto::attach{"chat", 0, 0});
    browser.read_until<proto::attached>();
    {
        ws_client agent(relay.port());
        proto::hello hello;
        hello.client_id = "agent-1";
        hello.agent = "writer";
        agent.send(hello);
        agent.read_until<proto::welcome>();
        agent.send(proto::attach{"chat", 0, 0});
        agent.send(proto::publish{"chat", "agent-1", 1, "message.start", "m1", {}});
        agent.read_until<proto::ack>();
        agent.close();  // mid-answer
    }
    browser.send(proto::control{"chat", "ui", 1, "cancel", "", {}});
    // agent.attached, message.start, control.cancel (resolved to m1), then after the lease:
    // message.end agent_lost, the cancel's outcome (too_late), agent.detached.
    std::vector<proto::event> events;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (events.size() < 6 && std::chrono::steady_clock::now() < deadline) {
        auto batch = browser.read_until<proto::event_batch>();
        for (auto& e : batch.events) events.push_back(std::move(e));
    }
    ASSERT_EQ(events.size(), 6u);
    EXPECT_EQ(events[0].kind, "agent.attached");
    EXPECT_EQ(events[2].kind, "control.cancel");
    EXPECT_EQ(events[2].msg_id, "m1");
    EXPECT_EQ(events[3].kind, "message.end");
    EXPECT_EQ(events[3].producer_id, "relay");
    EXPECT_GE(events[3].ts, events[1].ts + 300) << "not before the lease ran out (the close came after the start)";
    EXPECT_EQ(events[4].kind, "control.outcome");
    EXPECT_EQ(events[5].kind, "agent.detached");
    EXPECT_EQ(metric(relay.port(), "holdfast_agents_lost_total"), 1u);
    const std::string body = http_call(relay.port(), http::verb::get, "/metrics").body;
    EXPECT_NE(body.find("holdfast_controls_total{outcome=\"too_late\"} 1\n"), std::string::npos) << body;
    browser.close();
}

TEST_F(loopback_test, oversized_message_closes_only_that_connection) {
    relay_config limits;
    limits.max_frame_bytes = 4096;
    running_relay relay(dir_ / "relay.db", limits);
    ws_client big(relay.port());
    ws_client small(relay.port());
    greet(big);
    EXPECT_EQ(greet(small).limits.max_frame_bytes, 4096u);
    proto::publish huge{"s", "", 0, "k", "", proto::raw_value{json::to_msgpack("\"" + std::string(8192, 'x') + "\"").value()}};
    // The relay refuses the frame from its header and closes at once, so the write itself may
    // already fail (EPIPE) before the close is read: either way the link must be gone.
    try {
        big.send(huge);
    } catch (const std::runtime_error&) {
    }
    EXPECT_THROW(big.read(), std::runtime_error);  // closed by the relay
    small.send(proto::ping{7});
    EXPECT_EQ(small.read_until<proto::pong>().nonce, 7u);
    auto metrics = http_call(relay.port(), http::verb::get, "/metrics");
    EXPECT_NE(metrics.body.find("\nholdfast_frames_rejected_total 1\n"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("\nholdfast_open_connections 1\n"), std::string::npos) << metrics.body;
    auto too_big = http_call(relay.port(), http::verb::post, "/v1/sessions/s/events",
                             R"({"kind":"k","payload":")" + std::string(8192, 'x') + "\"}");
    EXPECT_EQ(too_big.status, 413u) << too_big.body;
    small.close();
}

TEST_F(loopback_test, stopping_closes_open_websockets_with_going_away) {
    running_relay relay(dir_ / "relay.db");
    ws_client c(relay.port());
    greet(c);
    relay.stop();
    EXPECT_THROW(c.read(), std::runtime_error);
    EXPECT_EQ(c.close_reason().code, static_cast<std::uint16_t>(websocket::close_code::going_away));
}

TEST_F(loopback_test, static_files_and_not_found) {
    running_relay relay(dir_ / "relay.db");
    {
        std::ofstream(dir_ / "web" / "index.html") << "<!doctype html>";
    }
    auto index = http_call(relay.port(), http::verb::get, "/");
    EXPECT_EQ(index.status, 200u);
    EXPECT_EQ(index.body, "<!doctype html>");
    EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
    auto missing = http_call(relay.port(), http::verb::get, "/nope.js");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_NE(missing.body.find("\"error\""), std::string::npos);
}

TEST_F(loopback_test, static_files_carry_an_etag_and_a_matching_revalidation_gets_304_without_a_body) {
    running_relay relay(dir_ / "relay.db");
    {
        std::ofstream(dir_ / "sdk" / "holdfast_core.wasm", std::ios::binary) << std::string("\0asm\1\0\0\0", 8);
    }
    auto first = http_call(relay.port(), http::verb::get, "/sdk/holdfast_core.wasm");
    ASSERT_EQ(first.status, 200u);
    EXPECT_EQ(first.body.size(), 8u);
    ASSERT_FALSE(first.etag.empty());
    EXPECT_EQ(first.etag.front(), '"');
    EXPECT_EQ(first.cache_control, "no-cache") << "cached, but revalidated on every use";

    auto again = http_call(relay.port(), http::verb::get, "/sdk/holdfast_core.wasm", {}, first.etag);
    EXPECT_EQ(again.status, 304u);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(again.etag, first.etag);
    EXPECT_EQ(http_call(relay.port(), http::verb::get, "/sdk/holdfast_core.wasm", {}, "\"other\", W/" + first.etag).status, 304u)
        << "a list, and a weak tag, match too";

    // A new build of the file: the old tag no longer matches and the new bytes come back.
    std::filesystem::last_write_time(dir_ / "sdk" / "holdfast_core.wasm",
                                     std::filesystem::last_write_time(dir_ / "sdk" / "holdfast_core.wasm") + std::chrono::seconds(5));
    auto changed = http_call(relay.port(), http::verb::get, "/sdk/holdfast_core.wasm", {}, first.etag);
    EXPECT_EQ(changed.status, 200u);
    EXPECT_EQ(changed.body.size(), 8u);
    EXPECT_NE(changed.etag, first.etag);
    EXPECT_EQ(http_call(relay.port(), http::verb::get, "/v1/sessions", {}, "*").cache_control, "no-store")
        << "API answers are never cached";
}

} // namespace
} // namespace holdfast::relay::testing
