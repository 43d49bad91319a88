// Paced replay and the slow-consumer bound, decided in relay_core and driven directly: a test
// plays the shell, holding each connection's frames and reporting them written (on_sent) when it
// chooses. Layer: tests (relay, sans-I/O).
#include "relay_test_support.hpp"

#include <deque>

namespace holdfast::relay::testing {
namespace {

/// One connection as the shell would hold it: frames queued in order, written when drained.
struct peer {
    std::deque<std::uint64_t> unwritten;  // frame sizes, oldest first
    std::vector<proto::frame> received;   // decoded, in order (as the client would read them)
    std::optional<close_directive> closed;
};

class paced_core : public relay_core_fixture {
protected:
    static relay_config paced_config() {
        relay_config c = config();  // 64 KiB frames
        c.max_batch_events = 100;
        c.replay_window_batches = 4;
        return c;
    }
    explicit paced_core(relay_config c = paced_config()) : relay_core_fixture(c) {}

    /// Moves the core's outputs into the peers.
    void collect() {
        for (outbound& out : core_.take_outputs()) {
            peer& p = peers_[out.connection];
            EXPECT_FALSE(p.closed.has_value()) << "output to connection " << out.connection << " after its close";
            if (out.frame) {
                p.unwritten.push_back(out.frame->size());
                auto decoded = proto::decode(*out.frame);
                EXPECT_TRUE(decoded.has_value());
                if (decoded) p.received.push_back(std::move(decoded).value());
            }
            if (out.close) p.closed = out.close;
        }
    }

    /// Reports up to `frames` of `id`'s oldest frames written; returns how many were.
    std::size_t drain(connection_id id, std::size_t frames = SIZE_MAX) {
        std::size_t done = 0;
        while (done < frames && !peers_[id].unwritten.empty()) {
            const std::uint64_t size = peers_[id].unwritten.front();
            peers_[id].unwritten.pop_front();
            core_.on_sent(id, size);
            collect();
            ++done;
        }
        return done;
    }

    void open(connection_id id) {
        connect(id);
        core_.on_sent(id, core_.queued_bytes(id));  // the welcome is written
        peers_[id] = peer{};
    }
    template <class Frame>
    void input(connection_id id, const Frame& f) {
        core_.on_frame(id, proto::encode(f));
        collect();
    }
    void publish_live(std::uint64_t seq) {
        input(1, proto::publish{"big", "writer", seq, "message.delta", "m", json_payload(R"({"text":"live"})")});
        drain(1);
    }

    /// Serials of every event `id` received, in order, and the number of events frames.
    std::vector<std::uint64_t> serials(connection_id id) const {
        std::vector<std::uint64_t> out;
        for (const auto& f : peers_.at(id).received) {
            if (auto* batch = std::get_if<proto::event_batch>(&f)) {
                for (const auto& e : batch->events) out.push_back(e.serial);
            }
        }
        return out;
    }
    std::size_t batches(connection_id id) const {
        std::size_t n = 0;
        for (const auto& f : peers_.at(id).received) n += std::holds_alternative<proto::event_batch>(f);
        return n;
    }

    void fill(const std::string& session, std::uint64_t count) {
        ASSERT_TRUE(store_.create(session).has_value());
        for (std::uint64_t serial = 1; serial <= count; ++serial) {
            stored_event e;
            e.event = proto::event{serial, serial, "", "message.delta", "m", "", json_payload(R"({"text":"old"})")};
            ASSERT_TRUE(store_.append(session, e).has_value());
        }
    }

    static std::vector<std::uint64_t> one_to(std::uint64_t n) {
        std::vector<std::uint64_t> out(n);
        for (std::uint64_t i = 0; i < n; ++i) out[i] = i + 1;
        return out;
    }

