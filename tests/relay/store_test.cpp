// One acceptance suite for the store contract, run against memory_store and sqlite_store, plus the
// SQLite-only durability checks (reopen). Layer: tests (relay).
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <unistd.h>

namespace holdfast::relay {
namespace {

namespace fs = std::filesystem;

/// A fresh directory per test, removed afterwards.
struct temp_dir {
    temp_dir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() /
               ("holdfast-relay-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path path;
};

struct store_kind {
    const char* name;
    std::function<std::unique_ptr<store>(const fs::path& dir)> open;
};

void PrintTo(const store_kind& kind, std::ostream* os) { *os << kind.name; }

class store_suite : public ::testing::TestWithParam<store_kind> {
protected:
    void SetUp() override { store_ = GetParam().open(dir_.path); ASSERT_NE(store_, nullptr); }

    stored_event make(std::uint64_t serial, std::string producer = {}, std::uint64_t seq = 0,
                      std::uint64_t producer_epoch = 0) {
        stored_event e;
        e.event.serial = serial;
        e.event.ts = 1'700'000'000'000 + serial;
        e.event.producer_id = std::move(producer);
        e.event.kind = "message.delta";
        e.event.msg_id = "m" + std::to_string(serial);
        e.event.agent = "agent";
        e.event.payload.bytes = std::string("\xa2hi", 3);
        e.producer_seq = seq;
        e.producer_epoch = producer_epoch;
        return e;
    }

    temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(store_suite, unknown_session_loads_as_nothing) {
    auto info = store_->load("s");
    ASSERT_TRUE(info.has_value());
    EXPECT_FALSE(info.value().has_value());
    auto events = store_->read("s", 0, 10);
    ASSERT_TRUE(events.has_value());
    EXPECT_TRUE(events->empty());
}

TEST_P(store_suite, new_session_has_a_js_safe_nonzero_epoch_that_create_keeps) {
    auto created = store_->create("s");
    ASSERT_TRUE(created.has_value());
    EXPECT_NE(created->epoch, 0u);
    EXPECT_LT(created->epoch, std::uint64_t{1} << 53);
    EXPECT_EQ(created->head_serial, 0u);
    auto again = store_->create("s");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->epoch, created->epoch);
    auto other = store_->create("t");
    ASSERT_TRUE(other.has_value());
    EXPECT_NE(other->epoch, created->epoch);  // 2^-53 odds of a false failure
}

TEST_P(store_suite, append_and_read_ranges) {
    ASSERT_TRUE(store_->create("s").has_value());
    for (std::uint64_t serial = 1; serial <= 20; ++serial) ASSERT_TRUE(store_->append("s", make(serial)).has_value());
    EXPECT_EQ(store_->load("s").value()->head_serial, 20u);

    auto all = store_->read("s", 0, 100).value();
    ASSERT_EQ(all.size(), 20u);
    EXPECT_EQ(all[0], make(1).event);
    EXPECT_EQ(all[19], make(20).event);

    auto middle = store_->read("s", 5, 3).value();
    ASSERT_EQ(middle.size(), 3u);
    EXPECT_EQ(middle[0].serial, 6u);
    EXPECT_EQ(middle[2].serial, 8u);
    EXPECT_TRUE(store_->read("s", 20, 10).value().empty());
    EXPECT_TRUE(store_->read("s", 0, 0).value().empty());
    EXPECT_TRUE(store_->read("other", 0, 10).value().empty());
}

TEST_P(store_suite, nil_payload_round_trips_as_empty) {
    ASSERT_TRUE(store_->create("s").has_value());
    auto e = make(1);
    e.event.payload.bytes.clear();
    ASSERT_TRUE(store_->append("s", e).has_value());
    EXPECT_EQ(store_->read("s", 0, 1).value().at(0), e.event);
}

TEST_P(store_suite, refuses_holes_repeats_and_unknown_sessions) {
    EXPECT_FALSE(store_->append("nobody", make(1)).has_value());
    ASSERT_TRUE(store_->create("s").has_value());
    EXPECT_EQ(store_->append("s", make(2)).err().code, errc::store_failure);
    ASSERT_TRUE(store_->append("s", make(1)).has_value());
    EXPECT_FALSE(store_->append("s", make(1)).has_value());
    EXPECT_EQ(store_->load("s").value()->head_serial, 1u);
    EXPECT_EQ(store_->read("s", 0, 10).value().size(), 1u);
}

TEST_P(store_suite, a_group_keeps_its_good_appends_when_one_inside_it_is_refused) {
    ASSERT_TRUE(store_->create("s").has_value());
    store_->begin_group();
    ASSERT_TRUE(store_->append("s", make(1, "p", 1)).has_value());
    EXPECT_EQ(store_->append("s", make(3, "p", 2)).err().code, errc::store_failure) << "a hole";
    EXPECT_FALSE(store_->append("s", make(2, "p", 1)).has_value()) << "a repeated producer key";
    ASSERT_TRUE(store_->append("s", make(2, "p", 2)).has_value());
    ASSERT_TRUE(store_->end_group().has_value());
    EXPECT_EQ(store_->load("s").value()->head_serial, 2u);
    ASSERT_EQ(store_->read("s", 0, 10).value().size(), 2u);
    EXPECT_EQ(store_->find_producer("s", "p", 0, 2).value(), std::optional<std::uint64_t>(2));
    ASSERT_TRUE(store_->append("s", make(3)).has_value()) << "alone again after the group";
}

TEST_P(store_suite, producer_lookup_for_dedup) {
    ASSERT_TRUE(store_->create("s").has_value());
    ASSERT_TRUE(store_->append("s", make(1, "p1", 1)).has_value());
    ASSERT_TRUE(store_->append("s", make(2, "p1", 2)).has_value());
    ASSERT_TRUE(store_->append("s", make(3, "p2", 1)).has_value());
    ASSERT_TRUE(store_->append("s", make(4)).has_value());
    ASSERT_TRUE(store_->append("s", make(5)).has_value());  // empty producer ids never collide

    EXPECT_EQ(store_->find_producer("s", "p1", 0, 2).value(), std::optional<std::uint64_t>(2));
    EXPECT_EQ(store_->find_producer("s", "p2", 0, 1).value(), std::optional<std::uint64_t>(3));
    EXPECT_FALSE(store_->find_producer("s", "p2", 0, 2).value().has_value());
    EXPECT_FALSE(store_->find_producer("t", "p1", 0, 1).value().has_value());
    // The store refuses a second event with the same producer key even if asked.
    EXPECT_FALSE(store_->append("s", make(6, "p1", 1)).has_value());
    EXPECT_EQ(store_->load("s").value()->head_serial, 5u);
    // Large sequence numbers (above 2^63) round-trip.
    const std::uint64_t big = ~std::uint64_t{0} - 1;
    ASSERT_TRUE(store_->append("s", make(6, "p3", big)).has_value());
    EXPECT_EQ(store_->find_producer("s", "p3", 0, big).value(), std::optional<std::uint64_t>(6));
}

TEST_P(store_suite, producer_positions_and_lookups_by_epoch) {
    ASSERT_TRUE(store_->create("s").has_value());
    ASSERT_TRUE(store_->append("s", make(1, "p", 1, 500)).has_value());
    ASSERT_TRUE(store_->append("s", make(2, "p", 2, 500)).has_value());
    ASSERT_TRUE(store_->append("s", make(3, "q", 10, 700)).has_value());
    ASSERT_TRUE(store_->append("s", make(4, "p", 1, 900)).has_value());  // p restarted: same seq, new epoch
    ASSERT_TRUE(store_->append("s", make(5)).has_value());

    using position = std::optional<producer_position>;
    EXPECT_EQ(store_->producer_state("s", "p").value(), position(producer_position{900, 1}))
        << "the highest epoch wins over a higher sequence of an older one";
    EXPECT_EQ(store_->producer_state("s", "q").value(), position(producer_position{700, 10}));
    EXPECT_FALSE(store_->producer_state("s", "r").value().has_value());
    EXPECT_FALSE(store_->producer_state("t", "p").value().has_value());

    EXPECT_EQ(store_->find_producer("s", "p", 500, 1).value(), std::optional<std::uint64_t>(1));
    EXPECT_EQ(store_->find_producer("s", "p", 900, 1).value(), std::optional<std::uint64_t>(4));
    EXPECT_FALSE(store_->find_producer("s", "p", 900, 2).value().has_value());
    EXPECT_FALSE(store_->find_producer("s", "p", 0, 1).value().has_value());
    EXPECT_FALSE(store_->append("s", make(6, "p", 1, 900)).has_value()) << "(id, epoch, seq) is unique";
    EXPECT_EQ(store_->read("s", 0, 10).value().size(), 5u);
}

TEST_P(store_suite, the_relays_own_events_carry_no_sequence_and_may_repeat_it) {
    ASSERT_TRUE(store_->create("s").has_value());
    ASSERT_TRUE(store_->append("s", make(1, "p", 1, 500)).has_value());
    ASSERT_TRUE(store_->append("s", make(2, "relay")).has_value());
    ASSERT_TRUE(store_->append("s", make(3, "relay")).has_value()) << "(relay, 0, 0) twice";
    EXPECT_FALSE(store_->producer_state("s", "relay").value().has_value()) << "no position";
    EXPECT_FALSE(store_->find_producer("s", "relay", 0, 0).value().has_value()) << "no dedup entry";
    EXPECT_EQ(store_->read("s", 0, 10).value().at(2).producer_id, "relay");
}

INSTANTIATE_TEST_SUITE_P(
    stores, store_suite,
    ::testing::Values(store_kind{"memory", [](const fs::path&) -> std::unique_ptr<store> {
                                     return std::make_unique<memory_store>();
                                 }},
                      store_kind{"sqlite", [](const fs::path& dir) -> std::unique_ptr<store> {
                                     auto opened = sqlite_store::open((dir / "relay.db").string());
                                     EXPECT_TRUE(opened.has_value());
                                     return opened ? std::move(opened).value() : nullptr;
                                 }}),
    [](const ::testing::TestParamInfo<store_kind>& info) { return std::string(info.param.name); });

/// Event `serial` of producer "p", which numbers its publishes like the serials.
stored_event sequenced(std::uint64_t serial) {
    stored_event e;
    e.event.serial = serial;
    e.event.kind = "k";
    e.event.producer_id = "p";
    e.producer_seq = serial;
    return e;
}

TEST(sqlite_store_durability, epoch_head_and_events_survive_reopen) {
    temp_dir dir;
    const std::string path = (dir.path / "relay.db").string();
    session_info before;
    {
        auto s = sqlite_store::open(path);
        ASSERT_TRUE(s.has_value());
        before = s.value()->create("s").value();
        for (std::uint64_t serial = 1; serial <= 3; ++serial) ASSERT_TRUE(s.value()->append("s", sequenced(serial)).has_value());
    }
    auto s = sqlite_store::open(path);
    ASSERT_TRUE(s.has_value());
    auto info = s.value()->load("s").value();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->epoch, before.epoch);
    EXPECT_EQ(info->head_serial, 3u);
    EXPECT_EQ(s.value()->create("s").value().epoch, before.epoch);
    EXPECT_EQ(s.value()->find_producer("s", "p", 0, 2).value(), std::optional<std::uint64_t>(2));
    EXPECT_EQ(s.value()->read("s", 0, 10).value().size(), 3u);
}

TEST(sqlite_store_durability, a_group_of_appends_is_committed_once_at_its_end) {
    temp_dir dir;
    const std::string path = (dir.path / "relay.db").string();
    auto writer = sqlite_store::open(path);
    auto reader = sqlite_store::open(path);
    ASSERT_TRUE(writer.has_value() && reader.has_value());
    ASSERT_TRUE(writer.value()->create("s").has_value());
    writer.value()->begin_group();
    for (std::uint64_t serial = 1; serial <= 3; ++serial) ASSERT_TRUE(writer.value()->append("s", sequenced(serial)).has_value());
    EXPECT_EQ(reader.value()->read("s", 0, 10).value().size(), 0u) << "nothing committed inside the group";
    ASSERT_TRUE(writer.value()->end_group().has_value());
    EXPECT_EQ(reader.value()->read("s", 0, 10).value().size(), 3u) << "all of it at the end";
    EXPECT_EQ(reader.value()->load("s").value()->head_serial, 3u);
}

/// Runs SQL on a database file outside sqlite_store (to build old files or look inside).
std::int64_t raw_sql(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::int64_t last = 0;
    char* message = nullptr;
    const int rc = sqlite3_exec(
        db, sql,
        [](void* out, int columns, char** values, char**) {
            if (columns > 0 && values[0]) *static_cast<std::int64_t*>(out) = std::stoll(values[0]);
            return 0;
        },
        &last, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return last;
}

TEST(sqlite_store_schema, a_version_1_file_is_migrated_in_place) {
    temp_dir dir;
    const std::string path = (dir.path / "old.db").string();
    // The schema as the first relay release wrote it, with a producer that acked seq 1 and 2.
    raw_sql(path, R"sql(
        CREATE TABLE sessions (id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, head_serial INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE events (session TEXT NOT NULL, serial INTEGER NOT NULL, ts INTEGER NOT NULL,
          producer_id TEXT NOT NULL, producer_seq INTEGER NOT NULL, kind TEXT NOT NULL, msg_id TEXT NOT NULL,
          agent TEXT NOT NULL, payload BLOB, PRIMARY KEY (session, serial)) WITHOUT ROWID;
        CREATE UNIQUE INDEX events_by_producer ON events (session, producer_id, producer_seq) WHERE producer_id <> '';
        INSERT INTO sessions VALUES ('s', 4242, 3);
        INSERT INTO events VALUES ('s', 1, 10, 'p', 1, 'k', '', '', NULL), ('s', 2, 11, 'p', 2, 'k', '', '', NULL),
                                  ('s', 3, 12, '', 0, 'k', '', '', NULL);
    )sql");
    for (int reopen = 0; reopen < 2; ++reopen) {  // the second open finds the current version, changes nothing
        auto s = sqlite_store::open(path);
        ASSERT_TRUE(s.has_value()) << s.err().detail;
        EXPECT_EQ(s.value()->load("s").value(),
                  std::optional<session_info>(session_info{4242, 3u + static_cast<unsigned>(reopen)}));
        const producer_position expected = reopen == 0 ? producer_position{0, 2}  // old events are epoch 0
                                                       : producer_position{1'700'000'000'000, 1};
        EXPECT_EQ(s.value()->producer_state("s", "p").value(), std::optional<producer_position>(expected));
        EXPECT_EQ(s.value()->find_producer("s", "p", 0, 1).value(), std::optional<std::uint64_t>(1));
        EXPECT_EQ(s.value()->read("s", 0, 10).value().size(), 3u + reopen);
        if (reopen == 0) {
            stored_event next;
            next.event.serial = 4;
            next.event.kind = "k";
            next.event.producer_id = "p";
            next.producer_epoch = 1'700'000'000'000;
            next.producer_seq = 1;  // a new incarnation reuses seq 1: allowed by the new index
            ASSERT_TRUE(s.value()->append("s", next).has_value());
        }
    }
    EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), sqlite_store::schema_version);
    EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'events_by_producer'"), 0);
}

TEST(sqlite_store_schema, a_version_2_file_gets_the_index_without_sequence_0) {
    temp_dir dir;
    const std::string path = (dir.path / "v2.db").string();
    raw_sql(path, R"sql(
        CREATE TABLE sessions (id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, head_serial INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE events (session TEXT NOT NULL, serial INTEGER NOT NULL, ts INTEGER NOT NULL,
          producer_id TEXT NOT NULL, producer_seq INTEGER NOT NULL, kind TEXT NOT NULL, msg_id TEXT NOT NULL,
          agent TEXT NOT NULL, payload BLOB, producer_epoch INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (session, serial)) WITHOUT ROWID;
        CREATE UNIQUE INDEX events_by_producer_epoch ON events (session, producer_id, producer_epoch, producer_seq)
          WHERE producer_id <> '';
        INSERT INTO sessions VALUES ('s', 4242, 1);
        INSERT INTO events VALUES ('s', 1, 10, 'p', 3, 'k', '', '', NULL, 77);
        PRAGMA user_version = 2;
    )sql");
    auto s = sqlite_store::open(path);
    ASSERT_TRUE(s.has_value()) << s.err().detail;
    EXPECT_EQ(s.value()->producer_state("s", "p").value(), std::optional<producer_position>(producer_position{77, 3}));
    for (std::uint64_t serial : {2u, 3u}) {
        stored_event relay_event;
        relay_event.event.serial = serial;
        relay_event.event.kind = "control.outcome";
        relay_event.event.producer_id = "relay";
        ASSERT_TRUE(s.value()->append("s", relay_event).has_value()) << serial;
    }
    EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), sqlite_store::schema_version);
    EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'events_by_producer_epoch'"), 0);
}

TEST(sqlite_store_schema, a_file_from_a_newer_relay_is_refused) {
    temp_dir dir;
    const std::string path = (dir.path / "new.db").string();
    raw_sql(path, "PRAGMA user_version = 99");
    auto s = sqlite_store::open(path);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.err().code, errc::store_failure);
    EXPECT_NE(s.err().detail.find("newer"), std::string::npos) << s.err().detail;
}

TEST(sqlite_store_durability, unopenable_path_is_a_store_failure) {
    auto s = sqlite_store::open("/nonexistent-dir/for/sure/relay.db");
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.err().code, errc::store_failure);
}

TEST(open_store, parses_urls) {
    EXPECT_TRUE(open_store("memory:").has_value());
    EXPECT_FALSE(open_store("redis://x").has_value());
    EXPECT_FALSE(open_store("sqlite:").has_value());
}

} // namespace
} // namespace holdfast::relay
