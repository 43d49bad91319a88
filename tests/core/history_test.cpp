// History on a real directory: reopen, torn tails, bit flips in sealed segments, compaction that
// keeps the materialized view and serial continuity, epochs, and retention's eviction order.
#include "holdfast/history.hpp"
#include "holdfast/history_store.hpp"
#include "holdfast/json.hpp"

#include "../support/scratch_dir.hpp"

#include <boost/crc.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace holdfast::client {
namespace {

namespace fs = std::filesystem;

class history_test : public ::testing::Test {
protected:
    std::string dir() const { return (root_ / "s_chat").string(); }
    std::unique_ptr<history> open(history_config config = small()) {
        auto h = history::open(files_, dir(), "chat", ++clock_, config);
        EXPECT_TRUE(h) << (h ? "" : h.err().detail);
        return std::move(h).value();
    }
    static history_config small() { return history_config{512, 1000}; }  // many segments, no folding

    /// A session's events: prompts, two agents' interleaved answers, and other kinds.
    std::vector<proto::event> script(std::size_t answers, std::size_t words) {
        std::vector<proto::event> events;
        auto add = [&](std::string kind, std::string msg_id, std::string agent, std::string payload) {
            events.push_back(proto::event{events.size() + 1, 1000 + events.size(), "p", std::move(kind), std::move(msg_id),
                                          std::move(agent), proto::raw_value{json::to_msgpack(payload).value()}});
        };
        for (std::size_t a = 0; a < answers; ++a) {
            const std::string n = std::to_string(a);
            add("user.prompt", "q" + n, "", R"({"text":"question )" + n + R"("})");
            add("message.start", "a" + n, "writer", "{}");
            add("message.start", "b" + n, "critic", "{}");
            for (std::size_t w = 0; w < words; ++w) {
                add("message.delta", "a" + n, "writer", R"({"text":"w)" + std::to_string(w) + R"( "})");
                if (w % 3 == 0) add("message.delta", "b" + n, "critic", R"({"text":"c)" + std::to_string(w) + R"( "})");
                if (w % 17 == 0) add("status", "", "writer", R"({"state":"streaming"})");
            }
            add("message.end", "a" + n, "writer", R"({"status":"complete"})");
            add("message.end", "b" + n, "critic", R"({"status":"cancelled","reason":"user"})");
        }
        return events;
    }

    static std::string render(const conversation& c) {
        std::string out;
        for (std::size_t i = 0; i < c.messages().size(); ++i) append_message_json(c.messages()[i], i, out);
        return out;
    }
    static std::string render_prefix(const std::vector<proto::event>& events, std::uint64_t last) {
        conversation c;
        for (const auto& e : events) {
            if (e.serial <= last) c.apply(e);
        }
        return render(c);
    }
    static std::string render_restored(const history& h) {
        conversation c;
        h.restore_into(c);
        return render(c);
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& entry : fs::directory_iterator(dir())) out.push_back(entry.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }

    holdfast::testing::scratch_dir scratch_{"holdfast-history"};
    const fs::path root_ = scratch_.path();
    posix_file_system files_;
    std::uint64_t clock_ = 0;
};

TEST_F(history_test, records_carry_their_length_and_the_standard_crc32_of_their_body) {
    // Histories already in browsers were written with this format: the header must stay the
    // IEEE CRC-32 (checked against Boost's) whatever the body's length modulo the CRC's step.
    auto u32_at = [](const std::string& bytes, std::size_t at) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
        return v;
    };
    for (std::size_t extra = 0; extra < 9; ++extra) {
        proto::event e{7, 1234, "p", "message.delta", "m1", "writer",
                       proto::raw_value{json::to_msgpack(R"({"text":")" + std::string(extra, 'x') + R"("})").value()}};
        const std::string record = history::frame_record(history_record{e, std::nullopt, std::nullopt, std::nullopt});
        const std::string body = record.substr(8);
        EXPECT_EQ(u32_at(record, 0), body.size());
        boost::crc_32_type reference;
        reference.process_bytes(body.data(), body.size());
        EXPECT_EQ(u32_at(record, 4), reference.checksum()) << "body of " << body.size() << " bytes";
        std::string appended = "prefix";
        history::append_event_record(e, appended);
        EXPECT_EQ(appended, "prefix" + record) << "appending in place writes the same bytes";
    }
    // No payload, wide numbers, empty strings: still the codec's bytes.
    const proto::event bare{std::uint64_t{1} << 40, 0, "", "k", "", std::string(300, 'a'), proto::raw_value{}};
    std::string appended;
    history::append_event_record(bare, appended);
    EXPECT_EQ(appended, history::frame_record(history_record{bare, std::nullopt, std::nullopt, std::nullopt}));
}

