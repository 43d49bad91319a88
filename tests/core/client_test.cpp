// client_core driven as the JS glue drives it: link events in, frames and JSON updates out.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"
#include "../support/update_json.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

namespace holdfast::client {
namespace {

std::vector<proto::frame> decode_all(const std::vector<std::string>& frames) {
    std::vector<proto::frame> out;
    for (const auto& f : frames) out.push_back(proto::decode(f).value());
    return out;
}

proto::event ev(std::uint64_t serial, std::string kind, std::string msg_id, std::string payload_json) {
    return proto::event{serial, 5, "agent-p", std::move(kind), std::move(msg_id), "demo-agent",
                        proto::raw_value{json::to_msgpack(payload_json).value()}};
}

/// Follows chat-1 over an open link, attached at epoch 11, its first updates taken.
void follow_live(client_core& c) {
    (void)c.open_session("chat-1");
    c.on_transport_open();
    c.on_frame(proto::encode(proto::attached{"chat-1", 11, 0}));
    (void)c.take_updates_json();
}

client_config config() {
    client_config c;
    c.client_id = "client-a";
    c.backoff = {100, 1000, 10};
    return c;
}

TEST(client_core, connect_sends_hello_then_attach_then_pending_publishes) {
    client_core c(config());
    ASSERT_TRUE(c.open_session("chat-1"));
    auto seq = c.publish("chat-1", "user.prompt", "p-1", R"({"text":"hi"})");
    ASSERT_TRUE(seq);
    EXPECT_TRUE(c.take_frames().empty()) << "nothing is sent before the link is up";
    c.on_transport_open();
    const auto frames = decode_all(c.take_frames());
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(std::get<proto::hello>(frames[0]).client_id, "client-a");
    EXPECT_EQ(std::get<proto::hello>(frames[0]).packed, true) << "the client reads packed events frames";
    EXPECT_EQ(std::get<proto::hello>(frames[0]).ack_ranges, true) << "and acks of several publishes";
    EXPECT_EQ(std::get<proto::attach>(frames[1]).session, "chat-1");
    const auto& pub = std::get<proto::publish>(frames[2]);
    EXPECT_EQ(pub.producer_id, "client-a");
    EXPECT_EQ(pub.producer_seq, seq.value());
    EXPECT_EQ(json::from_msgpack(pub.payload.bytes).value(), R"({"text":"hi"})");
}

TEST(client_core, events_become_one_json_batch_with_messages_and_acks) {
    client_core c(config());
    (void)c.open_session("chat-1");
    c.on_transport_open();
    (void)c.take_frames();
    auto seq = c.publish("chat-1", "user.prompt", "p-1", R"({"text":"hi"})");
    c.on_frame(proto::encode(proto::attached{"chat-1", 11, 0}));
    c.on_frame(proto::encode(proto::ack{"chat-1", "client-a", seq.value(), 1}));
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "user.prompt", "p-1", R"({"text":"hi"})"),
                                                           ev(2, "message.start", "r-1", "{}"),
                                                           ev(3, "message.delta", "r-1", R"({"text":"Yo"})")}}));
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("state":"live","lastSerial":3,"epoch":11,"serialFrom":1,"events")"), std::string::npos) << updates;
    EXPECT_EQ(updates.find(R"("reset")"), std::string::npos) << "false flags are left out: " << updates;
    EXPECT_EQ(updates.find(R"("rejects")"), std::string::npos) << "empty lists are left out: " << updates;
    // Compact events: their payloads from serialFrom, kinds and message ids once each in
    // "strings", one producer entry, and beside the JSON four numbers per event [ts, kind,
    // msgId, producer].
    EXPECT_NE(updates.find(R"("events":[{"text":"hi"},{},{"text":"Yo"}],)"
                           R"("strings":["user.prompt","p-1","message.start","r-1","message.delta"])"),
              std::string::npos) << updates;
    EXPECT_EQ(holdfast::testing::doubles(c.event_columns()), (std::vector<double>{5, 0, 1, 0, 5, 2, 3, 0, 5, 4, 3, 0}));
    EXPECT_NE(updates.find(R"("producers":[["agent-p","demo-agent"]])"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"({"index":1,"id":"r-1","role":"assistant","agent":"demo-agent","text":"Yo","status":"streaming")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("acks":[{"request":1,"serial":1}])"), std::string::npos) << updates;
    EXPECT_EQ(c.pending_publishes(), 0u);
    EXPECT_EQ(c.take_updates_json(), "") << "a drained core has nothing more to say";
}

TEST(client_core, a_packed_events_frame_gives_the_updates_the_plain_one_does) {
    const proto::event_batch batch{"chat-1", {ev(1, "user.prompt", "p-1", R"({"text":"hi"})"),
                                              ev(2, "message.start", "r-1", "{}"),
                                              ev(3, "message.delta", "r-1", R"({"text":"Yo"})")}};
    std::string updates[2];
    for (int packed = 0; packed < 2; ++packed) {
        client_core c(config());
        (void)c.open_session("chat-1");
        c.on_transport_open();
        (void)c.take_frames();
        c.on_frame(proto::encode(proto::attached{"chat-1", 11, 3}));
        c.on_frame(packed ? proto::encode_packed(batch) : proto::encode(batch));
        updates[packed] = c.take_updates_json();
        ASSERT_NE(c.find_session("chat-1"), nullptr);
        EXPECT_EQ(c.find_session("chat-1")->last_serial(), 3u);
    }
    EXPECT_NE(updates[0].find(R"("lastSerial":3)"), std::string::npos) << updates[0];
    EXPECT_EQ(updates[1], updates[0]);
}