    std::map<connection_id, peer> peers_;
};

TEST_F(paced_core, a_long_replay_is_released_window_by_window_and_joins_live_without_gap_or_repeat) {
    constexpr std::uint64_t history = 10'000;
    fill("big", history);
    open(1);
    open(2);
    input(2, proto::attach{"big", 0, 0});
    ASSERT_FALSE(peers_[2].received.empty());
    auto* attached = std::get_if<proto::attached>(&peers_[2].received.front());
    ASSERT_NE(attached, nullptr);
    EXPECT_EQ(attached->head_serial, history);
    EXPECT_EQ(batches(2), 4u) << "only the window before any drain";
    EXPECT_EQ(serials(2), std::vector<std::uint64_t>(one_to(400)));
    EXPECT_EQ(core_.metrics().replay_batches_total, 4u);

    // Live appends while it replays are not sent live to it...
    std::uint64_t seq = 0;
    publish_live(++seq);
    EXPECT_EQ(batches(2), 4u);
    // ...the window refills one batch per batch written (the `attached` frame frees no slot)...
    drain(2, 1);
    EXPECT_EQ(batches(2), 4u);
    drain(2, 1);
    EXPECT_EQ(batches(2), 5u);

    // ...and the rest follows as it drains, with more live appends along the way.
    std::size_t rounds = 0;
    while (drain(2, 3) > 0) {
        if (++rounds % 7 == 0) publish_live(++seq);
        ASSERT_LT(rounds, 10'000u);
    }
    EXPECT_EQ(serials(2), one_to(history + seq)) << "every serial once, in order, live ones after the replay";
    EXPECT_GE(core_.metrics().replay_batches_total, history / 100);

    // Caught up: the next append arrives live, alone, at once.
    const std::size_t before = batches(2);
    publish_live(++seq);
    EXPECT_EQ(batches(2), before + 1);
    EXPECT_EQ(serials(2).back(), history + seq);
}

TEST_F(paced_core, an_attach_at_the_head_is_live_at_once_and_a_reattach_replays_again) {
    fill("big", 10);
    open(1);
    open(2);
    input(2, proto::attach{"big", 10, 0});
    EXPECT_EQ(batches(2), 0u);
    publish_live(1);
    EXPECT_EQ(serials(2), std::vector<std::uint64_t>{11});
    input(2, proto::attach{"big", 8, 0});
    EXPECT_EQ(serials(2), (std::vector<std::uint64_t>{11, 9, 10, 11}));
}

TEST_F(paced_core, a_second_attach_from_further_on_does_not_cut_short_a_replay_under_way) {
    // Two tabs of one browser attach over their leader's connection, each from its own position:
    // the first from 0, the second from the head. The first tab must still get every serial (the
    // second attach used to move the connection's one cursor for the session to the head, so the
    // replay stopped after the batches already queued).
    fill("big", 1000);  // ten batches of 100; the window queues four
    open(1);
    open(2);
    input(2, proto::attach{"big", 0, 0});
    ASSERT_LT(serials(2).size(), 1000u) << "the replay is under way, not done";
    input(2, proto::attach{"big", 1000, 0});
    drain(2);
    EXPECT_EQ(serials(2), one_to(1000)) << "the replay continued from where it stood";
    publish_live(1);
    EXPECT_EQ(serials(2).back(), 1001u) << "and joined the live stream";
    // The other order: an attach at the head (live at once), then one from 0, replays it all.
    open(3);
    input(3, proto::attach{"big", 1001, 0});
    input(3, proto::attach{"big", 0, 0});
    drain(3);
    EXPECT_EQ(serials(3), one_to(1001));
}

TEST_F(paced_core, replay_batches_stay_near_max_frame_bytes) {
    open(2);
    ASSERT_TRUE(store_.create("wide").has_value());
    const std::string text(20'000, 'x');  // 4 events per 64 KiB frame (the fixture's limit)
    for (std::uint64_t serial = 1; serial <= 20; ++serial) {
        stored_event e;
        e.event = proto::event{serial, serial, "", "k", "", "", json_payload("\"" + text + "\"")};
        ASSERT_TRUE(store_.append("wide", e).has_value());
    }
    input(2, proto::attach{"wide", 0, 0});
    while (drain(2) > 0) {
    }
    EXPECT_EQ(serials(2), one_to(20));
    for (const auto& f : peers_[2].received) {
        if (auto* batch = std::get_if<proto::event_batch>(&f)) {
            EXPECT_LE(proto::encode(*batch).size(), config().max_frame_bytes);
        }
    }
}

class bounded_core : public paced_core {
protected:
    static relay_config bounded_config() {
        relay_config c = paced_config();
        c.max_queued_bytes = 16 * 1024;
        return c;
    }
    bounded_core() : paced_core(bounded_config()) {}
};

TEST_F(bounded_core, a_consumer_that_never_drains_is_closed_and_the_others_keep_everything) {
    open(1);  // publisher, drained
    open(2);  // never drains
    open(3);  // drains after every input
    input(2, proto::attach{"s", 0, 0});
    input(3, proto::attach{"s", 0, 0});
    drain(3);
    const std::string text(1000, 'y');
    std::uint64_t closed_at = 0;
    for (std::uint64_t seq = 1; seq <= 100; ++seq) {
        input(1, proto::publish{"s", "writer", seq, "message.delta", "m", json_payload("\"" + text + "\"")});
        drain(1);
        drain(3);
        if (peers_[2].closed && closed_at == 0) closed_at = seq;
    }
    ASSERT_NE(closed_at, 0u);
    const close_directive how = *peers_[2].closed;
    EXPECT_EQ(how.code, 4008);
    EXPECT_EQ(how.reason, "slow_consumer");
    EXPECT_TRUE(how.drop_unsent);
    auto* last = std::get_if<proto::error_frame>(&peers_[2].received.back());
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->code, static_cast<std::uint32_t>(errc::slow_consumer));
    // It got a gap-free prefix, never more than the bound (plus the error) queued.
    EXPECT_EQ(serials(2), one_to(closed_at - 1));
    std::uint64_t queued = 0;
    for (auto size : peers_[2].unwritten) queued += size;
    EXPECT_LE(queued, 16u * 1024 + 200);

    EXPECT_EQ(serials(3), one_to(100)) << "the other subscriber is unaffected";
    EXPECT_FALSE(peers_[3].closed.has_value());
    EXPECT_FALSE(peers_[1].closed.has_value());
    EXPECT_EQ(core_.metrics().slow_consumer_closes_total, 1u);

    // Until the shell reports it gone, the closing connection's frames are ignored.
    input(2, proto::ping{1});
    EXPECT_TRUE(std::holds_alternative<proto::error_frame>(peers_[2].received.back()));
    core_.on_close(2);
    EXPECT_EQ(core_.metrics().open_connections, 2u);
}

TEST_F(bounded_core, an_idle_consumer_takes_a_frame_bigger_than_the_bound_but_not_two) {
    open(1);
    open(2);
    input(2, proto::attach{"s", 0, 0});
    drain(2);
    const std::string text(20'000, 'z');
    input(1, proto::publish{"s", "writer", 1, "k", "", json_payload("\"" + text + "\"")});
    drain(1);
    EXPECT_EQ(serials(2), std::vector<std::uint64_t>{1});
    EXPECT_FALSE(peers_[2].closed.has_value());
    input(1, proto::publish{"s", "writer", 2, "k", "", json_payload("\"" + text + "\"")});
    ASSERT_TRUE(peers_[2].closed.has_value());
    EXPECT_EQ(peers_[2].closed->code, 4008);
}

TEST_F(bounded_core, replies_count_too_a_client_that_pings_without_reading_is_closed) {
    open(1);
    for (std::uint64_t i = 0; i < 2000 && !peers_[1].closed; ++i) input(1, proto::ping{i});
    ASSERT_TRUE(peers_[1].closed.has_value());
    EXPECT_EQ(peers_[1].closed->code, 4008);
}

/// A memory store whose reads can be made to fail.
class flaky_store final : public store {
public:
    result<std::optional<session_info>> load(std::string_view s) override { return inner.load(s); }
    result<session_info> create(std::string_view s) override { return inner.create(s); }
    result<std::optional<producer_position>> producer_state(std::string_view s, std::string_view p) override {
        return inner.producer_state(s, p);
    }
    result<std::optional<std::uint64_t>> find_producer(std::string_view s, std::string_view p, std::uint64_t e,
                                                       std::uint64_t q) override {
        return inner.find_producer(s, p, e, q);
    }
    result<ok_t> append(std::string_view s, const stored_event& e) override { return inner.append(s, e); }
    result<std::vector<proto::event>> read(std::string_view s, std::uint64_t after, std::size_t limit) override {
        if (fail_reads) return make_error(errc::store_failure, "disk on fire");
        return inner.read(s, after, limit);
    }
    memory_store inner;
    bool fail_reads = false;
};

TEST(replay_store_failure, closes_the_connection_with_an_error_so_it_resumes_elsewhere) {
    flaky_store store;
    relay_config config;
    config.max_batch_events = 2;
    config.replay_window_batches = 1;
    relay_core core(store, config);
    for (std::uint64_t i = 1; i <= 6; ++i) {
        append_input in;
        in.session = "s";
        in.kind = "k";
        ASSERT_TRUE(core.append_http(in).has_value());
    }
    core.on_open(1);
    core.on_frame(1, proto::encode(proto::hello{}));
    core.on_frame(1, proto::encode(proto::attach{"s", 0, 0}));
    auto first = decode_outputs(core.take_outputs());
    EXPECT_EQ(first.of_type<proto::event_batch>(1).size(), 1u);
    store.fail_reads = true;
    core.on_sent(1, first.bytes[1]);
    auto failed = decode_outputs(core.take_outputs());
    ASSERT_TRUE(failed.closed.contains(1));
    EXPECT_EQ(failed.closed[1].code, 1011);
    auto errors = failed.of_type<proto::error_frame>(1);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, static_cast<std::uint32_t>(errc::store_failure));
    EXPECT_EQ(errors[0].session, "s");
    EXPECT_EQ(core.metrics().live_sessions, 0u);
}

} // namespace
} // namespace holdfast::relay::testing
