// redis_store against a real redis-server: the URL, the store contract, and the producer rules as
// the append script applies them (the relay core trusts it for serials and dedup). Layer: tests
// (redis).
#include "redis_fixture.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/relay/redis_store.hpp"
#include "holdfast/relay/relay_core.hpp"

#include <gtest/gtest.h>
#include <map>
#include <unistd.h>
#include <vector>

namespace holdfast::redis_tests {
namespace {

using relay::redis_store;
using relay::stored_event;

TEST(redis_url, parses_host_port_db_and_retention) {
    auto a = relay::parse_redis_url("redis://10.0.0.5:6380/3?retain_events=500");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "10.0.0.5");
    EXPECT_EQ(a->port, 6380);
    EXPECT_EQ(a->db, 3u);
    EXPECT_EQ(a->retain_events, 500u);
    auto defaults = relay::parse_redis_url("redis://");
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->host, "127.0.0.1");
    EXPECT_EQ(defaults->port, 6379);
    EXPECT_EQ(defaults->db, 0u);
    EXPECT_EQ(defaults->retain_events, 1'000'000u);
}

TEST(redis_url, refuses_bad_parts_with_a_store_failure_naming_them) {
    for (const char* bad : {"http://x", "redis://h:0/0", "redis://h:70000/0", "redis://h:1/x", "redis://h:1/0?ttl=5",
                            "redis://h:1/0?retain_events=abc"}) {
        auto parsed = relay::parse_redis_url(bad);
        ASSERT_FALSE(parsed) << bad;
        EXPECT_EQ(parsed.err().code, errc::store_failure) << bad;
        EXPECT_FALSE(parsed.err().detail.empty());
    }
}

TEST(redis_url, channel_names_round_trip_to_their_session) {
    EXPECT_EQ(relay::session_of_channel(relay::redis_channel("chat-1")), "chat-1");
    EXPECT_EQ(relay::session_of_channel("hf:{x}:log"), "");
    EXPECT_EQ(relay::session_of_channel("other"), "");
}

class redis_store_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("holdfast-redis-store-" + std::to_string(::getpid()) + "-" +
                                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
        redis_ = std::make_unique<redis_fixture>(dir_);
        auto address = relay::parse_redis_url(redis_->url());
        auto opened = redis_store::open(address.value(), [] { return std::uint64_t{4242}; });
        ASSERT_TRUE(opened) << opened.err().detail;
        store_ = std::move(opened).value();
    }
    void TearDown() override {
        store_.reset();
        redis_.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    static stored_event event(std::string producer, std::uint64_t epoch, std::uint64_t seq, std::string kind = "k") {
        stored_event e;
        e.event.ts = 7;
        e.event.producer_id = std::move(producer);
        e.event.kind = std::move(kind);
        e.event.msg_id = "m";
        e.event.agent = "a";
        e.event.payload.bytes = std::string("\xa1x\0y", 4);  // binary-safe: an embedded NUL
        e.producer_epoch = epoch;
        e.producer_seq = seq;
        return e;
    }

    std::filesystem::path dir_;
    std::unique_ptr<redis_fixture> redis_;
    std::unique_ptr<redis_store> store_;
};

TEST_F(redis_store_test, creates_once_assigns_consecutive_serials_and_reads_events_back_exactly) {
    auto none = store_->load("s");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none.value());
    auto created = store_->create("s");
    ASSERT_TRUE(created);
    EXPECT_EQ(created->epoch, 4242u);
    EXPECT_EQ(created->head_serial, 0u);
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        auto assigned = store_->append_assigning("s", event("p", 1, seq));
        ASSERT_TRUE(assigned) << assigned.err().detail;
        EXPECT_EQ(assigned->serial, seq);
        EXPECT_FALSE(assigned->duplicate);
    }
    auto events = store_->read("s", 1, 10);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 2u);
    EXPECT_EQ((*events)[0].serial, 2u);
    EXPECT_EQ((*events)[0].payload.bytes, std::string("\xa1x\0y", 4));
    EXPECT_EQ((*events)[0].producer_id, "p");
    EXPECT_EQ((*events)[0].agent, "a");
    EXPECT_EQ((*events)[0].ts, 7u);
    EXPECT_EQ(store_->load("s").value()->head_serial, 3u);
    auto position = store_->producer_state("s", "p");
    ASSERT_TRUE(position && position.value());
    EXPECT_EQ(*position.value(), (relay::producer_position{1, 3}));
    EXPECT_EQ(store_->find_producer("s", "p", 1, 2).value(), std::optional<std::uint64_t>{2});
}

