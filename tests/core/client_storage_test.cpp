// client_core with local history: a reload shows what it had before the link opens and resumes
// for the tail only; unacknowledged publishes survive a reload byte for byte (and the new page
// publishes under its own producer, never a stale stored one; an adopted control settles with an
// outcome stored before the reload); a new epoch drops
// the stored copy; retention and a full quota evict least recently used sessions; damage is told.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"
#include "../support/update_json.hpp"

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
        (void)c.take_updates_json();           // the host's drain: the outbox is written here
    }
    auto reloaded_config = config("tab-1-reloaded");
    reloaded_config.producer_epoch = 78;
    client_core reloaded(reloaded_config);
    EXPECT_EQ(reloaded.client_id(), "tab-1-reloaded") << "a new page is a new producer";
    EXPECT_EQ(reloaded.pending_publishes(), 1u);
    reloaded.on_transport_open();
    const auto frames = reloaded.take_frames();
    ASSERT_EQ(frames.size(), 2u);  // hello, the resent publish
    EXPECT_EQ(frames[1], sent_first) << "same producer, epoch and sequence: the relay deduplicates";
    // New publishes go out under the page's own producer, numbered from 1.
    ASSERT_TRUE(reloaded.publish("chat", "user.prompt", "p-10", R"({"text":"next"})"));
    const auto next = std::get<proto::publish>(proto::decode(reloaded.take_frames().back()).value());
    EXPECT_EQ(next.producer_id, "tab-1-reloaded");
    EXPECT_EQ(next.producer_seq, 1u);
    EXPECT_EQ(next.producer_epoch, 78u);
    reloaded.on_frame(proto::encode(proto::ack{"chat", "tab-1", 1, 10}));  // the adopted one
    reloaded.on_frame(proto::encode(proto::ack{"chat", "tab-1-reloaded", 1, 11}));
    using ack_list = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    EXPECT_EQ(testing::acks(reloaded.take_updates_json()), (ack_list{{1, 10}, {2, 11}}));
    EXPECT_EQ(reloaded.pending_publishes(), 0u);
    client_core third(config("tab-1-third"));
    EXPECT_EQ(third.pending_publishes(), 0u) << "acknowledged publishes are gone from storage";
}

TEST_F(storage_fixture, a_stored_publish_that_is_unreadable_or_disagrees_with_its_record_is_dropped_and_told) {
    {
        client_core c(config("tab-1"));
        ASSERT_TRUE(c.publish("chat", "user.prompt", "p-1", R"({"text":"kept"})"));
        (void)c.take_updates_json();
    }
    auto stored = proto::decode_struct<stored_producer>(files.read("/holdfast/producer").value()).value();
    ASSERT_EQ(stored.pending.size(), 1u);
    const stored_publish good = stored.pending[0];
    stored_publish garbage = good;
    garbage.frame.bytes = std::string("\x81\xa4" "type" "\x05", 7);  // {"type": 5}: no frame
    stored_publish other_session = good;
    other_session.session = "elsewhere";  // the frame says "chat"
    stored_publish other_seq = good;
    other_seq.producer_seq = 9;  // the frame says 1
    stored_publish not_a_write = good;
    not_a_write.frame.bytes = proto::encode(proto::ping{4});
    stored.pending = {garbage, other_session, good, other_seq, not_a_write};
    ASSERT_TRUE(files.write("/holdfast/producer", proto::encode_struct(stored)));

    client_core reloaded(config("tab-2"));
    EXPECT_EQ(reloaded.pending_publishes(), 1u) << "only the one that agrees with its record is adopted";
    const std::string updates = reloaded.take_updates_json();
    std::size_t told = 0;
    for (std::size_t at = 0; (at = updates.find("stored unacknowledged publish is unreadable", at)) != std::string::npos; ++at) ++told;
    EXPECT_EQ(told, 4u) << updates;
    reloaded.on_transport_open();
    const auto frames = reloaded.take_frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1], good.frame.bytes);
}

/// A stored publish whose identity is intact but whose body is damaged (its "kind" lost).
struct identity_only_publish {
    std::string type = "publish";
    std::string session;
    std::string producer_id;
    std::uint64_t producer_seq = 0;
};
BOOST_DESCRIBE_STRUCT(identity_only_publish, (), (type, session, producer_id, producer_seq))

