// A browser profile in one process: tabs (client_core + tab_coordinator each), a Web Locks model
// (one holder, a queue, steal), a BroadcastChannel model (every message to every other live tab),
// and the relay's sans-I/O core on a memory store, with each tab's socket as a relay connection.
// Time only moves when the test says. Layer: tests.
#pragma once
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/relay_core.hpp"
#include "holdfast/tab_coordinator.hpp"
#include "../support/update_json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>

namespace holdfast::test {

struct tab {
    std::string id;
    client::client_core core;
    client::tab_coordinator coord;
    bool alive = true;
    bool frozen = false;         // a frozen page runs nothing, and keeps its lock
    relay::connection_id connection = 0;
    std::string role;
    std::map<std::string, std::vector<std::uint64_t>> delivered;  // session -> serials seen by the app
    std::map<std::uint64_t, std::uint64_t> acks;                   // request -> serial
    std::map<std::uint64_t, std::string> rejects;                  // request -> error name
    std::map<std::string, std::string> texts;                      // message id -> text
    std::map<std::string, std::map<std::size_t, std::string>> message_ids;  // session -> message index -> id
    std::vector<std::string> states;                               // session states as reported, in order
    holdfast::testing::event_reader reader;                        // the core's event tables, take to take

    tab(std::string tab_id, std::uint64_t now)
        : id(tab_id), core(client::client_config{tab_id, "", "", 1, now, {}, {200, 200}, nullptr, {}}),
          coord(core, client::tab_config{tab_id, 100, 300, true}, now) {}
};

class profile {
public:
    relay::memory_store store{[counter = std::uint64_t{1000}]() mutable { return ++counter; }};
    relay::relay_core relay{store, relay::relay_config{}, [this] { return now; }};
    std::vector<std::unique_ptr<tab>> tabs;
    std::uint64_t now = 1'000;

    tab& open_tab() {
        tabs.push_back(std::make_unique<tab>("tab-" + std::to_string(tabs.size() + 1), now));
        tab& t = *tabs.back();
        request_lock(t);
        return t;
    }

    /// The tab closes or crashes: its socket and its lock go with it (unlike a frozen tab).
    void kill(tab& t) {
        t.alive = false;
        if (t.connection) relay.on_close(t.connection);
        t.connection = 0;
        release_lock(t);
    }

    /// Runs every tab, the channel and the relay until nothing moves.
    void settle() {
        for (int round = 0; round < 200; ++round) {
            if (!step()) return;
        }
        throw std::runtime_error("profile did not settle");
    }

    /// Moves time forward in ticks, settling after each.
    void advance(std::uint64_t ms, std::uint64_t tick = 50) {
        for (std::uint64_t t = 0; t < ms; t += tick) {
            now += tick;
            for (auto& each : tabs) {
                if (each->alive && !each->frozen) each->coord.on_tick(now);
            }
            settle();
        }
    }

    std::string lock_holder() const { return holder_ ? holder_->id : std::string(); }

private:
    void request_lock(tab& t) {
        if (!holder_) grant(t);
        else queue_.push_back(&t);
    }
    void grant(tab& t) {
        holder_ = &t;
        t.coord.on_lock_acquired(now);
    }
    void release_lock(tab& t) {
        std::erase(queue_, &t);
        if (holder_ != &t) return;
        holder_ = nullptr;
        while (!queue_.empty()) {
            tab* next = queue_.front();
            queue_.pop_front();
            if (next->alive) { grant(*next); return; }
        }
    }
    void steal(tab& t) {
        if (holder_ == &t) return;
        std::erase(queue_, &t);
        tab* old = holder_;
        holder_ = &t;
        t.coord.on_lock_acquired(now);
        // The stolen-from tab learns it when it runs again (its request promise rejects).
        if (old) pending_lost_.push_back(old);
    }

    bool step() {
        bool moved = false;
        for (auto it = pending_lost_.begin(); it != pending_lost_.end();) {
            if ((*it)->alive && !(*it)->frozen) {
                (*it)->coord.on_lock_lost();
                it = pending_lost_.erase(it);
                moved = true;
            } else {
                ++it;
            }
        }
        for (auto& owned : tabs) {
            tab& t = *owned;
            if (!t.alive || t.frozen) continue;
            moved |= run_tab(t);
        }
        for (auto& out : relay.take_outputs()) {
            moved = true;
            tab* t = by_connection(out.connection);
            if (!t) continue;
            if (out.frame) {
                relay.on_sent(out.connection, out.frame->size());
                if (!t->frozen) t->coord.on_socket_frame(*out.frame);
            }
            if (out.close) {
                relay.on_close(out.connection);
                t->connection = 0;
                t->coord.on_socket_closed();
            }
        }
        return moved;
    }