TEST_F(redis_store_test, applies_the_producer_rules_in_the_append_script) {
    ASSERT_TRUE(store_->create("s"));
    ASSERT_EQ(store_->append_assigning("s", event("p", 5, 1))->serial, 1u);
    ASSERT_EQ(store_->append_assigning("s", event("q", 1, 1))->serial, 2u);
    // A retry answers the first serial and appends nothing.
    auto retry = store_->append_assigning("s", event("p", 5, 1));
    ASSERT_TRUE(retry);
    EXPECT_EQ(retry->serial, 1u);
    EXPECT_TRUE(retry->duplicate);
    // A skipped sequence, an older epoch, a sequence never stored: typed errors, nothing written.
    EXPECT_EQ(store_->append_assigning("s", event("p", 5, 3)).err().code, errc::sequence_gap);
    EXPECT_EQ(store_->append_assigning("s", event("p", 4, 9)).err().code, errc::stale_epoch);
    ASSERT_EQ(store_->append_assigning("s", event("q", 2, 10))->serial, 3u);  // a new incarnation starts anywhere
    EXPECT_EQ(store_->append_assigning("s", event("q", 2, 4)).err().code, errc::sequence_gap);
    // Unsequenced events (the relay's own) always append.
    EXPECT_EQ(store_->append_assigning("s", event("relay", 0, 0))->serial, 4u);
    EXPECT_EQ(store_->append_assigning("s", event("relay", 0, 0))->serial, 5u);
    EXPECT_EQ(store_->load("s").value()->head_serial, 5u);
    // Epochs and sequences Lua cannot hold exactly are refused before reaching Redis.
    EXPECT_EQ(store_->append_assigning("s", event("p", std::uint64_t{1} << 53, 1)).err().code, errc::limit_exceeded);
    // Appending to a session never created is refused.
    EXPECT_EQ(store_->append_assigning("nope", event("p", 1, 1)).err().code, errc::store_failure);
}

TEST_F(redis_store_test, a_trimmed_stream_reports_its_first_retained_serial) {
    ASSERT_TRUE(store_->create("s"));
    EXPECT_EQ(store_->first_retained("s").value(), 1u);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->append_assigning("s", event("", 0, 0)));
    redis_->cli("XTRIM 'hf:{s}:log' MAXLEN 5");
    EXPECT_EQ(store_->first_retained("s").value(), 16u);
    auto events = store_->read("s", 0, 100);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 5u);
    EXPECT_EQ(events->front().serial, 16u);
}

TEST_F(redis_store_test, redis_down_is_a_store_failure_and_unhealthy_until_it_returns) {
    ASSERT_TRUE(store_->create("s"));
    ASSERT_TRUE(store_->append_assigning("s", event("p", 1, 1)));
    redis_->stop();
    EXPECT_FALSE(store_->healthy());
    auto refused = store_->append_assigning("s", event("p", 1, 2));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.err().code, errc::store_failure);
    redis_->restart();  // same port; the AOF brings the session back (scripts are loaded again)
    bool healthy = false;
    for (int i = 0; i < 50 && !healthy; ++i) {
        healthy = store_->healthy();
        if (!healthy) ::usleep(50'000);
    }
    ASSERT_TRUE(healthy);
    auto after = store_->append_assigning("s", event("p", 1, 2));
    ASSERT_TRUE(after) << after.err().detail;
    EXPECT_EQ(after->serial, 2u);
    EXPECT_EQ(store_->load("s").value()->epoch, 4242u);
}

TEST_F(redis_store_test, presence_keys_lapse_unless_renewed) {
    ASSERT_TRUE(store_->keep_present({"p1", "\nagent"}, 200));
    auto now = store_->present({"p1", "\nagent", "p2"});
    ASSERT_TRUE(now);
    EXPECT_EQ(now.value(), (std::vector<bool>{true, true, false}));
    ::usleep(400'000);
    EXPECT_EQ(store_->present({"p1"}).value(), (std::vector<bool>{false}));
}

// Another node appended to a followed session and this node has not heard of it yet. A connection
// attaches that session inside a bundle: the attach catches the session up (a fan-out, held while
// the bundle runs), the attacher's replay reads the same events and makes it live; the held
// fan-out must then reach only the subscribers that were live before, not the attacher again.
TEST_F(redis_store_test, an_attach_inside_a_bundle_gets_what_it_caught_up_once) {
    relay::relay_config config;
    std::uint64_t now = 1'700'000'000'000;
    relay::relay_core core(*store_, config, [&] { return ++now; });
    auto address = relay::parse_redis_url(redis_->url());
    auto other = redis_store::open(address.value(), [] { return std::uint64_t{4242}; });
    ASSERT_TRUE(other);

    core.on_open(2);
    core.on_frame(2, proto::encode(proto::hello{proto::protocol_version, "", "b", ""}));
    core.on_frame(2, proto::encode(proto::attach{"s", 0, 0}));  // live on "s", which it creates
    (void)core.take_outputs();
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        stored_event e = event("w", 1, seq);
        e.event.payload.bytes = "\xc0";  // nil: a valid payload
        ASSERT_TRUE(other.value()->append_assigning("s", e));
    }

    core.on_open(1);
    auto message = proto::bundle_frames({proto::encode(proto::hello{proto::protocol_version, "", "a", ""}),
                                         proto::encode(proto::attach{"s", 0, 0})});
    ASSERT_EQ(message.size(), 1u);
    core.on_frame(1, message[0]);
    std::map<relay::connection_id, std::vector<std::uint64_t>> serials;
    for (const auto& out : core.take_outputs()) {
        if (!out.frame) continue;
        auto decoded = proto::decode_message(*out.frame);
        ASSERT_TRUE(decoded);
        for (auto& f : decoded.value()) {
            if (const auto* batch = f ? std::get_if<proto::event_batch>(&f.value()) : nullptr) {
                for (const auto& e : batch->events) serials[out.connection].push_back(e.serial);
            }
        }
    }
    EXPECT_EQ(serials[1], (std::vector<std::uint64_t>{1, 2, 3})) << "each serial once";
    EXPECT_EQ(serials[2], (std::vector<std::uint64_t>{1, 2, 3}));
}

} // namespace
} // namespace holdfast::redis_tests