TEST_F(storage_fixture, a_stored_publish_the_relay_cannot_read_is_dropped_not_adopted_forever) {
    {
        client_core c(config("tab-1"));
        ASSERT_TRUE(c.publish("chat", "user.prompt", "p-1", R"({"text":"one"})"));
        ASSERT_TRUE(c.publish("chat", "user.prompt", "p-2", R"({"text":"two"})"));
        (void)c.take_updates_json();
    }
    auto stored = proto::decode_struct<stored_producer>(files.read("/holdfast/producer").value()).value();
    ASSERT_EQ(stored.pending.size(), 2u);
    // The first one's identity agrees with its record, but it is no publish the relay can read:
    // its decode fails (missing kind), and the relay's error names no session, so it never settles.
    stored.pending[0].frame.bytes = proto::encode_struct(identity_only_publish{"publish", "chat", "tab-1", 1});
    ASSERT_FALSE(proto::decode(stored.pending[0].frame.bytes)) << "the relay's decoder refuses it";
    ASSERT_TRUE(files.write("/holdfast/producer", proto::encode_struct(stored)));

    client_core reloaded(config("tab-2"));
    EXPECT_EQ(reloaded.pending_publishes(), 1u) << "a stored publish the relay cannot read is dropped and told";
    EXPECT_NE(reloaded.take_updates_json().find("stored unacknowledged publish is unreadable"), std::string::npos);

    // What the relay answers: the unreadable frame gets an error naming no session; the good one,
    // sequence 2 of a producer it never saw sequence 1 of, a sequence_gap. Adopted, the unreadable
    // one holds the good one in a resend loop: it is kept "behind an earlier waiting publish".
    reloaded.on_tick(1000);
    reloaded.on_transport_open();
    (void)reloaded.take_frames();
    reloaded.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(errc::missing_field), "kind",
                                                       std::nullopt, std::nullopt, std::nullopt}));
    reloaded.on_frame(proto::encode(proto::error_frame{static_cast<std::uint32_t>(errc::sequence_gap), "expected 1",
                                                       std::string("chat"), 2u, std::string("tab-1")}));
    const std::string updates = reloaded.take_updates_json();
    EXPECT_NE(updates.find(R"("rejects":[{"request")"), std::string::npos) << "the gap is the app's to hear: " << updates;
    reloaded.on_tick(2000);
    EXPECT_TRUE(reloaded.take_frames().empty()) << "nothing is resent in a loop";
}

TEST_F(storage_fixture, the_outbox_is_written_once_per_drain_not_once_per_publish) {
    // An agent pipelining publishes must not re-encode its whole outbox per publish (quadratic):
    // the producer is written when the host takes the updates, which is also the only moment it
    // learns to sync storage, so nothing the host could have synced is missing from it.
    client_core c(config("tab-1"));
    c.on_transport_open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.publish("chat", "k", "", std::to_string(i)));
    EXPECT_FALSE(files.read("/holdfast/producer")) << "not written before the drain";
    const std::string updates = c.take_updates_json();
    EXPECT_NE(updates.find("\"persist\":true"), std::string::npos) << updates;
    auto stored = proto::decode_struct<stored_producer>(files.read("/holdfast/producer").value());
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->pending.size(), 3u);
    EXPECT_EQ(stored->pending[2].session, "chat");
    EXPECT_EQ(stored->pending[2].producer_seq, 3u);
    EXPECT_EQ(c.take_updates_json(), "") << "nothing changed: no second write, no persist";
    c.on_frame(proto::encode(proto::ack{"chat", "tab-1", 2, 9}));
    (void)c.take_updates_json();
    stored = proto::decode_struct<stored_producer>(files.read("/holdfast/producer").value());
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->pending.size(), 2u);
    EXPECT_EQ(stored->pending[0].producer_seq, 1u);
    EXPECT_EQ(stored->pending[1].producer_seq, 3u);
}

