// Session: serial bookkeeping, resume cursor, duplicates, gaps, epochs, states.
#include "holdfast/session.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

std::vector<proto::event> serials(std::initializer_list<std::uint64_t> list) {
    std::vector<proto::event> out;
    for (auto s : list) out.push_back(proto::event{s, 0, "p", "k", "", "", {}});
    return out;
}

std::vector<std::uint64_t> delivered(const session::batch_outcome& o) {
    std::vector<std::uint64_t> out;
    for (const auto& e : o.deliver) out.push_back(e.serial);
    return out;
}

TEST(session, first_attach_starts_from_zero_and_goes_live_after_catch_up) {
    session s("chat-1");
    EXPECT_EQ(s.state(), session_state::connecting);
    const auto a = s.make_attach();
    EXPECT_EQ(a.session, "chat-1");
    EXPECT_EQ(a.from_serial, 0u);
    EXPECT_EQ(a.epoch, 0u);
    EXPECT_EQ(s.on_attached({"chat-1", 5, 3}), session::attach_outcome::continued);
    EXPECT_EQ(s.state(), session_state::connecting);  // still catching up to serial 3
    EXPECT_EQ(delivered(s.on_events(serials({1, 2}))), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(s.state(), session_state::connecting);
    EXPECT_EQ(delivered(s.on_events(serials({3}))), (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(s.state(), session_state::live);
    EXPECT_EQ(s.last_serial(), 3u);
    EXPECT_EQ(s.epoch(), 5u);
}

TEST(session, empty_session_is_live_at_once) {
    session s("x");
    (void)s.make_attach();
    s.on_attached({"x", 9, 0});
    EXPECT_EQ(s.state(), session_state::live);
}

TEST(session, duplicates_are_dropped_and_counted) {
    session s("x");
    (void)s.make_attach();
    s.on_attached({"x", 1, 0});
    auto first = s.on_events(serials({1, 2, 3}));
    auto again = s.on_events(serials({2, 3, 4}));
    EXPECT_EQ(delivered(again), (std::vector<std::uint64_t>{4}));
    EXPECT_EQ(again.duplicates, 2u);
    EXPECT_FALSE(again.gap);
}

TEST(session, a_gap_stops_delivery_until_the_repair_attach) {
    session s("x");
    (void)s.make_attach();
    s.on_attached({"x", 1, 0});
    (void)s.on_events(serials({1, 2}));
    auto jumped = s.on_events(serials({3, 5, 6}));
    EXPECT_EQ(delivered(jumped), (std::vector<std::uint64_t>{3}));
    EXPECT_TRUE(jumped.gap);
    EXPECT_EQ(s.state(), session_state::resuming);
    // Live traffic still in flight is held back rather than delivered out of order.
    EXPECT_TRUE(s.on_events(serials({7})).deliver.empty());
    const auto repair = s.make_attach();
    EXPECT_EQ(repair.from_serial, 3u);
    s.on_attached({"x", 1, 7});
    EXPECT_EQ(delivered(s.on_events(serials({4, 5, 6, 7}))), (std::vector<std::uint64_t>{4, 5, 6, 7}));
    EXPECT_EQ(s.state(), session_state::live);
}

TEST(session, reconnect_resumes_from_the_last_serial_with_the_epoch_held) {
    session s("x");
    (void)s.make_attach();
    s.on_attached({"x", 77, 2});
    (void)s.on_events(serials({1, 2}));
    s.on_transport_lost();
    EXPECT_EQ(s.state(), session_state::offline);
    const auto a = s.make_attach();
    EXPECT_EQ(a.from_serial, 2u);
    EXPECT_EQ(a.epoch, 77u);
    EXPECT_EQ(s.state(), session_state::resuming);
    EXPECT_TRUE(s.on_events(serials({3})).deliver.empty()) << "events before attached are not trusted";
    EXPECT_EQ(s.on_attached({"x", 77, 3}), session::attach_outcome::continued);
    EXPECT_EQ(delivered(s.on_events(serials({3}))), (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(s.state(), session_state::live);
}

TEST(session, a_new_epoch_resets_the_cursor) {
    session s("x");
    (void)s.make_attach();
    s.on_attached({"x", 1, 2});
    (void)s.on_events(serials({1, 2}));
    (void)s.make_attach();
    EXPECT_EQ(s.on_attached({"x", 2, 1}), session::attach_outcome::reset);
    EXPECT_EQ(s.last_serial(), 0u);
    EXPECT_EQ(s.epoch(), 2u);
    EXPECT_EQ(delivered(s.on_events(serials({1}))), (std::vector<std::uint64_t>{1}));
}

TEST(session, a_log_trimmed_past_what_we_hold_is_continuity_lost_and_continues_at_its_start) {
    session s("chat");
    (void)s.make_attach();
    EXPECT_EQ(s.on_attached({"chat", 7, 3}), session::attach_outcome::continued);
    EXPECT_EQ(delivered(s.on_events(serials({1, 2, 3}))), (std::vector<std::uint64_t>{1, 2, 3}));
    s.on_transport_lost();
    EXPECT_EQ(s.make_attach().from_serial, 3u);
    // Same epoch, but the relay now starts at 10: 4..9 are gone.
    EXPECT_EQ(s.on_attached({"chat", 7, 12, 10}), session::attach_outcome::continuity_lost);
    EXPECT_EQ(s.last_serial(), 9u);
    EXPECT_EQ(delivered(s.on_events(serials({10, 11, 12}))), (std::vector<std::uint64_t>{10, 11, 12}));
    EXPECT_EQ(s.state(), session_state::live);
}

TEST(session, a_trimmed_start_we_already_passed_changes_nothing) {
    session s("chat");
    (void)s.make_attach();
    EXPECT_EQ(s.on_attached({"chat", 7, 5}), session::attach_outcome::continued);
    (void)s.on_events(serials({1, 2, 3, 4, 5}));
    s.on_transport_lost();
    (void)s.make_attach();
    EXPECT_EQ(s.on_attached({"chat", 7, 8, 6}), session::attach_outcome::continued);  // we hold 5: 6 follows
    EXPECT_EQ(s.last_serial(), 5u);
}

TEST(session, a_newcomer_to_a_trimmed_log_starts_at_its_first_serial_without_a_loss) {
    session s("chat");
    (void)s.make_attach();
    EXPECT_EQ(s.on_attached({"chat", 7, 12, 10}), session::attach_outcome::continued);
    EXPECT_EQ(delivered(s.on_events(serials({10, 11, 12}))), (std::vector<std::uint64_t>{10, 11, 12}));
    EXPECT_EQ(s.state(), session_state::live);
}

} // namespace
} // namespace holdfast::client
