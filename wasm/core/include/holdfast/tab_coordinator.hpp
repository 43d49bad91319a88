// tab_coordinator: the tabs of one browser profile sharing one relay link. Layer: portable core,
// sans-I/O. Each tab runs its own client_core; this class decides which tab leads and routes
// frames, so the JS glue only moves bytes between it, the WebSocket, the BroadcastChannel and the
// Web Lock.
//
// The leader (the tab holding the lock) owns the WebSocket: it feeds every relay frame to its
// core and broadcasts it to the other tabs, and beats on the channel with its term and whether its
// link is up. A follower's core talks to the relay through the leader: its frames go up the
// channel; publishes and controls are forwarded as they are (they carry the follower's producer,
// so acks come back down and settle in the follower's core only); pings are answered by the
// leader (so a frozen leader looks dead); an attach is answered by the leader when the follower is
// already level with it, and otherwise forwarded as a re-attach on the shared connection, whose
// replay every tab deduplicates. Followers that stop hearing the leader steal the lock. Only
// losing the lock makes a leader step down; one that hears another leader's term answers with a
// higher term, so the lock holder ends with the highest term and followers follow it.
#pragma once
#include "holdfast/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace holdfast::client {

enum class tab_role { follower, leader };

struct tab_config {
    std::string tab_id;
    std::uint32_t beat_ms = 1000;
    std::uint32_t leader_timeout_ms = 3000;  // silence after which a follower steals the lock
    bool shared = true;                      // false: an isolated tab, leader of itself, no channel
};

/// One message on the profile's tab channel.
struct tab_message {
    std::string kind;  // "beat", "down" (leader to all), "to" (leader to one tab), "up" (tab to leader)
    std::string from;
    std::string to;
    std::uint64_t term = 0;
    bool link_up = false;
    std::vector<char> frame;  // one protocol frame (msgpack bin)
};
BOOST_DESCRIBE_STRUCT(tab_message, (), (kind, from, to, term, link_up, frame))

class tab_coordinator {
public:
    tab_coordinator(client_core& core, tab_config config, std::uint64_t now_ms);

    // ---- election -------------------------------------------------------------------------------
    void on_lock_acquired(std::uint64_t now_ms);
    /// The lock was stolen or given up (page going into the back/forward cache).
    void on_lock_lost();

    // ---- the relay link (a leader's WebSocket) ---------------------------------------------------
    void on_socket_open();
    void on_socket_closed();
    void on_socket_frame(std::string_view bytes);
    /// The core's retry delay has passed (or it asked to connect now).
    void on_reconnect_due();
    /// The core declared its link dead (heartbeat): a leader drops its socket, a follower its leader.
    void on_link_dead();

    // ---- the tab channel and time -----------------------------------------------------------------
    void on_channel_message(std::string_view bytes, std::uint64_t now_ms);
    void on_tick(std::uint64_t now_ms);

    // ---- outputs, drained once per turn -------------------------------------------------------------
    std::vector<std::string> take_socket_frames();
    std::vector<std::string> take_channel_messages();
    /// {"role":"leader"|"follower","openSocket":true,"closeSocket":true,"stealLock":true};
    /// "" when nothing changed.
    std::string take_directives_json();
    /// Which outputs have something to take (pending_* bits), so a host's drain makes one call
    /// instead of four when only updates are waiting, as after every live event.
    static constexpr unsigned pending_directives = 1, pending_socket_frames = 2, pending_channel_messages = 4,
                              pending_updates = 8;
    unsigned pending();

    tab_role role() const noexcept { return role_; }
    const std::string& leader_id() const noexcept { return leader_id_; }

private:
    bool directives_pending() const noexcept { return role_changed_ || open_socket_ || close_socket_ || steal_lock_; }
    void become_follower();
    void broadcast_beat();
    void post(std::string kind, std::string to, std::string_view frame);
    void handle_up(const tab_message& m);
    void follow(const tab_message& m, std::uint64_t now_ms);
    void pump_core();

    client_core& core_;
    tab_config config_;
    tab_role role_ = tab_role::follower;
    std::uint64_t term_ = 0;           // the term of the leader we follow, or ours when leading
    std::string leader_id_;
    bool leader_link_up_ = false;      // follower: the leader's relay link is up
    /// Another tab has posted on the channel. Until then a leader keeps the relay's frames to
    /// itself: a tab alone paid a BroadcastChannel post (70-150 us in Chromium) for every message.
    /// Every follower speaks before it needs frames (its "join" when it starts, its hello and
    /// attaches "up" when it takes a new leader), so none misses one.
    bool heard_other_tab_ = false;
    std::uint64_t last_heard_ms_ = 0;  // follower: last message from the leader
    std::uint64_t last_beat_sent_ms_ = 0;
    std::uint64_t now_ms_ = 0;
    enum class socket_state { closed, opening, open } socket_ = socket_state::closed;

    std::vector<std::string> socket_out_;
    std::vector<std::string> channel_out_;
    bool role_changed_ = true;
    bool open_socket_ = false;
    bool close_socket_ = false;
    bool steal_lock_ = false;
    std::uint64_t last_steal_ms_ = 0;
};

} // namespace holdfast::client