TEST(client_core, events_carry_their_serials_implied_from_the_first_and_their_times_in_the_columns) {
    client_core c(config());
    follow_live(c);
    // A clock that stands, steps forward and steps back (another node, or an NTP correction).
    const std::vector<std::uint64_t> times{1795490674505, 1795490674505, 1795490674508, 1795490674490, 1795490674491};
    proto::event_batch batch{"chat-1", {}};
    for (std::uint64_t i = 0; i < times.size(); ++i) {
        batch.events.push_back(proto::event{41 + i, times[i], "agent-p", "note", "", "demo-agent",
                                            proto::raw_value{json::to_msgpack(std::to_string(i)).value()}});
    }
    // Delivered over two frames before one take: still one run from the first serial.
    proto::event_batch tail{"chat-1", {batch.events.back()}};
    batch.events.pop_back();
    proto::event_batch earlier{"chat-1", {}};
    for (std::uint64_t serial = 1; serial <= 40; ++serial) earlier.events.push_back(ev(serial, "note", "", "0"));
    holdfast::testing::event_reader reader;
    c.on_frame(proto::encode(earlier));
    const std::string first = c.take_updates_json();
    EXPECT_NE(first.find(R"("strings":["note",""],"producers":[["agent-p","demo-agent"]])"), std::string::npos) << first;
    (void)reader.session_events(boost::json::parse(first).as_object(), "chat-1", c.event_columns());
    c.on_frame(proto::encode(batch));
    c.on_frame(proto::encode(tail));
    const std::string text = c.take_updates_json();
    EXPECT_NE(text.find(R"("serialFrom":41,"events":[0,1,2,3,4]})"), std::string::npos)
        << "the kind, message id and producer went with the first take, not again: " << text;
    EXPECT_EQ(c.event_columns().size(), times.size() * sizeof(double[4])) << "four numbers per event beside the JSON";
    const auto updates = boost::json::parse(text).as_object();
    const auto events = reader.session_events(updates, "chat-1", c.event_columns());
    ASSERT_EQ(events.size(), times.size());
    for (std::size_t i = 0; i < times.size(); ++i) {
        EXPECT_EQ(events[i].at("serial").to_number<std::uint64_t>(), 41 + i);
        EXPECT_EQ(events[i].at("ts").to_number<std::uint64_t>(), times[i]);
        EXPECT_EQ(events[i].at("payload").to_number<std::size_t>(), i);
    }
}

TEST(client_core, events_name_their_producer_through_a_table_that_stays_correct_with_many_writers) {
    // Three writers interleaved, then 100 distinct ones (past the table's searched part), then an
    // id seen before with another agent, empty ids with empty and other agents, and repeats.
    const auto writer = [](std::uint64_t serial) -> std::pair<std::string, std::string> {
        if (serial <= 6) return {"p-" + std::to_string(serial % 3), "agent-" + std::to_string(serial % 3)};
        if (serial <= 106) return {"w-" + std::to_string(serial), serial % 2 ? "" : "agent-w"};
        static const std::pair<std::string, std::string> tail[] = {
            {"p-1", "agent-other"}, {"", ""}, {"", "z"}, {"p-1", "agent-1"}, {"", ""}, {"p-1", "agent-other"}};
        return tail[(serial - 107) % 6];
    };
    constexpr std::uint64_t count = 112;
    proto::event_batch batch{"chat-1", {}};
    for (std::uint64_t serial = 1; serial <= count; ++serial) {
        auto [producer, agent] = writer(serial);
        batch.events.push_back(proto::event{serial, 5, producer, "note", "", agent, proto::raw_value{json::to_msgpack("1").value()}});
    }
    // The packed form names each producer from the frame's table, so its events share views:
    // the core finds their producer by those views, and must list the same table either way.
    std::string texts[2];
    std::string columns[2];
    for (int packed = 0; packed < 2; ++packed) {
        client_core c(config());
        follow_live(c);
        c.on_frame(packed ? proto::encode_packed(batch) : proto::encode(batch));
        texts[packed] = c.take_updates_json();
        columns[packed] = std::string(c.event_columns());
        const auto updates = boost::json::parse(texts[packed]).as_object();
        const auto& entry = updates.at("sessions").as_array().at(0).as_object();
        EXPECT_EQ(entry.at("producers").as_array().at(1), (boost::json::array{"p-2", "agent-2"})) << "first seen, first listed";
        const auto events = holdfast::testing::event_reader{}.session_events(updates, "chat-1", c.event_columns());
        ASSERT_EQ(events.size(), count);
        for (std::uint64_t serial = 1; serial <= count; ++serial) {
            const auto& e = events[serial - 1].as_object();
            const auto [producer, agent] = writer(serial);
            EXPECT_EQ(e.at("serial").to_number<std::uint64_t>(), serial);
            EXPECT_EQ(e.at("producerId").as_string(), producer) << serial << (packed ? " packed" : " plain");
            EXPECT_EQ(e.at("agent").as_string(), agent) << serial << (packed ? " packed" : " plain");
            EXPECT_EQ(e.at("payload").to_number<int>(), 1);
        }
        // The three interleaved writers share three entries, and the tail adds three (the id
        // with another agent, and the empty id with each agent): repeats are looked up.
        EXPECT_EQ(entry.at("producers").as_array().size(), 106u);
    }
    EXPECT_EQ(texts[1], texts[0]);
    EXPECT_EQ(columns[1], columns[0]);
}

