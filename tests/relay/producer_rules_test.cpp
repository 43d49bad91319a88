// The Kafka-style producer rules of relay_core, driven directly: a new producer starts anywhere,
// a retry gets its first serial back, the next sequence appends, a skip is a gap, an older epoch
// is fenced, a newer one starts over; controls share the series; all of it across a restart on
// SQLite. Layer: tests (relay, sans-I/O).
#include "relay_test_support.hpp"

#include "holdfast/relay/http_api.hpp"
#include "holdfast/relay/sqlite_store.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <unistd.h>

namespace holdfast::relay::testing {
namespace {

using producer_rules = relay_core_fixture;

constexpr std::uint64_t epoch_a = 1'700'000'000'000;  // producer epochs are start times in ms
constexpr std::uint64_t epoch_b = 1'700'000'000'500;

std::uint32_t code(errc e) { return static_cast<std::uint32_t>(e); }

/// The single ack or error a publish got on `id`.
struct answer {
    std::optional<proto::ack> ack;
    std::optional<proto::error_frame> error;
};
answer answer_of(drained& out, connection_id id) {
    answer a;
    auto acks = out.of_type<proto::ack>(id);
    auto errors = out.of_type<proto::error_frame>(id);
    EXPECT_EQ(acks.size() + errors.size(), 1u);
    if (!acks.empty()) a.ack = acks[0];
    if (!errors.empty()) a.error = errors[0];
    return a;
}
std::uint64_t serial_of(drained out, connection_id id) {
    auto a = answer_of(out, id);
    EXPECT_TRUE(a.ack.has_value()) << (a.error ? a.error->message : "");
    return a.ack ? a.ack->serial : 0;
}
proto::error_frame error_of(drained out, connection_id id) {
    auto a = answer_of(out, id);
    EXPECT_TRUE(a.error.has_value()) << "acked with serial " << (a.ack ? a.ack->serial : 0);
    return a.error.value_or(proto::error_frame{});
}

TEST_F(producer_rules, a_new_producer_starts_at_any_sequence_then_counts_up) {
    connect(1);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 7), 1), 1u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 8), 1), 2u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 9), 1), 3u);
    // Each session has its own series: the same producer is new in another session.
    EXPECT_EQ(serial_of(publish_as(1, "t", "p", epoch_a, 1), 1), 1u);
}

TEST_F(producer_rules, a_retry_gets_the_first_serial_and_appends_nothing) {
    connect(1);
    connect(2);
    send(2, proto::attach{"s", 0, 0});
    publish_as(1, "s", "p", epoch_a, 1);
    publish_as(1, "s", "other", epoch_a, 1);
    publish_as(1, "s", "p", epoch_a, 2);
    const auto appended = core_.metrics().events_appended_total;
    auto retry = publish_as(1, "s", "p", epoch_a, 1);
    EXPECT_EQ(serial_of(retry, 1), 1u);
    EXPECT_TRUE(retry.to(2).empty()) << "a duplicate is not fanned out again";
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 2), 1), 3u);
    EXPECT_EQ(core_.metrics().events_appended_total, appended);
    EXPECT_EQ(core_.metrics().appends_deduplicated_total, 2u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 3), 1), 4u);
}

TEST_F(producer_rules, a_skipped_sequence_is_a_gap_naming_the_expected_one) {
    connect(1);
    publish_as(1, "s", "p", epoch_a, 1);
    publish_as(1, "s", "p", epoch_a, 2);
    auto gap = error_of(publish_as(1, "s", "p", epoch_a, 4), 1);
    EXPECT_EQ(gap.code, code(errc::sequence_gap));
    EXPECT_EQ(gap.message, "expected 3");
    EXPECT_EQ(gap.session, "s");
    EXPECT_EQ(gap.producer_seq, 4u);
    EXPECT_EQ(core_.read_events("s", 0, 10)->head_serial, 2u) << "nothing appended";
    EXPECT_EQ(core_.metrics().sequence_gaps_total, 1u);
    // The producer fills the gap and goes on.
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 3), 1), 3u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_a, 4), 1), 4u);
}

