// Resume against scripted link faults: a scripted relay answers client_core's attaches from a
// model log, and each test injects one fault — a link dropped mid-replay, a duplicated batch,
// batches out of order, a hole in the live stream, a recreated log. Every case must end with the
// app having seen exactly the relay's log, in order, once (after the last reset, if any).
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"
#include "../support/update_json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <numeric>

namespace holdfast::client {
namespace {

proto::event make_event(std::uint64_t serial, std::string_view text) {
    return proto::event{serial, serial, "agent-p", "message.delta", "reply-1", "agent",
                        proto::raw_value{json::to_msgpack("{\"text\":\"" + std::string(text) + "\"}").value()}};
}

/// The relay's part, scripted: answers attaches from `log`, in batches, but hands the frames to
/// the test instead of delivering them, so the test decides what reaches the client and when.
struct scripted_relay {
    std::string session = "s";
    std::uint64_t epoch = 100;
    std::vector<proto::event> log;
    std::size_t batch_size = 4;

    void append(std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            const auto serial = log.size() + 1;
            log.push_back(make_event(serial, "t" + std::to_string(serial) + " "));
        }
    }
    std::string batch(std::uint64_t first, std::uint64_t last) const {
        proto::event_batch b{session, {}};
        for (auto s = first; s <= last; ++s) b.events.push_back(log.at(s - 1));
        return proto::encode(b);
    }
    /// Answers the client's frames; returns what the relay would send, in order.
    std::vector<std::string> answer(const std::vector<std::string>& from_client) const {
        std::vector<std::string> out;
        for (const auto& bytes : from_client) {
            auto f = proto::decode(bytes).value();
            if (auto* a = std::get_if<proto::attach>(&f)) {
                const std::uint64_t from = (a->epoch != 0 && a->epoch != epoch) ? 0 : a->from_serial;
                out.push_back(proto::encode(proto::attached{session, epoch, log.size()}));
                for (std::uint64_t s = from + 1; s <= log.size(); s += batch_size) {
                    out.push_back(batch(s, std::min<std::uint64_t>(s + batch_size - 1, log.size())));
                }
            }
        }
        return out;
    }
};

/// What the application saw, rebuilt from the JSON updates exactly as the JS glue would.
struct app_view {
    std::vector<std::uint64_t> serials;
    int resets = 0;
    std::string text;
    std::string state;
    holdfast::testing::event_reader reader;

    void take(client_core& core) {
        const std::string updates = core.take_updates_json();
        if (updates.empty()) return;
        const auto root = boost::json::parse(updates).as_object();
        std::size_t at = 0;  // into core.event_columns()
        for (const auto& entry : holdfast::testing::entries(root, "sessions")) {
            const auto& s = entry.as_object();
            if (holdfast::testing::flag(s, "reset")) {
                ++resets;
                serials.clear();
                text.clear();
            }
            state = s.at("state").as_string().c_str();
            for (const auto& ev : reader.event_objects(s, core.event_columns(), at)) serials.push_back(ev.at("serial").to_number<std::uint64_t>());
            for (const auto& m : holdfast::testing::entries(s, "messages")) holdfast::testing::apply_text(m.as_object(), text);
        }
    }
};

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> v(n);
    std::iota(v.begin(), v.end(), 1);
    return v;
}

std::string expected_text(const scripted_relay& relay) {
    std::string text;
    for (std::size_t s = 1; s <= relay.log.size(); ++s) text += "t" + std::to_string(s) + " ";
    return text;
}

struct harness {
    scripted_relay relay;
    client_core core{client_config{"c", "", "", 1, 1, {}, {}}};
    app_view app;

    harness() { (void)core.open_session("s"); }
    std::vector<std::string> connect() {
        core.on_transport_open();
        return relay.answer(core.take_frames());
    }
    void deliver(const std::string& frame) {
        core.on_frame(frame);
        app.take(core);
    }
    void deliver_all(const std::vector<std::string>& frames) {
        for (const auto& f : frames) deliver(f);
    }
    /// Whatever the client asks for (repairs) gets answered and delivered, until it is quiet.
    void settle() {
        for (int round = 0; round < 10; ++round) {
            auto asked = core.take_frames();
            if (asked.empty()) return;
            deliver_all(relay.answer(asked));
        }
    }
    void expect_exact_log() {
        EXPECT_EQ(app.serials, one_to(relay.log.size()));
        EXPECT_EQ(app.text, expected_text(relay));
        EXPECT_EQ(app.state, "live");
    }
};

TEST(resume, link_dropped_mid_replay_resumes_from_the_last_serial_held) {
    harness h;
    h.relay.append(10);
    auto frames = h.connect();  // attached + 3 batches
    ASSERT_EQ(frames.size(), 4u);
    h.deliver(frames[0]);
    h.deliver(frames[1]);  // serials 1..4 arrive, then the link dies
    h.core.on_transport_closed();
    h.app.take(h.core);
    EXPECT_EQ(h.app.state, "offline");
    EXPECT_EQ(h.core.find_session("s")->last_serial(), 4u);
    h.relay.append(3);  // the agent kept writing meanwhile
    h.deliver_all(h.connect());
    h.expect_exact_log();
}

TEST(resume, a_duplicated_batch_is_delivered_once) {
    harness h;
    h.relay.append(12);
    auto frames = h.connect();
    h.deliver(frames[0]);
    h.deliver(frames[1]);
    h.deliver(frames[2]);
    h.deliver(frames[1]);  // replayed twice by a confused proxy
    h.deliver(frames[2]);
    h.deliver(frames[3]);
    h.expect_exact_log();
}

TEST(resume, batches_out_of_order_are_repaired_not_skipped) {
    harness h;
    h.relay.append(12);
    auto frames = h.connect();
    h.deliver(frames[0]);
    h.deliver(frames[2]);  // 5..8 before 1..4: a gap
    h.deliver(frames[1]);  // late, and must not be taken out of order
    h.deliver(frames[3]);
    EXPECT_TRUE(h.app.serials.empty() || h.app.serials == one_to(h.app.serials.size()));
    h.settle();            // the repair attach from serial 0 is answered
    h.expect_exact_log();
}

TEST(resume, a_hole_in_the_live_stream_triggers_a_repair_fetch) {
    harness h;
    h.relay.append(4);
    h.deliver_all(h.connect());
    h.relay.append(4);                 // 5..8 written live
    h.deliver(h.relay.batch(5, 5));
    h.deliver(h.relay.batch(7, 8));    // 6 lost on the way
    EXPECT_EQ(h.app.serials, one_to(5));
    h.settle();
    h.relay.append(1);
    h.deliver(h.relay.batch(9, 9));
    h.expect_exact_log();
}

TEST(resume, a_recreated_log_resets_the_app_and_rebuilds_it) {
    harness h;
    h.relay.append(6);
    h.deliver_all(h.connect());
    h.core.on_transport_closed();
    h.relay.epoch = 200;  // the relay lost its store: a new log
    h.relay.log.clear();
    h.relay.append(3);
    h.deliver_all(h.connect());
    EXPECT_EQ(h.app.resets, 1);
    h.expect_exact_log();
}

TEST(resume, many_drops_at_every_point_of_a_replay_still_end_exact) {
    for (std::size_t cut = 1; cut <= 6; ++cut) {
        harness h;
        h.relay.append(20);
        auto frames = h.connect();
        for (std::size_t i = 0; i < cut && i < frames.size(); ++i) h.deliver(frames[i]);
        h.core.on_transport_closed();
        h.relay.append(cut);
        h.deliver_all(h.connect());
        h.expect_exact_log();
    }
}

} // namespace
} // namespace holdfast::client