TEST(client_core, events_name_their_kind_and_message_through_a_string_table_that_stays_correct_with_many_messages) {
    client_core c(config());
    follow_live(c);
    // Two kinds and three messages interleaved, a message id equal to a kind, then 100 distinct
    // message ids (past the table's searched part).
    const auto kind_of = [](std::uint64_t serial) { return serial % 2 ? std::string("note") : std::string("message.delta"); };
    const auto msg_of = [](std::uint64_t serial) {
        if (serial == 7) return std::string("note");
        return serial <= 6 ? "m-" + std::to_string(serial % 3) : "m-" + std::to_string(serial);
    };
    // Then, in a second frame before the take, the last two messages interleaved (far past the
    // table's first entries) and a kind first seen late, alternating with the first one.
    const auto late_kind_of = [](std::uint64_t serial) { return serial % 2 ? std::string("note") : std::string("tool.call"); };
    const auto late_msg_of = [](std::uint64_t serial) { return serial % 2 ? std::string("m-106") : std::string("m-107"); };
    proto::event_batch batch{"chat-1", {}};
    for (std::uint64_t serial = 1; serial <= 107; ++serial) batch.events.push_back(ev(serial, kind_of(serial), msg_of(serial), "1"));
    proto::event_batch later{"chat-1", {}};
    for (std::uint64_t serial = 108; serial <= 127; ++serial) later.events.push_back(ev(serial, late_kind_of(serial), late_msg_of(serial), "1"));
    c.on_frame(proto::encode(batch));
    c.on_frame(proto::encode(later));
    const auto updates = boost::json::parse(c.take_updates_json()).as_object();
    const auto& entry = updates.at("sessions").as_array().at(0).as_object();
    const auto events = holdfast::testing::event_reader{}.session_events(updates, "chat-1", c.event_columns());
    ASSERT_EQ(events.size(), 127u);
    for (std::uint64_t serial = 1; serial <= 127; ++serial) {
        const auto& e = events[serial - 1].as_object();
        EXPECT_EQ(e.at("kind").as_string(), serial <= 107 ? kind_of(serial) : late_kind_of(serial)) << serial;
        EXPECT_EQ(e.at("msgId").as_string(), serial <= 107 ? msg_of(serial) : late_msg_of(serial)) << serial;
    }
    // note, m-1, message.delta, m-2, m-0, then one entry per new message id ("note" as a message
    // id is the kind's entry), then tool.call alone: the interleaved ids and the first kind are
    // found again, not re-listed per event.
    const auto& strings = entry.at("strings").as_array();
    EXPECT_EQ(strings.at(0), "note");
    EXPECT_EQ(strings.at(1), "m-1");
    EXPECT_EQ(strings.size(), 5u + 100u + 1u);
    EXPECT_EQ(strings.back(), "tool.call");
}

TEST(client_core, events_of_several_frames_and_a_bundle_between_two_takes_run_on_from_one_serial) {
    client_core c(config());
    follow_live(c);
    const auto packed_frame = [](std::uint64_t first, std::uint64_t last) {
        proto::event_batch batch{"chat-1", {}};
        for (std::uint64_t serial = first; serial <= last; ++serial) {
            batch.events.push_back(proto::event{serial, 1000 + serial, "agent-p", "note", "m-" + std::to_string(serial % 3),
                                                "demo-agent", proto::raw_value{json::to_msgpack(std::to_string(serial)).value()}});
        }
        return proto::encode_packed(batch);
    };
    c.on_frame(packed_frame(1, 3));
    std::string bundle;
    proto::append_bundle_header(2, bundle);
    bundle += packed_frame(4, 6);
    bundle += packed_frame(7, 9);
    c.on_frame(bundle);
    const auto updates = boost::json::parse(c.take_updates_json()).as_object();
    const auto events = holdfast::testing::event_reader{}.session_events(updates, "chat-1", c.event_columns());
    ASSERT_EQ(events.size(), 9u);
    for (std::uint64_t serial = 1; serial <= 9; ++serial) {
        const auto& e = events[serial - 1].as_object();
        EXPECT_EQ(e.at("serial").to_number<std::uint64_t>(), serial);
        EXPECT_EQ(e.at("ts").to_number<std::uint64_t>(), 1000 + serial);
        EXPECT_EQ(e.at("msgId").as_string(), "m-" + std::to_string(serial % 3));
        EXPECT_EQ(e.at("payload").to_number<std::uint64_t>(), serial);
    }
}

