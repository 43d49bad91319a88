// client_core with local history: a reload shows what it had before the link opens and resumes
// for the tail only; unacknowledged publishes survive a reload byte for byte; a new epoch drops
// the stored copy; retention and a full quota evict least recently used sessions; damage is told.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

proto::event ev(std::uint64_t serial, std::string kind, std::string msg_id, std::string payload_json) {
    return proto::event{serial, serial, "agent-p", std::move(kind), std::move(msg_id), "agent",
                        proto::raw_value{json::to_msgpack(payload_json).value()}};
}

struct storage_fixture : ::testing::Test {
    memory_file_system files;
    history_store store{files, "/holdfast"};

    client_config config(std::string id) {
        client_config c;
        c.client_id = std::move(id);
        c.producer_epoch = 77;
        c.storage = &store;
        return c;
    }
    /// A client that received a prompt and a streamed answer, then went away.
    void first_visit() {
        client_core c(config("first"));
        c.on_tick(1000);
        ASSERT_TRUE(c.open_session("chat"));
        c.on_transport_open();
        c.on_frame(proto::encode(proto::attached{"chat", 5, 0}));
        c.on_frame(proto::encode(proto::event_batch{"chat", {ev(1, "user.prompt", "p", R"({"text":"hi"})"),
                                                             ev(2, "message.start", "r", "{}"),
                                                             ev(3, "message.delta", "r", R"({"text":"Hel"})")}}));
        EXPECT_NE(c.take_updates_json().find("\"persist\":true"), std::string::npos);
    }
};

TEST_F(storage_fixture, a_reload_renders_history_before_the_link_and_asks_only_for_the_tail) {
    first_visit();
    client_core again(config("second"));
    again.on_tick(2000);
    ASSERT_TRUE(again.open_session("chat"));
    const std::string updates = again.take_updates_json();  // no link yet
    EXPECT_NE(updates.find(R"("lastSerial":3,"epoch":5)"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("id":"r","role":"assistant","agent":"agent","text":"Hel","status":"streaming")"), std::string::npos) << updates;
    EXPECT_NE(updates.find(R"("text":"hi")"), std::string::npos) << updates;
    again.on_transport_open();
    const auto frames = again.take_frames();
    ASSERT_GE(frames.size(), 2u);
    const auto attach = std::get<proto::attach>(proto::decode(frames[1]).value());
    EXPECT_EQ(attach.from_serial, 3u);
    EXPECT_EQ(attach.epoch, 5u);
    again.on_frame(proto::encode(proto::attached{"chat", 5, 4}));
    again.on_frame(proto::encode(proto::event_batch{"chat", {ev(4, "message.delta", "r", R"({"text":"lo"})")}}));
    EXPECT_EQ(again.find_conversation("chat")->messages()[1].text, "Hello");
    EXPECT_EQ(again.find_session("chat")->state(), session_state::live);
}

TEST_F(storage_fixture, an_unacknowledged_publish_survives_a_reload_and_is_resent_unchanged) {
    std::string sent_first;
    {
        client_core c(config("tab-1"));
        auto request = c.publish("chat", "user.prompt", "p-9", R"({"text":"offline question"})");
        ASSERT_TRUE(request);
        c.on_transport_open();
        sent_first = c.take_frames().back();  // it went out, but the link died before the ack
    }
    client_core reloaded(config("tab-1-reloaded"));
    EXPECT_EQ(reloaded.client_id(), "tab-1") << "the stored producer continues";
    EXPECT_EQ(reloaded.pending_publishes(), 1u);
    reloaded.on_transport_open();
    const auto frames = reloaded.take_frames();
    ASSERT_EQ(frames.size(), 2u);  // hello, the resent publish
    EXPECT_EQ(frames[1], sent_first) << "same producer, epoch and sequence: the relay deduplicates";
    // New publishes continue the sequence instead of reusing it.
    ASSERT_TRUE(reloaded.publish("chat", "user.prompt", "p-10", R"({"text":"next"})"));
    const auto next = std::get<proto::publish>(proto::decode(reloaded.take_frames().back()).value());
    EXPECT_EQ(next.producer_seq, 2u);
    EXPECT_EQ(next.producer_epoch, 77u);
    reloaded.on_frame(proto::encode(proto::ack{"chat", "tab-1", 1, 10}));
    reloaded.on_frame(proto::encode(proto::ack{"chat", "tab-1", 2, 11}));
    EXPECT_EQ(reloaded.pending_publishes(), 0u);
    client_core third(config("tab-1-third"));
    EXPECT_EQ(third.pending_publishes(), 0u) << "acknowledged publishes are gone from storage";
}

TEST_F(storage_fixture, a_new_epoch_at_attach_drops_the_stored_copy) {
    first_visit();
    {
        client_core c(config("x"));
        ASSERT_TRUE(c.open_session("chat"));
        c.on_transport_open();
        c.on_frame(proto::encode(proto::attached{"chat", 6, 1}));
        c.on_frame(proto::encode(proto::event_batch{"chat", {ev(1, "user.prompt", "n", R"({"text":"new log"})")}}));
        const std::string updates = c.take_updates_json();
        EXPECT_NE(updates.find("\"reset\":true"), std::string::npos) << updates;
    }
    client_core later(config("y"));
    ASSERT_TRUE(later.open_session("chat"));
    EXPECT_EQ(later.find_session("chat")->epoch(), 6u);
    EXPECT_EQ(later.find_session("chat")->last_serial(), 1u);
    ASSERT_EQ(later.find_conversation("chat")->messages().size(), 1u);
    EXPECT_EQ(later.find_conversation("chat")->messages()[0].text, "new log");
}

TEST_F(storage_fixture, retention_evicts_the_least_recently_used_closed_sessions) {
    client_config cfg = config("r");
    cfg.retention_limits = retention{2, 1u << 30};
    client_core c(cfg);
    std::uint64_t now = 100;
    for (const char* id : {"a", "b", "c"}) {
        c.on_tick(now += 100);
        ASSERT_TRUE(c.open_session(id));
        c.close_session(id);
    }
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("evicted":["a"])"), std::string::npos) << updates;
    EXPECT_EQ(store.usage().value().size(), 2u);
    ASSERT_TRUE(c.open_session("b"));
    EXPECT_TRUE(c.on_storage_full()) << "c is closed: it can go";
    EXPECT_FALSE(c.on_storage_full()) << "only b is left, and it is open";
    EXPECT_NE(c.take_updates_json().find("every stored session is in use"), std::string::npos);
}

TEST_F(storage_fixture, clearing_a_session_deletes_its_local_copy) {
    first_visit();
    client_core c(config("z"));
    ASSERT_TRUE(c.open_session("chat"));
    c.clear_session("chat");
    EXPECT_EQ(c.find_session("chat"), nullptr);
    EXPECT_TRUE(store.usage().value().empty());
}

TEST_F(storage_fixture, damage_found_on_open_is_reported_with_the_session) {
    first_visit();
    for (auto& [path, content] : files.files()) {
        if (path.find("/r0") != std::string::npos) content += "\x05\x00\x00\x00garbage";
    }
    client_core c(config("d"));
    ASSERT_TRUE(c.open_session("chat"));
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find(R"("corrupt":["torn tail cut after serial 3)"), std::string::npos) << updates;
    EXPECT_EQ(c.find_session("chat")->last_serial(), 3u);
}

} // namespace
} // namespace holdfast::client
