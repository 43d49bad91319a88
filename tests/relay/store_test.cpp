// One acceptance suite for the store contract, run against memory_store and sqlite_store, plus the
// SQLite-only durability checks (reopen). Layer: tests (relay).
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/sqlite_store.hpp"

#include <gtest/gtest.h>

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

    stored_event make(std::uint64_t serial, std::string producer = {}, std::uint64_t seq = 0) {
        stored_event e;
        e.event.serial = serial;
        e.event.ts = 1'700'000'000'000 + serial;
        e.event.producer_id = std::move(producer);
        e.event.kind = "message.delta";
        e.event.msg_id = "m" + std::to_string(serial);
        e.event.agent = "agent";
        e.event.payload.bytes = std::string("\xa2hi", 3);
        e.producer_seq = seq;
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

TEST_P(store_suite, producer_lookup_for_dedup) {
    ASSERT_TRUE(store_->create("s").has_value());
    ASSERT_TRUE(store_->append("s", make(1, "p1", 1)).has_value());
    ASSERT_TRUE(store_->append("s", make(2, "p1", 2)).has_value());
    ASSERT_TRUE(store_->append("s", make(3, "p2", 1)).has_value());
    ASSERT_TRUE(store_->append("s", make(4)).has_value());
    ASSERT_TRUE(store_->append("s", make(5)).has_value());  // empty producer ids never collide

    EXPECT_EQ(store_->find_producer("s", "p1", 2).value(), std::optional<std::uint64_t>(2));
    EXPECT_EQ(store_->find_producer("s", "p2", 1).value(), std::optional<std::uint64_t>(3));
    EXPECT_FALSE(store_->find_producer("s", "p2", 2).value().has_value());
    EXPECT_FALSE(store_->find_producer("t", "p1", 1).value().has_value());
    // The store refuses a second event with the same producer key even if asked.
    EXPECT_FALSE(store_->append("s", make(6, "p1", 1)).has_value());
    EXPECT_EQ(store_->load("s").value()->head_serial, 5u);
    // Large sequence numbers (above 2^63) round-trip.
    const std::uint64_t big = ~std::uint64_t{0} - 1;
    ASSERT_TRUE(store_->append("s", make(6, "p3", big)).has_value());
    EXPECT_EQ(store_->find_producer("s", "p3", big).value(), std::optional<std::uint64_t>(6));
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

TEST(sqlite_store_durability, epoch_head_and_events_survive_reopen) {
    temp_dir dir;
    const std::string path = (dir.path / "relay.db").string();
    session_info before;
    {
        auto s = sqlite_store::open(path);
        ASSERT_TRUE(s.has_value());
        before = s.value()->create("s").value();
        for (std::uint64_t serial = 1; serial <= 3; ++serial) {
            stored_event e;
            e.event.serial = serial;
            e.event.kind = "k";
            e.event.producer_id = "p";
            e.producer_seq = serial;
            ASSERT_TRUE(s.value()->append("s", e).has_value());
        }
    }
    auto s = sqlite_store::open(path);
    ASSERT_TRUE(s.has_value());
    auto info = s.value()->load("s").value();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->epoch, before.epoch);
    EXPECT_EQ(info->head_serial, 3u);
    EXPECT_EQ(s.value()->create("s").value().epoch, before.epoch);
    EXPECT_EQ(s.value()->find_producer("s", "p", 2).value(), std::optional<std::uint64_t>(2));
    EXPECT_EQ(s.value()->read("s", 0, 10).value().size(), 3u);
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