TEST(client_core, the_columns_of_several_sessions_follow_their_entries_take_after_take) {
    // Two sessions, packed and plain frames, a ts that steps back, many writers and messages, a
    // reset and a take with no events: each entry's events read from where the previous
    // entry's ended give what was delivered.
    const auto event_of = [](const std::string& session, std::uint64_t serial) {
        const std::uint64_t ts = serial % 40 == 7 ? 900 : 1'795'000'000'000 + serial * 3;  // steps back once a round
        return proto::event{serial, ts, "w-" + std::to_string(serial % 5), serial % 2 ? "note" : "message.delta",
                            session + "-m-" + std::to_string(serial % 70), serial % 3 ? "agent" : "",
                            proto::raw_value{json::to_msgpack(R"({"n":)" + std::to_string(serial) + "}").value()}};
    };
    const auto frame_of = [&](const std::string& session, std::uint64_t first, bool packed) {
        proto::event_batch batch{session, {}};
        for (std::uint64_t serial = first; serial < first + 40; ++serial) batch.events.push_back(event_of(session, serial));
        return packed ? proto::encode_packed(batch) : proto::encode(batch);
    };
    const auto check = [&](const boost::json::array& events, const std::string& session, std::uint64_t first) {
        ASSERT_EQ(events.size(), 40u) << session;
        for (std::uint64_t serial = first; serial < first + 40; ++serial) {
            const auto& e = events[serial - first].as_object();
            const proto::event want = event_of(session, serial);
            EXPECT_EQ(e.at("serial").to_number<std::uint64_t>(), serial) << session;
            EXPECT_EQ(e.at("ts").to_number<std::uint64_t>(), want.ts) << session << " " << serial;
            EXPECT_EQ(e.at("kind").as_string(), want.kind) << session << " " << serial;
            EXPECT_EQ(e.at("msgId").as_string(), want.msg_id) << session << " " << serial;
            EXPECT_EQ(e.at("producerId").as_string(), want.producer_id) << session << " " << serial;
            EXPECT_EQ(e.at("agent").as_string(), want.agent) << session << " " << serial;
            EXPECT_EQ(e.at("payload").at("n").to_number<std::uint64_t>(), serial) << session;
        }
    };
    client_core c(config());
    (void)c.open_session("chat-1");
    (void)c.open_session("chat-2");
    c.on_transport_open();
    c.on_frame(proto::encode(proto::attached{"chat-1", 11, 0}));
    c.on_frame(proto::encode(proto::attached{"chat-2", 11, 0}));
    (void)c.take_updates_json();
    holdfast::testing::event_reader reader;
    const auto take = [&](std::size_t sessions_with_events) {
        const auto updates = boost::json::parse(c.take_updates_json()).as_object();
        std::size_t at = 0;
        std::map<std::string, boost::json::array> by_session;
        for (const auto& entry : holdfast::testing::entries(updates, "sessions")) {
            const auto& object = entry.as_object();
            auto events = reader.event_objects(object, c.event_columns(), at);
            if (!events.empty()) by_session[std::string(object.at("id").as_string())] = std::move(events);
        }
        EXPECT_EQ(at, c.event_columns().size()) << "every column read, none left over";
        EXPECT_EQ(by_session.size(), sessions_with_events);
        return by_session;
    };
    for (std::uint64_t round = 0; round < 2; ++round) {
        c.on_frame(frame_of("chat-2", 1 + round * 40, round == 1));
        c.on_frame(frame_of("chat-1", 1 + round * 40, round == 0));
        auto events = take(2);
        check(events["chat-1"], "chat-1", 1 + round * 40);
        check(events["chat-2"], "chat-2", 1 + round * 40);
    }
    // chat-2's log was recreated (a new epoch): replayed from its start, chat-1 quiet.
    c.on_frame(proto::encode(proto::attached{"chat-2", 12, 0}));
    c.on_frame(frame_of("chat-2", 1, true));
    auto events = take(1);
    check(events["chat-2"], "chat-2", 1);
    ASSERT_FALSE(c.event_columns().empty());
    (void)c.take_updates_json();
    EXPECT_TRUE(c.event_columns().empty()) << "the next take, with no events, has no columns";
}

TEST(client_core, a_take_carries_only_the_table_entries_added_since_the_last_one) {
    client_core c(config());
    follow_live(c);
    holdfast::testing::event_reader reader;
    const auto take = [&] {
        const std::string text = c.take_updates_json();
        const auto updates = boost::json::parse(text).as_object();
        return std::pair(text, reader.session_events(updates, "chat-1", c.event_columns()));
    };
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "message.start", "r-1", "{}")}}));
    auto [first, first_events] = take();
    EXPECT_NE(first.find(R"("strings":["message.start","r-1"],"producers":[["agent-p","demo-agent"]])"), std::string::npos) << first;
    // A live stream: each event alone in its take, its kind, id and producer already held.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(2, "message.delta", "r-1", "1")}}));
    auto [second, second_events] = take();
    EXPECT_NE(second.find(R"("events":[1],"stringBase":2,"strings":["message.delta"])"), std::string::npos) << second;
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(3, "message.delta", "r-1", "2")}}));
    auto [third, third_events] = take();
    EXPECT_EQ(third.find("strings"), std::string::npos) << "nothing new to name: " << third;
    EXPECT_EQ(third.find("producers"), std::string::npos) << third;
    ASSERT_EQ(third_events.size(), 1u);
    EXPECT_EQ(third_events[0].at("kind").as_string(), "message.delta");
    EXPECT_EQ(third_events[0].at("msgId").as_string(), "r-1");
    EXPECT_EQ(third_events[0].at("producerId").as_string(), "agent-p");
    // A second writer joins: only it is listed, after the first.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {proto::event{4, 5, "agent-q", "message.delta", "r-1", "other-agent",
                                                                        proto::raw_value{json::to_msgpack("3").value()}}}}));
    auto [fourth, fourth_events] = take();
    EXPECT_NE(fourth.find(R"("producerBase":1,"producers":[["agent-q","other-agent"]])"), std::string::npos) << fourth;
    ASSERT_EQ(fourth_events.size(), 1u);
    EXPECT_EQ(fourth_events[0].at("agent").as_string(), "other-agent");
    // Every message brings a new id: past the tables' size they start again from 0, sent whole.
    std::uint64_t serial = 5;
    std::string text;
    boost::json::array events;
    int message = 0;
    for (; message < 300; ++message) {
        c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(serial++, "message.start", "m-" + std::to_string(message), "{}")}}));
        std::tie(text, events) = take();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].at("msgId").as_string(), "m-" + std::to_string(message));
        if (text.find("stringBase") == std::string::npos) break;
    }
    EXPECT_GT(message, 200) << "the tables started again early";
    EXPECT_LT(message, 300) << "the tables never started again";
    EXPECT_NE(text.find(R"("strings":["message.start","m-)"), std::string::npos) << "a fresh table, base 0 left out: " << text;
    EXPECT_NE(text.find(R"("producers":[["agent-p","demo-agent"]])"), std::string::npos) << text;
    // A reset (the relay's log recreated) starts them again too: the reader cuts its copy.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(serial++, "message.delta", "m-0", "1")}}));
    std::tie(text, events) = take();
    EXPECT_NE(text.find("stringBase"), std::string::npos) << text;
    c.on_frame(proto::encode(proto::attached{"chat-1", 12, 0}));
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "note", "x", "9")}}));
    std::tie(text, events) = take();
    EXPECT_NE(text.find(R"("strings":["note","x"],"producers":[["agent-p","demo-agent"]])"), std::string::npos) << text;
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("kind").as_string(), "note");
    EXPECT_EQ(events[0].at("msgId").as_string(), "x");
}