    bool run_tab(tab& t) {
        // Every turn takes all four outputs and checks them against pending(), which the SDK's
        // drain relies on to skip the empty ones; then acts on them.
        using coordinator = client::tab_coordinator;
        const unsigned pending = t.coord.pending();
        const std::string d = t.coord.take_directives_json();
        const std::string u = t.core.take_updates_json();
        const auto frames = t.coord.take_socket_frames();
        const auto messages = t.coord.take_channel_messages();
        EXPECT_EQ(!d.empty(), (pending & coordinator::pending_directives) != 0) << "directives";
        EXPECT_EQ(!u.empty(), (pending & coordinator::pending_updates) != 0) << "updates";
        EXPECT_EQ(!frames.empty(), (pending & coordinator::pending_socket_frames) != 0) << "socket frames";
        EXPECT_EQ(!messages.empty(), (pending & coordinator::pending_channel_messages) != 0) << "channel messages";
        bool moved = false;
        if (!d.empty()) {
            moved = true;
            const auto directives = boost::json::parse(d).as_object();
            t.role = directives.at("role").as_string().c_str();
            if (directives.contains("closeSocket") && t.connection) {
                relay.on_close(t.connection);
                t.connection = 0;
            }
            if (directives.contains("openSocket")) {
                t.connection = ++next_connection_;
                relay.on_open(t.connection);
                t.coord.on_socket_open();
            }
            if (directives.contains("stealLock")) steal(t);
        }
        if (!u.empty()) {
            moved = true;
            apply_updates(t, boost::json::parse(u).as_object(), t.core.event_columns());
        }
        for (const auto& frame : frames) {
            moved = true;
            if (t.connection) relay.on_frame(t.connection, frame);
        }
        for (const auto& message : messages) {
            moved = true;
            for (auto& other : tabs) {
                if (other.get() != &t && other->alive && !other->frozen) other->coord.on_channel_message(message, now);
            }
        }
        return moved;
    }

    void apply_updates(tab& t, const boost::json::object& u, std::string_view columns) {
        std::size_t at = 0;
        for (const auto& entry : holdfast::testing::entries(u, "sessions")) {
            const auto& s = entry.as_object();
            auto& serials = t.delivered[s.at("id").as_string().c_str()];
            const std::string state = s.at("state").as_string().c_str();
            if (t.states.empty() || t.states.back() != state) t.states.push_back(state);
            if (holdfast::testing::flag(s, "reset")) serials.clear();
            for (const auto& e : t.reader.event_objects(s, columns, at)) serials.push_back(e.at("serial").to_number<std::uint64_t>());
            // A message already sent comes by its index only (as Session.js holds it): the id is the first entry's.
            auto& ids = t.message_ids[s.at("id").as_string().c_str()];
            for (const auto& m : holdfast::testing::entries(s, "messages")) {
                const auto& message = m.as_object();
                const auto index = message.at("index").to_number<std::size_t>();
                if (const auto* id = message.if_contains("id")) ids[index] = id->as_string().c_str();
                holdfast::testing::apply_text(message, t.texts[ids.at(index)]);
            }
        }
        for (const auto& [request, serial] : holdfast::testing::acks(u)) t.acks[request] = serial;
        for (const auto& r : holdfast::testing::entries(u, "rejects")) t.rejects[r.at("request").to_number<std::uint64_t>()] = r.at("name").as_string().c_str();
        // The host's retry timer fires at once here: time is the test's to move.
        if (u.contains("retry") || u.contains("connectNow")) t.coord.on_reconnect_due();
        if (u.contains("closeLink")) t.coord.on_link_dead();
    }

    tab* by_connection(relay::connection_id c) {
        for (auto& t : tabs) {
            if (t->connection == c && c != 0) return t.get();
        }
        return nullptr;
    }

    tab* holder_ = nullptr;
    std::deque<tab*> queue_;
    std::vector<tab*> pending_lost_;
    relay::connection_id next_connection_ = 0;
};

} // namespace holdfast::test
