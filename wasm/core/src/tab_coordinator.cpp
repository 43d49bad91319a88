// Leader election outcomes and frame routing between the tabs of one profile. Layer: portable
// core, sans-I/O.
#include "holdfast/tab_coordinator.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/json.hpp"

namespace holdfast::client {

tab_coordinator::tab_coordinator(client_core& core, tab_config config, std::uint64_t now_ms)
    : core_(core), config_(std::move(config)), last_heard_ms_(now_ms), now_ms_(now_ms) {
    // A tab that joins asks the leader to announce itself now rather than at its next beat.
    if (config_.shared) post("join", "", {});
}

void tab_coordinator::post(std::string kind, std::string to, std::string_view frame) {
    tab_message m{std::move(kind), config_.tab_id, std::move(to), term_,
                  role_ == tab_role::leader && socket_ == socket_state::open,
                  std::vector<char>(frame.begin(), frame.end())};
    channel_out_.push_back(proto::encode_struct(m));
}

void tab_coordinator::broadcast_beat() {
    last_beat_sent_ms_ = now_ms_;
    if (config_.shared) post("beat", "", {});
}

// ---- election -----------------------------------------------------------------------------------

void tab_coordinator::on_lock_acquired(std::uint64_t now_ms) {
    now_ms_ = now_ms;
    if (role_ == tab_role::leader) return;
    role_ = tab_role::leader;
    role_changed_ = true;
    ++term_;  // above every term this tab has seen, so followers switch to us
    leader_id_ = config_.tab_id;
    leader_link_up_ = false;
    // The core's link was the old leader; it now becomes our own socket. Its outbox and each
    // session's last serial carry over, so the resume is from this tab's own position.
    if (core_.connected()) core_.on_transport_closed();
    socket_ = socket_state::opening;
    open_socket_ = true;
    broadcast_beat();
}

void tab_coordinator::on_lock_lost() {
    // The only way a leader steps down: the lock, not a term, says who leads (see on_channel_message).
    if (role_ == tab_role::leader) become_follower();
}

void tab_coordinator::become_follower() {
    role_ = tab_role::follower;
    role_changed_ = true;
    // A reopen asked for earlier in this turn (a retry that fell due) is void: a follower opening
    // a socket would be a second one for this device.
    open_socket_ = false;
    if (socket_ != socket_state::closed) close_socket_ = true;
    socket_ = socket_state::closed;
    if (core_.connected()) core_.on_transport_closed();
    leader_id_.clear();
    leader_link_up_ = false;
    last_heard_ms_ = now_ms_;
}

// ---- the relay link -------------------------------------------------------------------------------

void tab_coordinator::on_socket_open() {
    if (role_ != tab_role::leader || socket_ != socket_state::opening) {
        close_socket_ = true;  // opened too late: we no longer lead, or it was given up
        return;
    }
    socket_ = socket_state::open;
    core_.on_transport_open();
    broadcast_beat();
}

void tab_coordinator::on_socket_closed() {
    if (role_ != tab_role::leader || socket_ == socket_state::closed) return;
    socket_ = socket_state::closed;
    core_.on_transport_closed();
    broadcast_beat();
}

void tab_coordinator::on_socket_frame(std::string_view bytes) {
    if (role_ != tab_role::leader || socket_ != socket_state::open) return;
    core_.on_frame(bytes);
    if (config_.shared && heard_other_tab_) post("down", "", bytes);
}

void tab_coordinator::on_reconnect_due() {
    if (role_ == tab_role::leader) {
        if (socket_ == socket_state::closed) {
            socket_ = socket_state::opening;
            open_socket_ = true;
        }
    } else if (leader_link_up_ && !core_.connected()) {
        core_.on_transport_open();
    }
}

void tab_coordinator::on_link_dead() {
    if (role_ == tab_role::leader) {
        if (socket_ == socket_state::closed) return;
        socket_ = socket_state::closed;  // the core already counts its link closed
        close_socket_ = true;
        broadcast_beat();
    } else {
        // The leader stopped answering our pings: frozen or gone. Take over.
        leader_link_up_ = false;
        steal_lock_ = true;
        last_steal_ms_ = now_ms_;
    }
}

// ---- the tab channel --------------------------------------------------------------------------------

void tab_coordinator::on_channel_message(std::string_view bytes, std::uint64_t now_ms) {
    now_ms_ = now_ms;
    auto decoded = proto::decode_struct<tab_message>(bytes);
    if (!decoded || decoded->from == config_.tab_id || !config_.shared) return;
    const tab_message& m = decoded.value();
    heard_other_tab_ = true;
    if (m.kind == "join") {
        if (role_ == tab_role::leader) broadcast_beat();
        return;
    }
    if (m.kind == "up") {
        if (role_ == tab_role::leader && m.to == config_.tab_id) handle_up(m);
        return;
    }
    if (role_ == tab_role::leader) {
        // Another tab acts as leader: one of us has lost the lock and not yet been told (a frozen
        // leader thawing out, before its lock-lost task runs). Only the lock knows which, and it
        // tells the loser, who steps down then (on_lock_lost). A term cannot decide it: a tab that
        // joined while the old leader was frozen never heard its term and may steal the lock with
        // a lower one, and stepping down on a beat would leave it holding the lock as a follower
        // (its steal requests are no-ops) with no tab leading. So we keep leading, and answer a
        // term at least ours with a higher one at once, so that when the loser steps down the
        // lock holder's term is the highest every follower has heard.
        if (m.term >= term_ && (m.kind == "beat" || m.kind == "down" || m.kind == "to")) {
            term_ = m.term + 1;
            broadcast_beat();
        }
        return;
    }
    follow(m, now_ms);
}

void tab_coordinator::follow(const tab_message& m, std::uint64_t now_ms) {
    if (m.term < term_ || (m.term == term_ && !leader_id_.empty() && m.from != leader_id_)) return;
    if (m.term > term_ || m.from != leader_id_) {
        // A new leader: our link to the old one is gone; the core resends its attaches and its
        // outbox through the new one, from its own last serials.
        term_ = m.term;
        leader_id_ = m.from;
        leader_link_up_ = false;
        if (core_.connected()) core_.on_transport_closed();
    }
    last_heard_ms_ = now_ms;
    // Frames only flow down while the leader's socket is open, so a "down" proves the link is up.
    const bool link_up = m.kind == "down" ? true : m.link_up;
    if (link_up && !leader_link_up_) {
        leader_link_up_ = true;
        if (!core_.connected()) core_.on_transport_open();
    } else if (!link_up && leader_link_up_ && m.kind == "beat") {
        leader_link_up_ = false;
        if (core_.connected()) core_.on_transport_closed();
    }
    const bool for_us = m.kind == "down" || (m.kind == "to" && m.to == config_.tab_id);
    if (for_us && core_.connected()) core_.on_frame(std::string_view(m.frame.data(), m.frame.size()));
}

void tab_coordinator::handle_up(const tab_message& m) {
    const std::string_view bytes(m.frame.data(), m.frame.size());
    // Routed by type; only ping and attach are read (the core ships no reader for the others).
    auto type = proto::frame_type(bytes);
    if (!type) return;
    const bool socket_open = socket_ == socket_state::open;
    if (type.value() == proto::ping::frame_type) {
        if (auto ping = proto::decode_struct<proto::ping>(bytes)) {
            post("to", m.from, proto::encode(proto::pong{ping->nonce}));  // answers for the leader's liveness
        }
    } else if (type.value() == proto::attach::frame_type) {
        auto attach = proto::decode_struct<proto::attach>(bytes);
        if (!attach) return;
        const proto::attach& f = attach.value();
        const session* s = core_.find_session(f.session);
        const bool level = s && s->state() == session_state::live && s->epoch() != 0 && f.epoch == s->epoch() &&
                           f.from_serial >= s->last_serial();
        if (level) {
            // Already as far as we are: nothing to replay, the live stream follows.
            post("to", m.from, proto::encode(proto::attached{f.session, s->epoch(), s->last_serial()}));
        } else if (socket_open) {
            socket_out_.emplace_back(bytes);  // a re-attach on the shared connection
        }
    } else if (type.value() == proto::publish::frame_type || type.value() == proto::control::frame_type) {
        // Unchanged (the relay checks it): the follower's producer identity makes acks and dedup its own.
        if (socket_open) socket_out_.emplace_back(bytes);
    }
    // hello and detach stay with the leader: the shared connection is already greeted, and
    // another tab may still follow the session.
}

void tab_coordinator::on_tick(std::uint64_t now_ms) {
    now_ms_ = now_ms;
    core_.on_tick(now_ms);
    if (!config_.shared) return;
    if (role_ == tab_role::leader) {
        if (now_ms - std::min(now_ms, last_beat_sent_ms_) >= config_.beat_ms) broadcast_beat();
    } else if (now_ms - std::min(now_ms, last_heard_ms_) >= config_.leader_timeout_ms &&
               now_ms - std::min(now_ms, last_steal_ms_) >= config_.leader_timeout_ms) {
        // No leader heard for a while: it is gone or frozen (a frozen tab keeps its lock).
        steal_lock_ = true;
        last_steal_ms_ = now_ms;
    }
}

// ---- outputs ------------------------------------------------------------------------------------------

void tab_coordinator::pump_core() {
    auto frames = core_.take_frames();
    if (frames.empty()) return;
    if (role_ == tab_role::leader) {
        if (socket_ != socket_state::open) return;  // the core resends what matters on open
        for (auto& f : frames) socket_out_.push_back(std::move(f));
    } else if (core_.connected() && !leader_id_.empty()) {
        for (const auto& f : frames) post("up", leader_id_, f);
    }
}

std::vector<std::string> tab_coordinator::take_socket_frames() {
    pump_core();
    return core_.bundle_for_relay(std::exchange(socket_out_, {}));
}

std::vector<std::string> tab_coordinator::take_channel_messages() {
    pump_core();
    return std::exchange(channel_out_, {});
}

unsigned tab_coordinator::pending() {
    pump_core();
    unsigned bits = 0;
    if (directives_pending()) bits |= pending_directives;
    if (!socket_out_.empty()) bits |= pending_socket_frames;
    if (!channel_out_.empty()) bits |= pending_channel_messages;
    if (core_.has_updates()) bits |= pending_updates;
    return bits;
}

std::string tab_coordinator::take_directives_json() {
    if (!directives_pending()) return {};
    std::string out;
    json::object_writer directives(out);
    directives.string("role", role_ == tab_role::leader ? "leader" : "follower");
    if (open_socket_) directives.boolean("openSocket", true);
    if (close_socket_) directives.boolean("closeSocket", true);
    if (steal_lock_) directives.boolean("stealLock", true);
    directives.close();
    role_changed_ = open_socket_ = close_socket_ = steal_lock_ = false;
    return out;
}

} // namespace holdfast::client