TEST(client_core, a_reset_between_two_takes_drops_the_events_rendered_before_it) {
    client_core c(config());
    follow_live(c);  // epoch 11
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "note", "", "1"), ev(2, "note", "", "2")}}));
    // The relay's log was recreated: a new epoch, replayed from its start.
    c.on_frame(proto::encode(proto::attached{"chat-1", 12, 1}));
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "other", "x", "7")}}));
    const auto updates = boost::json::parse(c.take_updates_json()).as_object();
    const auto& entry = updates.at("sessions").as_array().at(0).as_object();
    EXPECT_TRUE(holdfast::testing::flag(entry, "reset"));
    const auto events = holdfast::testing::event_reader{}.session_events(updates, "chat-1", c.event_columns());
    ASSERT_EQ(events.size(), 1u) << "only what came after the reset";
    EXPECT_EQ(events[0].at("serial").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(events[0].at("kind").as_string(), "other");
    EXPECT_EQ(events[0].at("payload").to_number<int>(), 7);
}

TEST(client_core, a_streaming_message_sends_js_its_new_text_only_until_the_text_is_replaced_or_reset) {
    client_core c(config());
    follow_live(c);
    const auto message_of = [](const std::string& updates) {
        const auto root = boost::json::parse(updates).as_object();
        return holdfast::testing::entries(root.at("sessions").as_array().at(0).as_object(), "messages").at(0).as_object();
    };
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "message.start", "r-1", "{}"), ev(2, "message.delta", "r-1", R"({"text":"Hel"})")}}));
    auto m = message_of(c.take_updates_json());
    EXPECT_EQ(m.at("text").as_string(), "Hel") << "first sight: the whole text";
    EXPECT_FALSE(m.contains("textAppend"));
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(3, "message.delta", "r-1", R"({"text":"lo \u00e9"})")}}));
    m = message_of(c.take_updates_json());
    EXPECT_EQ(m.at("textAppend").as_string(), "lo \u00e9");
    EXPECT_FALSE(m.contains("text"));
    EXPECT_EQ(m.at("lastSerial").to_number<int>(), 3);
    EXPECT_EQ(m.at("status").as_string(), "streaming");
    for (const char* held_by_js : {"id", "role", "agent", "firstSerial"}) {
        EXPECT_FALSE(m.contains(held_by_js)) << held_by_js << " was sent with the message's first entry";
    }
    std::string held = "Hel";
    holdfast::testing::apply_text(m, held);
    EXPECT_EQ(held, c.find_conversation("chat-1")->messages().at(0).text);
    // The end changes its status, not its text: an empty textAppend carrying the new status.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(4, "message.end", "r-1", R"({"status":"cancelled","reason":"stopped"})")}}));
    m = message_of(c.take_updates_json());
    EXPECT_EQ(m.at("textAppend").as_string(), "");
    EXPECT_EQ(m.at("status").as_string(), "cancelled");
    EXPECT_EQ(m.at("reason").as_string(), "stopped");
    EXPECT_EQ(m.at("lastSerial").to_number<int>(), 4);

    // A prompt published again under its id replaces its text: sent whole.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(5, "user.prompt", "p-1", R"({"text":"long question"})")}}));
    EXPECT_EQ(message_of(c.take_updates_json()).at("text").as_string(), "long question");
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(6, "user.prompt", "p-1", R"({"text":"short"})")}}));
    m = message_of(c.take_updates_json());
    EXPECT_EQ(m.at("text").as_string(), "short");
    EXPECT_FALSE(m.contains("textAppend"));

    // A reset (a new epoch) drops what JS held: the next text is whole again.
    c.on_frame(proto::encode(proto::attached{"chat-1", 12, 0}));
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "message.start", "r-1", "{}"), ev(2, "message.delta", "r-1", R"({"text":"Hi"})")}}));
    m = message_of(c.take_updates_json());
    EXPECT_EQ(m.at("text").as_string(), "Hi");
}