TEST_F(producer_rules, an_older_epoch_is_fenced_and_a_newer_one_starts_over) {
    connect(1);
    connect(2);
    send(2, proto::attach{"s", 0, 0});
    publish_as(1, "s", "p", epoch_a, 1);
    publish_as(1, "s", "p", epoch_a, 2);
    // The restarted producer (later start time) may begin at any sequence: here 1 again.
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_b, 1), 1), 3u);
    // The zombie of the first incarnation is fenced, for new and for already-acked sequences.
    for (std::uint64_t seq : {3u, 1u}) {
        auto fenced = publish_as(1, "s", "p", epoch_a, seq);
        EXPECT_TRUE(fenced.to(2).empty());
        auto e = error_of(std::move(fenced), 1);
        EXPECT_EQ(e.code, code(errc::stale_epoch));
        EXPECT_EQ(e.session, "s");
        EXPECT_EQ(e.producer_seq, seq);
    }
    EXPECT_EQ(core_.metrics().appends_fenced_total, 2u);
    EXPECT_EQ(core_.read_events("s", 0, 10)->head_serial, 3u);
    // The new incarnation's series goes on; its own retry still deduplicates.
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_b, 2), 1), 4u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "p", epoch_b, 1), 1), 3u);
}

TEST_F(producer_rules, a_sequence_below_where_the_epoch_started_is_a_gap_not_a_duplicate) {
    connect(1);
    publish_as(1, "s", "p", epoch_a, 5);
    auto e = error_of(publish_as(1, "s", "p", epoch_a, 3), 1);
    EXPECT_EQ(e.code, code(errc::sequence_gap));
    EXPECT_NE(e.message.find("never appended"), std::string::npos) << e.message;
}

TEST_F(producer_rules, controls_and_publishes_share_one_series) {
    connect(1);
    auto control = [&](std::uint64_t seq, std::uint64_t epoch = epoch_a) {
        proto::control c{"s", "ui", seq, "cancel", "msg-1", {}};
        c.producer_epoch = epoch;
        return send(1, c);
    };
    // Each control names no open message, so the relay's control.outcome (rejected) follows it.
    EXPECT_EQ(serial_of(publish_as(1, "s", "ui", epoch_a, 1), 1), 1u);
    EXPECT_EQ(serial_of(control(2), 1), 2u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "ui", epoch_a, 3), 1), 4u);
    EXPECT_EQ(serial_of(control(2), 1), 2u) << "a retried control gets its serial";
    EXPECT_EQ(error_of(control(5), 1).code, code(errc::sequence_gap));
    EXPECT_EQ(error_of(control(4, epoch_a - 1), 1).code, code(errc::stale_epoch));
    EXPECT_EQ(serial_of(control(4), 1), 5u);
    EXPECT_EQ(core_.read_events("s", 0, 10)->events.at(4).kind, "control.cancel");
    EXPECT_EQ(core_.read_events("s", 0, 10)->events.size(), 6u) << "the retry added no second outcome";
}

TEST_F(producer_rules, sequence_zero_and_values_past_2_pow_63_are_refused) {
    connect(1);
    EXPECT_EQ(error_of(publish_as(1, "s", "p", epoch_a, 0), 1).code, code(errc::missing_field));
    EXPECT_EQ(error_of(publish_as(1, "s", "p", epoch_a, std::uint64_t{1} << 63), 1).code,
              code(errc::limit_exceeded));
    EXPECT_EQ(error_of(publish_as(1, "s", "p", std::uint64_t{1} << 63, 1), 1).code, code(errc::limit_exceeded));
    // Without a producer id nothing is sequenced: seq 0 is fine and every publish appends.
    EXPECT_EQ(serial_of(publish_as(1, "s", "", 0, 0), 1), 1u);
    EXPECT_EQ(serial_of(publish_as(1, "s", "", 0, 0), 1), 2u);
}