TEST_F(history_test, appended_events_come_back_after_reopen) {
    const auto events = script(3, 20);
    {
        auto h = open();
        ASSERT_TRUE(h->set_epoch(42));
        for (const auto& e : events) ASSERT_TRUE(h->append(e));
        EXPECT_EQ(h->last_serial(), events.size());
    }
    auto h = open();
    EXPECT_TRUE(h->problems().empty());
    EXPECT_EQ(h->epoch(), 42u);
    EXPECT_EQ(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
    EXPECT_GT(names().size(), 3u) << "small segments: the log was split";
}

TEST_F(history_test, events_appended_in_batches_across_segments_and_folds_read_back_as_one_by_one) {
    const auto events = script(3, 20);
    std::string one_by_one;
    std::vector<std::string> files_one_by_one;
    for (const bool batched : {false, true}) {
        fs::remove_all(dir());
        {
            auto h = open(history_config{512, 3});
            ASSERT_TRUE(h->set_epoch(7));
            if (batched) {
                // Uneven batches, so their edges fall inside segments and across folds.
                for (std::size_t at = 0, size = 1; at < events.size(); at += size, size = size % 37 + 5) {
                    const std::size_t n = std::min(size, events.size() - at);
                    ASSERT_TRUE(h->append(std::span<const proto::event>(events.data() + at, n)));
                }
            } else {
                for (const auto& e : events) ASSERT_TRUE(h->append(e));
            }
            EXPECT_EQ(h->last_serial(), events.size());
        }
        auto h = open(history_config{512, 3});
        EXPECT_TRUE(h->problems().empty());
        EXPECT_EQ(h->last_serial(), events.size());
        EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
        if (!batched) {
            one_by_one = render_restored(*h);
            files_one_by_one = names();
        } else {
            EXPECT_EQ(render_restored(*h), one_by_one);
            EXPECT_EQ(names(), files_one_by_one) << "the same segments and chunks, written fewer times";
        }
    }
    auto h = open(history_config{512, 3});
    EXPECT_FALSE(h->append(std::span<const proto::event>(events.data(), 2))) << "a batch that repeats serials";
}

TEST_F(history_test, out_of_sequence_appends_are_refused) {
    auto h = open();
    ASSERT_TRUE(h->set_epoch(1));
    const auto events = script(1, 3);
    EXPECT_FALSE(h->append(events[1]));
    ASSERT_TRUE(h->append(events[0]));
    EXPECT_FALSE(h->append(events[0])) << "a duplicate";
    EXPECT_EQ(h->last_serial(), 1u);
}

TEST_F(history_test, a_torn_tail_is_cut_and_reported_and_appending_continues) {
    const auto events = script(2, 10);
    {
        auto h = open();
        ASSERT_TRUE(h->set_epoch(7));
        for (const auto& e : events) ASSERT_TRUE(h->append(e));
    }
    const std::string tail = (fs::path(dir()) / names().back()).string();  // the active segment ("meta" sorts first)
    const std::string record = history::frame_record(history_record{events[0], std::nullopt, std::nullopt, std::nullopt});
    std::ofstream(tail, std::ios::binary | std::ios::app) << record.substr(0, record.size() / 2);
    auto h = open();
    ASSERT_EQ(h->problems().size(), 1u);
    EXPECT_NE(h->problems()[0].find("torn tail"), std::string::npos) << h->problems()[0];
    EXPECT_EQ(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
    proto::event next = events.back();
    next.serial = events.size() + 1;
    next.kind = "status";
    ASSERT_TRUE(h->append(next));
    EXPECT_TRUE(open()->problems().empty()) << "the cut left a clean log";
}

TEST_F(history_test, a_bit_flip_in_a_sealed_segment_truncates_history_there) {
    const auto events = script(3, 30);
    {
        auto h = open();
        ASSERT_TRUE(h->set_epoch(7));
        for (const auto& e : events) ASSERT_TRUE(h->append(e));
    }
    const auto before = names();
    ASSERT_GT(before.size(), 5u);
    const std::string sealed = (fs::path(dir()) / before[3]).string();  // the third segment ("meta" sorts first)
    std::string content;
    {
        std::ifstream in(sealed, std::ios::binary);
        content.assign(std::istreambuf_iterator<char>(in), {});
    }
    content[content.size() / 2] ^= 0x10;
    std::ofstream(sealed, std::ios::binary | std::ios::trunc) << content;

    auto h = open();
    ASSERT_FALSE(h->problems().empty());
    EXPECT_NE(h->problems()[0].find("corrupt segment"), std::string::npos) << h->problems()[0];
    EXPECT_LT(h->last_serial(), events.size());
    EXPECT_GT(h->last_serial(), 0u);
    EXPECT_EQ(render_restored(*h), render_prefix(events, h->last_serial())) << "a consistent prefix survives";
    EXPECT_EQ(names().size(), 4u) << "two whole segments, the cut one, and meta";
    // The rest comes again from the relay, in order, from the last serial held.
    for (const auto& e : events) {
        if (e.serial > h->last_serial()) ASSERT_TRUE(h->append(e));
    }
    EXPECT_EQ(render_restored(*open()), render_prefix(events, events.size()));
}

TEST_F(history_test, compaction_keeps_the_view_and_serial_continuity_and_saves_space) {
    const auto events = script(6, 40);  // answers span several chunks
    std::size_t raw_bytes = 0;
    for (const auto& e : events) raw_bytes += history::frame_record(history_record{e, std::nullopt, std::nullopt, std::nullopt}).size();
    history_config folding{512, 3};
    {
        auto h = open(folding);
        ASSERT_TRUE(h->set_epoch(9));
        for (std::size_t i = 0; i < events.size(); ++i) {
            ASSERT_TRUE(h->append(events[i]));
            // Mid-stream the stored view always equals the live one.
            if (i % 97 == 0) EXPECT_EQ(render_restored(*h), render_prefix(events, events[i].serial)) << "at " << i;
        }
        EXPECT_TRUE(h->problems().empty());
        // Tiny segments make every chunk restate the long messages it touches; still well under raw.
        EXPECT_LT(h->bytes(), raw_bytes / 2) << "deltas folded into messages";
    }
    const auto stored = names();
    EXPECT_TRUE(std::any_of(stored.begin(), stored.end(), [](const std::string& n) { return n[0] == 'c'; }));
    auto h = open(folding);
    EXPECT_TRUE(h->problems().empty());
    EXPECT_EQ(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
}

TEST_F(history_test, raw_segments_left_behind_by_an_interrupted_compaction_are_removed) {
    const auto events = script(2, 40);
    history_config folding{512, 3};
    std::map<std::string, std::string> raw_copies;
    {
        auto h = open(folding);
        ASSERT_TRUE(h->set_epoch(9));
        for (const auto& e : events) {
            for (const auto& name : names()) {
                if (name[0] == 'r') {
                    std::ifstream in(fs::path(dir()) / name, std::ios::binary);
                    raw_copies[name].assign(std::istreambuf_iterator<char>(in), {});
                }
            }
            ASSERT_TRUE(h->append(e));
        }
    }
    // Put back raw segments that a chunk already covers, as if the crash came before their deletion.
    std::size_t restored = 0;
    const auto now = names();
    for (const auto& [name, content] : raw_copies) {
        if (std::find(now.begin(), now.end(), name) == now.end()) {
            std::ofstream(fs::path(dir()) / name, std::ios::binary) << content;
            ++restored;
        }
    }
    ASSERT_GT(restored, 0u);
    auto h = open(folding);
    EXPECT_TRUE(h->problems().empty());
    EXPECT_EQ(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
    EXPECT_EQ(names(), now);
}

TEST_F(history_test, a_new_epoch_drops_the_old_log) {
    const auto events = script(1, 5);
    auto h = open();
    ASSERT_TRUE(h->set_epoch(1));
    for (const auto& e : events) ASSERT_TRUE(h->append(e));
    ASSERT_TRUE(h->set_epoch(2));
    EXPECT_EQ(h->last_serial(), 0u);
    EXPECT_EQ(render_restored(*h), "");
    h = open();
    EXPECT_EQ(h->epoch(), 2u);
    EXPECT_EQ(h->last_serial(), 0u);
}

TEST_F(history_test, unreadable_meta_drops_the_history_and_says_so) {
    {
        auto h = open();
        ASSERT_TRUE(h->set_epoch(3));
        for (const auto& e : script(1, 5)) ASSERT_TRUE(h->append(e));
    }
    std::ofstream(fs::path(dir()) / "meta", std::ios::binary | std::ios::trunc) << "\xC1\xC1";
    auto h = open();
    ASSERT_EQ(h->problems().size(), 1u);
    EXPECT_EQ(h->last_serial(), 0u);
    EXPECT_EQ(h->epoch(), 0u);
}

TEST_F(history_test, eviction_removes_least_recently_used_sessions_first_and_spares_those_in_use) {
    history_store store(files_, root_.string(), small());
    for (const char* id : {"old", "middle", "new", "busy"}) {
        auto h = store.open(id, ++clock_).value();
        ASSERT_TRUE(h->set_epoch(1));
        for (const auto& e : script(1, 10)) ASSERT_TRUE(h->append(e));
    }
    (void)store.open("old", ++clock_).value();  // used again: now the most recent
    auto order = store.usage().value();
    ASSERT_EQ(order.size(), 4u);
    EXPECT_EQ(order[0].session, "middle");
    EXPECT_GT(order[0].bytes, 0u);

    auto evicted = store.evict(retention{2, 1u << 30}, {"middle"}).value();
    EXPECT_EQ(evicted, (std::vector<std::string>{"new", "busy"})) << "middle is in use; the next oldest go";
    const std::size_t one = store.usage().value()[0].bytes;
    evicted = store.evict(retention{10, one + one / 2}, {}).value();
    EXPECT_EQ(evicted, (std::vector<std::string>{"middle"}));
    EXPECT_EQ(store.evict_one({"old"}).value(), std::nullopt);
    ASSERT_TRUE(store.clear_all());
    EXPECT_TRUE(store.usage().value().empty());
}

} // namespace
} // namespace holdfast::client

namespace holdfast::client {
namespace {

TEST_F(history_test, a_hole_keeps_what_came_before_it_with_its_last_serial) {
    const auto events = script(3, 30);
    {
        auto h = open();
        ASSERT_TRUE(h->set_epoch(5));
        for (const auto& e : events) ASSERT_TRUE(h->append(e));
    }
    auto before = names();
    ASSERT_GT(before.size(), 6u);
    fs::remove(fs::path(dir()) / before[3]);  // a segment in the middle goes missing
    auto h = open();
    ASSERT_FALSE(h->problems().empty());
    EXPECT_NE(h->problems()[0].find("hole before serial"), std::string::npos) << h->problems()[0];
    EXPECT_GT(h->last_serial(), 0u) << "the segments before the hole still count";
    EXPECT_LT(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, h->last_serial()));
    // Appending continues right after what survived.
    for (const auto& e : events) {
        if (e.serial > h->last_serial()) ASSERT_TRUE(h->append(e));
    }
    EXPECT_EQ(render_restored(*open()), render_prefix(events, events.size()));
}

TEST_F(history_test, hundreds_of_files_with_chunks_reload_whole) {
    // Large enough that sorting the file list exercises the comparator on many ties and chunks.
    const auto events = script(40, 60);
    history_config folding{256, 2};
    {
        auto h = open(folding);
        ASSERT_TRUE(h->set_epoch(8));
        for (const auto& e : events) ASSERT_TRUE(h->append(e));
    }
    EXPECT_GT(names().size(), 30u);
    auto h = open(folding);
    EXPECT_TRUE(h->problems().empty()) << h->problems()[0];
    EXPECT_EQ(h->last_serial(), events.size());
    EXPECT_EQ(render_restored(*h), render_prefix(events, events.size()));
}

} // namespace
} // namespace holdfast::client