TEST(client_core, a_lost_link_reports_one_retry_and_resends_unacked_publishes) {
    client_core c(config());
    follow_live(c);
    auto seq = c.publish("chat-1", "note", "", "1");
    (void)c.take_frames();
    c.on_transport_closed();
    c.on_transport_closed();  // error + close for one socket
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("state":"offline")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("retry":{"attempt":1,"delayMs":)"), std::string::npos) << updates;
    EXPECT_EQ(c.take_updates_json(), "");
    c.on_transport_open();
    const auto frames = decode_all(c.take_frames());
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(std::get<proto::attach>(frames[1]).from_serial, 0u);
    EXPECT_EQ(std::get<proto::attach>(frames[1]).epoch, 11u);
    EXPECT_EQ(std::get<proto::publish>(frames[2]).producer_seq, seq.value()) << "same sequence: the relay dedups";
}

TEST(client_core, a_gap_triggers_a_repair_attach_and_no_skip) {
    client_core c(config());
    (void)c.open_session("s");
    c.on_transport_open();
    (void)c.take_frames();
    c.on_frame(proto::encode(proto::attached{"s", 1, 0}));
    c.on_frame(proto::encode(proto::event_batch{"s", {ev(1, "x", "", "1")}}));
    c.on_frame(proto::encode(proto::event_batch{"s", {ev(3, "x", "", "3")}}));
    const auto frames = decode_all(c.take_frames());
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<proto::detach>(frames[0]));
    EXPECT_EQ(std::get<proto::attach>(frames[1]).from_serial, 1u);
    EXPECT_EQ(c.find_session("s")->last_serial(), 1u);
}

TEST(client_core, rejected_publish_and_bad_frames_are_reported_not_thrown) {
    client_core c(config());
    c.on_transport_open();
    auto seq = c.publish("chat-1", "k", "", "{}");
    // An answer to another producer's publish with the same sequence (a tab sharing the link).
    c.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(errc::forbidden), "not yours", std::string("chat-1"),
                                                seq.value(), std::string("other-tab")}));
    c.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(errc::forbidden), "no", std::string("chat-1"),
                                                seq.value(), std::string("client-a")}));
    c.on_frame("\xC1garbage");
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("rejects":[{"request":1,"code":14,"name":"forbidden","message":"no"}])"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("errors":[{"code":1,"name":"malformed_frame")"), std::string::npos) << updates;
}