TEST_F(producer_rules, http_carries_producer_epoch_and_answers_conflicts_with_409) {
    http_api api(core_);
    auto post = [&](std::string body) { return api.handle("POST", "/v1/sessions/s/events", body).value(); };
    auto first = post(R"({"kind":"k","producerId":"cli","producerEpoch":2000,"producerSeq":1})");
    ASSERT_EQ(first.status, 200u) << first.body;
    auto retry = post(R"({"kind":"k","producerId":"cli","producerEpoch":2000,"producerSeq":1})");
    EXPECT_EQ(boost::json::parse(retry.body).at("serial"), boost::json::parse(first.body).at("serial"));
    auto gap = post(R"({"kind":"k","producerId":"cli","producerEpoch":2000,"producerSeq":3})");
    EXPECT_EQ(gap.status, 409u);
    EXPECT_EQ(boost::json::parse(gap.body).at("error").at("name").as_string(), "sequence_gap");
    auto stale = post(R"({"kind":"k","producerId":"cli","producerSeq":2})");  // producerEpoch defaults to 0
    EXPECT_EQ(stale.status, 409u);
    EXPECT_EQ(boost::json::parse(stale.body).at("error").at("name").as_string(), "stale_epoch");
    EXPECT_EQ(post(R"({"kind":"k","producerId":"cli","producerEpoch":-1,"producerSeq":2})").status, 400u);
    EXPECT_EQ(post(R"({"kind":"k","producerId":"cli"})").status, 400u) << "a producer id needs a sequence";
}

TEST(producer_rules_cache, hold_when_positions_are_evicted_and_reloaded) {
    memory_store store;
    relay_config config;
    config.producer_cache_entries = 1;  // every other producer comes from the store
    relay_core core(store, config);
    auto run = [&](std::string producer, std::uint64_t epoch, std::uint64_t seq) {
        append_input in;
        in.session = "s";
        in.kind = "k";
        in.producer_id = std::move(producer);
        in.producer_epoch = epoch;
        in.producer_seq = seq;
        return core.append_http(std::move(in));
    };
    EXPECT_EQ(run("a", 10, 1)->serial, 1u);
    EXPECT_EQ(run("b", 10, 1)->serial, 2u);
    EXPECT_EQ(run("a", 10, 2)->serial, 3u);
    EXPECT_EQ(run("b", 10, 3).err().code, errc::sequence_gap);
    EXPECT_EQ(run("a", 9, 3).err().code, errc::stale_epoch);
    EXPECT_EQ(run("b", 10, 1)->serial, 2u);
    EXPECT_TRUE(run("b", 10, 1)->duplicate);
}

/// The rules after a restart: a new relay_core over the reopened SQLite file loads each
/// producer's position the first time it shows up.
TEST(producer_rules_restart, survive_a_store_reopen) {
    namespace fs = std::filesystem;
    static std::atomic<int> counter{0};
    const fs::path dir = fs::temp_directory_path() /
                         ("holdfast-producers-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "relay.db").string();
    auto publish = [](relay_core& core, std::uint64_t epoch, std::uint64_t seq) {
        core.on_frame(1, proto::encode([&] {
                          proto::publish p{"s", "agent", seq, "message.delta", "m", {}};
                          p.producer_epoch = epoch;
                          return p;
                      }()));
        return decode_outputs(core.take_outputs());
    };
    auto open = [&](auto&& body) {
        auto store = sqlite_store::open(path);
        ASSERT_TRUE(store.has_value()) << store.err().detail;
        relay_core core(*store.value());
        core.on_open(1);
        core.on_frame(1, proto::encode(proto::hello{}));
        core.take_outputs();
        body(core);
    };
    open([&](relay_core& core) {
        EXPECT_EQ(serial_of(publish(core, epoch_a, 1), 1), 1u);
        EXPECT_EQ(serial_of(publish(core, epoch_a, 2), 1), 2u);
        EXPECT_EQ(serial_of(publish(core, epoch_b, 1), 1), 3u);  // the producer restarted once
    });
    open([&](relay_core& core) {
        EXPECT_EQ(serial_of(publish(core, epoch_b, 1), 1), 3u) << "an acked publish retried after the restart";
        EXPECT_EQ(error_of(publish(core, epoch_a, 3), 1).code, code(errc::stale_epoch)) << "still fenced";
        EXPECT_EQ(error_of(publish(core, epoch_a, 2), 1).code, code(errc::stale_epoch))
            << "even a retry of what the old incarnation had acked";
        EXPECT_EQ(error_of(publish(core, epoch_b, 3), 1).message, "expected 2");
        EXPECT_EQ(serial_of(publish(core, epoch_b, 2), 1), 4u);
    });
    fs::remove_all(dir);
}

} // namespace
} // namespace holdfast::relay::testing
