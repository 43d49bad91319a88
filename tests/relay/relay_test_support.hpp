// Helpers for driving relay_core directly: a fixture with a memory store and a fixed clock, and
// decoding of the core's outputs per connection. Layer: tests (relay).
#pragma once
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/relay_core.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace holdfast::relay::testing {

/// The outputs of one or more inputs, decoded and grouped per connection.
struct drained {
    std::map<connection_id, std::vector<proto::frame>> frames;
    std::map<connection_id, close_directive> closed;
    std::map<connection_id, std::uint64_t> bytes;  // what to report through on_sent to drain it all
    std::map<connection_id, std::size_t> messages;  // WebSocket messages (a bundle is one)

    const std::vector<proto::frame>& to(connection_id id) { return frames[id]; }

    template <class T>
    std::vector<T> of_type(connection_id id) {
        std::vector<T> out;
        for (const auto& f : frames[id]) {
            if (const T* t = std::get_if<T>(&f)) out.push_back(*t);
        }
        return out;
    }
};

inline drained decode_outputs(std::vector<outbound> outputs) {
    drained d;
    for (auto& out : outputs) {
        EXPECT_FALSE(d.closed.contains(out.connection)) << "output after a close";
        if (out.frame) {
            d.bytes[out.connection] += out.frame->size();
            ++d.messages[out.connection];
            auto decoded = proto::decode_message(*out.frame);
            EXPECT_TRUE(decoded.has_value()) << "the relay sent an undecodable message";
            if (!decoded) continue;
            for (auto& frame : decoded.value()) {
                EXPECT_TRUE(frame.has_value()) << "the relay sent an undecodable frame";
                if (frame) d.frames[out.connection].push_back(std::move(frame).value());
            }
        }
        if (out.close) d.closed.emplace(out.connection, *out.close);
    }
    return d;
}

inline proto::raw_value json_payload(std::string_view json_text) {
    auto packed = json::to_msgpack(json_text);
    EXPECT_TRUE(packed.has_value());
    return proto::raw_value{packed ? packed.value() : std::string()};
}

class relay_core_fixture : public ::testing::Test {
protected:
    relay_core_fixture() : store_([] { return next_epoch_++; }), core_(store_, config(), [this] { return ++now_; }) {}
    explicit relay_core_fixture(relay_config custom)
        : store_([] { return next_epoch_++; }), core_(store_, custom, [this] { return ++now_; }) {}

    static relay_config config() {
        relay_config c;
        c.max_batch_events = 4;  // small, so replays span several batches
        c.max_frame_bytes = 64 * 1024;
        return c;
    }

    template <class Frame>
    drained send(connection_id id, const Frame& f) {
        core_.on_frame(id, proto::encode(f));
        return decode_outputs(core_.take_outputs());
    }

    /// Opens a connection and completes hello/welcome.
    void connect(connection_id id, std::string agent = {}) {
        core_.on_open(id);
        proto::hello h;
        h.agent = std::move(agent);
        auto out = send(id, h);
        ASSERT_EQ(out.of_type<proto::welcome>(id).size(), 1u);
    }

    drained publish(connection_id id, std::string session, std::string producer, std::uint64_t seq,
                    std::string kind = "message.delta", std::string payload_json = R"({"text":"hi"})") {
        return send(id, proto::publish{std::move(session), std::move(producer), seq, std::move(kind), "m1",
                                       json_payload(payload_json)});
    }

    /// A publish from one incarnation (producer_epoch) of a producer.
    drained publish_as(connection_id id, std::string session, std::string producer, std::uint64_t epoch,
                       std::uint64_t seq) {
        proto::publish p{std::move(session), std::move(producer), seq, "message.delta", "m1", json_payload("1")};
        p.producer_epoch = epoch;
        return send(id, p);
    }

    static inline std::uint64_t next_epoch_ = 1000;
    std::uint64_t now_ = 1'700'000'000'000;
    memory_store store_;
    relay_core core_;
};

} // namespace holdfast::relay::testing