TEST(client_core, a_store_failure_keeps_the_publish_and_resends_the_outbox_in_order) {
    client_core c(config());
    c.on_transport_open();
    c.on_tick(1000);
    auto first = c.publish("chat-1", "k", "", R"({"n":1})");
    auto second = c.publish("chat-1", "k", "", R"({"n":2})");
    (void)c.take_frames();
    auto refuse = [&](errc code, std::uint64_t seq) {
        c.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(code), "redis down", std::string("chat-1"),
                                                    seq, std::string("client-a")}));
    };
    refuse(errc::store_failure, 1);
    refuse(errc::sequence_gap, 2);  // behind our own refused publish: kept too
    const std::string updates = c.take_updates_json();
    EXPECT_EQ(updates.find(R"("rejects":[{)"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("errors":[{"code":11,"name":"store_failure")"), std::string::npos) << updates;
    EXPECT_EQ(c.pending_publishes(), 2u);
    c.on_tick(1100);
    EXPECT_TRUE(c.take_frames().empty()) << "not before the resend delay";
    c.on_tick(1300);
    const auto frames = decode_all(c.take_frames());
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(std::get<proto::publish>(frames[0]).producer_seq, 1u);
    EXPECT_EQ(std::get<proto::publish>(frames[1]).producer_seq, 2u);
    c.on_frame(proto::encode(proto::ack{"chat-1", "client-a", 1, 7}));
    c.on_frame(proto::encode(proto::ack{"chat-1", "client-a", 2, 8}));
    const std::string acked = c.take_updates_json();
    using ack_list = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(testing::acks(acked), (ack_list{{first.value(), 7}, {second.value(), 8}})) << acked;
    EXPECT_NE(acked.find(R"("count":2)"), std::string::npos) << "consecutive requests and serials: one run " << acked;
    EXPECT_EQ(c.pending_publishes(), 0u);
    // A gap with no earlier publish of ours waiting is a real error: rejected, not kept.
    auto third = c.publish("chat-1", "k", "", "{}");
    (void)third;
    refuse(errc::sequence_gap, 3);
    EXPECT_EQ(c.pending_publishes(), 0u);
}

TEST(client_core, invalid_calls_fail_fast_with_codes) {
    client_core c(config());
    EXPECT_EQ(c.publish("bad id!", "k", "", "{}").err().code, errc::invalid_session_id);
    EXPECT_EQ(c.publish("$sessions", "k", "", "{}").err().code, errc::forbidden);
    EXPECT_EQ(c.publish("s", "", "", "{}").err().code, errc::missing_field);
    EXPECT_EQ(c.publish("s", "k", "", "{oops").err().code, errc::invalid_payload);
    // What the relay refuses for its content is refused before a producer sequence is used.
    EXPECT_EQ(c.publish("s", "agent.attached", "", "{}").err().code, errc::forbidden);
    EXPECT_EQ(c.publish("s", "k", "", std::string(29, '[') + "1" + std::string(29, ']')).err().code, errc::limit_exceeded);
    EXPECT_EQ(c.publish("s", "k", "", '"' + std::string(1u << 20, 'x') + '"').err().code, errc::limit_exceeded);
    EXPECT_EQ(c.publish("s", "k", "", '"' + std::string((1u << 20) - 100, 'x') + '"').err().code, errc::frame_too_large);
    EXPECT_TRUE(c.publish("s", "k", "", std::string(28, '[') + "1" + std::string(28, ']')));
    EXPECT_EQ(c.open_session("").err().code, errc::invalid_session_id);
    EXPECT_EQ(c.pending_publishes(), 1u) << "only the last, acceptable one is queued";
}

TEST(client_core, a_new_epoch_resets_the_conversation) {
    client_core c(config());
    (void)c.open_session("s");
    c.on_transport_open();
    c.on_frame(proto::encode(proto::attached{"s", 1, 1}));
    c.on_frame(proto::encode(proto::event_batch{"s", {ev(1, "user.prompt", "p", R"({"text":"old"})")}}));
    (void)c.take_updates_json();
    c.on_transport_closed();
    c.on_transport_open();
    c.on_frame(proto::encode(proto::attached{"s", 2, 1}));
    c.on_frame(proto::encode(proto::event_batch{"s", {ev(1, "user.prompt", "q", R"({"text":"new"})")}}));
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("reset":true)"), std::string::npos) << updates;
    ASSERT_EQ(c.find_conversation("s")->messages().size(), 1u);
    EXPECT_EQ(c.find_conversation("s")->messages()[0].text, "new");
}

} // namespace
} // namespace holdfast::client

namespace holdfast::client {
namespace {

TEST(client_core, producer_sequences_are_per_session_and_carry_the_epoch) {
    client_config cfg = config();
    cfg.producer_epoch = 1234;
    client_core c(cfg);
    c.on_transport_open();
    (void)c.take_frames();
    const auto a1 = c.publish("a", "k", "", "1").value();
    const auto b1 = c.publish("b", "k", "", "1").value();
    const auto a2 = c.control("a", "cancel", "m", "").value();
    EXPECT_EQ(a1, 1u);
    EXPECT_EQ(b1, 2u);
    EXPECT_EQ(a2, 3u);
    const auto frames = decode_all(c.take_frames());
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(std::get<proto::publish>(frames[0]).producer_seq, 1u);
    EXPECT_EQ(std::get<proto::publish>(frames[1]).producer_seq, 1u) << "session b starts its own series";
    EXPECT_EQ(std::get<proto::control>(frames[2]).producer_seq, 2u) << "controls share the session's series";
    EXPECT_EQ(std::get<proto::publish>(frames[0]).producer_epoch, 1234u);
    EXPECT_EQ(std::get<proto::control>(frames[2]).producer_epoch, 1234u);
    // Acks name (session, seq); each settles the right request.
    c.on_frame(proto::encode(proto::ack{"b", "client-a", 1, 70}));
    c.on_frame(proto::encode(proto::ack{"a", "client-a", 2, 71}));
    c.on_frame(proto::encode(proto::ack{"a", "client-a", 2, 71}));  // duplicate answer to a resend
    const std::string updates = c.take_updates_json();
    using ack_list = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(testing::acks(updates), (ack_list{{2, 70}, {3, 71}})) << updates;
    EXPECT_EQ(c.pending_publishes(), 1u);
}

TEST(client_core, a_fenced_producer_gets_its_publish_rejected) {
    client_core c(config());
    c.on_transport_open();
    const auto request = c.publish("s", "k", "", "1").value();
    // Without producer_id (an older relay) the error still settles by session and sequence.
    c.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(errc::stale_epoch), "fenced", std::string("s"), 1,
                                                std::nullopt}));
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find("{\"request\":" + std::to_string(request) + ",\"code\":12,\"name\":\"stale_epoch\""), std::string::npos) << updates;
    EXPECT_EQ(c.pending_publishes(), 0u);
}

TEST(client_core, acks_settle_by_producer_session_and_sequence_only) {
    client_core c(config());
    c.on_transport_open();
    const auto a1 = c.publish("chat-a", "k", "", "1").value();
    const auto b1 = c.publish("chat-b", "k", "", "2").value();
    const auto a2 = c.publish("chat-a", "k", "", "3").value();
    // Same session and sequence, another producer (a tab sharing the link): nothing settles.
    c.on_frame(proto::encode(proto::ack{"chat-a", "other-tab", 1, 40}));
    // Same producer and sequence, a session this client never published in: nothing settles.
    c.on_frame(proto::encode(proto::ack{"chat-c", "client-a", 1, 41}));
    EXPECT_EQ(c.pending_publishes(), 3u);
    c.on_frame(proto::encode(proto::ack{"chat-b", "client-a", 1, 7}));
    c.on_frame(proto::encode(proto::ack{"chat-a", "client-a", 2, 8}));
    c.on_frame(proto::encode(proto::ack{"chat-a", "client-a", 2, 8}));  // a duplicate answer
    c.on_frame(proto::encode(proto::ack{"chat-a", "client-a", 1, 6}));
    const std::string updates = c.take_updates_json();
    using ack_list = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(testing::acks(updates), (ack_list{{b1, 7}, {a2, 8}, {a1, 6}})) << updates;
    EXPECT_EQ(c.pending_publishes(), 0u);
}