TEST_F(storage_fixture, a_new_page_never_reuses_a_sequence_of_a_stale_stored_producer) {
    // IndexedDB is synced some time after a publish. Here the relay acknowledged p-2 (tab-1's
    // sequence 2), and the browser crashed before the copy holding it reached IndexedDB. The next
    // page used to continue tab-1 from the stale copy: its first publish was tab-1's sequence 2
    // again, which the relay answered as a duplicate with p-2's serial — never appended.
    std::map<std::string, std::string> synced;
    {
        client_core first(config("tab-1"));
        first.on_transport_open();
        ASSERT_TRUE(first.publish("chat", "user.prompt", "p-1", R"({"text":"one"})"));
        first.on_frame(proto::encode(proto::ack{"chat", "tab-1", 1, 1}));
        (void)first.take_updates_json();
        synced = files.files();  // the last sync
        ASSERT_TRUE(first.publish("chat", "user.prompt", "p-2", R"({"text":"two"})"));
        first.on_frame(proto::encode(proto::ack{"chat", "tab-1", 2, 2}));
    }
    files.files() = synced;  // what the browser finds after the crash
    auto next_config = config("tab-2");
    next_config.producer_epoch = 78;
    client_core next(next_config);
    next.on_transport_open();
    (void)next.take_frames();
    ASSERT_TRUE(next.publish("chat", "user.prompt", "p-3", R"({"text":"three"})"));
    const auto sent = std::get<proto::publish>(proto::decode(next.take_frames().back()).value());
    EXPECT_EQ(sent.producer_id, "tab-2");
    EXPECT_EQ(sent.producer_seq, 1u);
    EXPECT_EQ(sent.producer_epoch, 78u);
}

TEST_F(storage_fixture, an_adopted_control_settles_with_an_outcome_stored_before_the_reload) {
    // The control was appended and its outcome delivered (and stored), but its ack was lost with
    // the link; the page reloaded. The resent control is acked with its first serial: the outcome
    // is already in the stored conversation, and must settle it.
    {
        client_core first(config("tab-1"));
        ASSERT_TRUE(first.open_session("chat"));
        first.on_transport_open();
        first.on_frame(proto::encode(proto::attached{"chat", 5, 0}));
        first.on_frame(proto::encode(proto::event_batch{"chat", {ev(1, "message.start", "r", "{}")}}));
        ASSERT_TRUE(first.control("chat", "cancel", "r", "{}"));
        auto cancel = ev(2, "control.cancel", "r", "{}");
        cancel.producer_id = "tab-1";
        auto outcome = ev(4, "control.outcome", "r", R"({"control":2,"action":"cancel","target":"r","outcome":"applied"})");
        outcome.producer_id = "relay";
        first.on_frame(proto::encode(proto::event_batch{
            "chat", {cancel, ev(3, "message.end", "r", R"({"status":"cancelled"})"), outcome}}));
        (void)first.take_updates_json();  // the host's drain, then the page went away
    }
    client_core second(config("tab-2"));
    EXPECT_EQ(second.pending_publishes(), 1u);
    ASSERT_TRUE(second.open_session("chat"));
    second.on_transport_open();
    second.on_frame(proto::encode(proto::attached{"chat", 5, 4}));
    (void)second.take_updates_json();
    second.on_frame(proto::encode(proto::ack{"chat", "tab-1", 1, 2}));
    const std::string updates = second.take_updates_json();
    EXPECT_NE(updates.find(R"("controls":[{"request":1,"outcome":"applied","reason":""}])"), std::string::npos) << updates;
}

TEST_F(storage_fixture, outcomes_survive_compaction_of_the_history) {
    // The stored conversation keeps control outcomes through folding (they are not messages).
    history_store big_store{files, "/big"};
    {
        auto h = big_store.open("chat", 0).value();
        auto outcome = ev(1, "control.outcome", "r", R"({"control":7,"action":"cancel","target":"r","outcome":"too_late"})");
        ASSERT_TRUE(h->append(outcome));
        const std::string filler(3000, 'x');
        for (std::uint64_t serial = 2; serial <= 40; ++serial) {
            ASSERT_TRUE(h->append(ev(serial, "message.delta", "r", R"({"text":")" + filler + R"("})")));
        }
    }
    bool folded = false;
    for (const auto& [path, content] : files.files()) folded |= path.find("/c0") != std::string::npos;
    ASSERT_TRUE(folded) << "the history was compacted into a chunk";
    auto reopened = big_store.open("chat", 0).value();
    conversation view;
    reopened->restore_into(view);
    ASSERT_NE(view.outcome_of(7), nullptr);
    EXPECT_EQ(view.outcome_of(7)->outcome, "too_late");
    EXPECT_EQ(view.outcome_of(2), nullptr);
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