TEST(client_core, a_frame_only_clients_send_is_a_protocol_violation_when_the_relay_sends_it) {
    client_core c(config());
    follow_live(c);
    c.on_frame(proto::encode(proto::publish{"chat-1", "x", 1, "k", "", proto::raw_value{}}));
    c.on_frame(proto::encode(proto::hello{}));
    c.on_frame(std::string("\x81\xa4" "type" "\xa5" "bogus", 12));  // {"type":"bogus"}
    c.on_frame(proto::encode(proto::ack{"chat-1", "client-a", 1, 3}));  // still read after them
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("name":"protocol_violation","message":"unexpected frame from relay: publish")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("name":"protocol_violation","message":"unexpected frame from relay: hello")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("name":"unknown_frame_type","message":"bogus")"), std::string::npos) << updates;
    EXPECT_EQ(c.find_session("chat-1")->state(), session_state::live) << "the link and the session stay";
}

TEST(client_core, an_ack_range_settles_each_publish_it_covers_with_its_own_serial) {
    client_core c(config());
    c.on_transport_open();
    std::vector<std::uint64_t> requests;
    for (int i = 0; i < 5; ++i) requests.push_back(c.publish("chat-a", "k", "", std::to_string(i)).value());
    const auto other = c.publish("chat-b", "k", "", "9").value();
    // seqs 1-5 in chat-a; an older range (seqs 1-2, answered before) is walked for nothing.
    proto::ack first{"chat-a", "client-a", 1, 20};
    first.count = 2;
    c.on_frame(proto::encode(first));
    c.on_frame(proto::encode(first));  // a duplicate answer settles nothing more
    // The rest in one range that also covers sequences never sent (a range longer than ours).
    proto::ack rest{"chat-a", "client-a", 3, 22};
    rest.count = std::numeric_limits<std::uint64_t>::max();
    c.on_frame(proto::encode(rest));
    EXPECT_EQ(c.pending_publishes(), 1u) << "chat-b's publish is another stream";
    const std::string updates = c.take_updates_json();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> expected;
    for (std::size_t i = 0; i < requests.size(); ++i) expected.emplace_back(requests[i], 20 + i);
    EXPECT_EQ(testing::acks(updates), expected) << updates;
    // Reported as one run: the five requests and their serials go up together.
    EXPECT_NE(updates.find(R"("acks":[{"request":)" + std::to_string(requests[0]) + R"(,"serial":20,"count":5}])"),
              std::string::npos) << updates;
    // Another producer's range (a tab sharing the link) settles nothing of ours.
    proto::ack theirs{"chat-b", "other-tab", 1, 30};
    theirs.count = 10;
    c.on_frame(proto::encode(theirs));
    EXPECT_EQ(c.pending_publishes(), 1u);
    c.on_frame(proto::encode(proto::ack{"chat-b", "client-a", 1, 31}));
    EXPECT_NE(c.take_updates_json().find(R"({"request":)" + std::to_string(other) + R"(,"serial":31})"), std::string::npos);
}

TEST(client_core, events_are_rendered_only_while_the_host_wants_them) {
    client_core c(config());
    ASSERT_TRUE(c.open_session("chat-1"));
    c.on_transport_open();
    c.on_frame(proto::encode(proto::attached{"chat-1", 11, 0}));
    (void)c.take_updates_json();
    c.render_events("chat-1", false);
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(1, "message.start", "r-1", "{}"),
                                                           ev(2, "message.delta", "r-1", R"({"text":"Yo"})")}}));
    std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("lastSerial":2)"), std::string::npos) << updates;
    EXPECT_EQ(updates.find(R"("events")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("text":"Yo","status":"streaming")"), std::string::npos) << "messages still come: " << updates;
    // An event that changes no message still moves lastSerial, so the update is not skipped.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(3, "bench", "", "{}")}}));
    updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("lastSerial":3)"), std::string::npos) << updates;
    EXPECT_EQ(updates.find(R"("events")"), std::string::npos) << updates;
    c.render_events("chat-1", true);
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(4, "message.delta", "r-1", R"({"text":"!"})")}}));
    updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("serialFrom":4,"events":[{"text":"!"}],"strings":["message.delta","r-1"])"), std::string::npos) << "rendered from then on: " << updates;
    EXPECT_EQ(holdfast::testing::doubles(c.event_columns()), (std::vector<double>{5, 0, 1, 0}));
    EXPECT_EQ(updates.find(R"("bench")"), std::string::npos) << updates;
    EXPECT_EQ(c.find_conversation("chat-1")->messages().at(0).text, "Yo!");
    // Turned off and on again between two takes: what came while off is not heard, and the
    // events run on from the first one rendered after.
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(5, "message.delta", "r-1", R"({"text":"a"})")}}));
    c.render_events("chat-1", false);
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(6, "message.delta", "r-1", R"({"text":"b"})")}}));
    c.render_events("chat-1", true);
    c.on_frame(proto::encode(proto::event_batch{"chat-1", {ev(7, "message.delta", "r-1", R"({"text":"c"})")}}));
    updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("serialFrom":7,"events":[{"text":"c"}])"), std::string::npos) << updates;
    EXPECT_EQ(c.find_conversation("chat-1")->messages().at(0).text, "Yo!abc");
    c.render_events("unknown", false);  // a session not followed: ignored
}

} // namespace
} // namespace holdfast::client
