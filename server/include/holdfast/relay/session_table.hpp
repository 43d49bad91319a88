// The relay's per-session bookkeeping: cached epoch and head serial, subscribers and their replay
// cursors, serial assignment, the producer rules (through producer_table) and fan-out after
// append. Layer: relay (sans-I/O). Single-threaded, which makes the replay-to-live switch a plain
// state check: a subscriber still replaying gets no live events (its cursor reads up to the head
// at each step, so it gets them from there), and the step that reaches the head makes it live
// before any later append can run. So each subscriber sees every serial once, in order.
// Validation of requests is the caller's (relay_core's) job; so is pacing the replay.
#pragma once
#include "holdfast/relay/outbox.hpp"
#include "holdfast/relay/producer_table.hpp"
#include "holdfast/relay/relay_types.hpp"
#include "holdfast/relay/session_controls.hpp"
#include "holdfast/relay/store.hpp"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace holdfast::relay {

/// Wall clock in ms since the Unix epoch; injected so a simulator controls time.
using clock_ms = std::function<std::uint64_t()>;
std::uint64_t system_clock_ms();

/// The owner of a message found open, or an agent found present, when a session's state was
/// rebuilt from its log: the relay starts a lease for it unless its producer is connected.
/// producer_id is empty for a present agent that wrote nothing in the scanned window.
struct rebuilt_owner {
    std::string session;
    std::string producer_id;
    std::string agent;
};

/// What one replay step did.
struct replay_step_result {
    bool sent = false;  // an `events` batch was queued
    bool live = false;  // the subscriber has caught up and now gets live events
};

class session_table {
public:
    session_table(store& backing, outbox& out, relay_metrics& metrics, const relay_config& config, clock_ms clock);

    /// Subscribes `connection` and queues `attached`. The replay starts after from_serial, or
    /// after 0 when client_epoch is nonzero and differs; attaching again restarts it from there,
    /// unless the replay under way is further back (tabs share one connection). No events are
    /// queued here: replay_step releases them. Creates the session if new.
    /// `packed`: the connection reads events frames in their packed form (hello.packed).
    result<session_info> attach(connection_id connection, const std::string& session, std::uint64_t from_serial,
                                std::uint64_t client_epoch, bool packed = false);

    /// Queues the next replay batch of `session` for `connection`: up to max_batch_events events
    /// (and about max_frame_bytes) after its cursor, reading up to the head as it is now. Once the
    /// cursor reaches the head the subscriber is live. A subscriber that is not replaying is live.
    result<replay_step_result> replay_step(connection_id connection, const std::string& session);

    /// Stops delivering `session` to `connection`; forgets the session when nobody follows it.
    void detach(connection_id connection, const std::string& session);

    /// Appends (or finds the earlier serial of) one event and fans it out to the live subscribers.
    /// A first event also appends `session.created` to the sessions index. A control gets its
    /// resolved target as msg_id; the control.outcome events it or any other event causes are
    /// appended right after it (session_controls). Errors: the producer rules' (stale_epoch,
    /// sequence_gap), forbidden (a control.outcome from a producer that does not own the pending
    /// control's target) and store_failure.
    result<append_reply> append(const append_input& input);

    /// An agent connection attached `session`: appends agent.attached unless `agent` is present.
    void agent_attached(connection_id connection, const std::string& session, const std::string& agent);
    /// An agent connection left `session`. An explicit detach by the last connection of that
    /// agent name appends agent.detached{reason: "detached"}; a closed connection appends nothing
    /// (its lease decides).
    void agent_left(connection_id connection, const std::string& session, const std::string& agent,
                    bool explicit_detach);
    /// `producer_id`'s lease ran out: ends each of its open messages (message.end error/agent_lost),
    /// which settles their pending controls as too_late, then appends agent.detached{reason:
    /// "lease_expired"} to each of `sessions` where `agent` is present with no connection left.
    /// Returns whether it appended anything.
    bool expire_producer(const std::string& producer_id, const std::string& agent,
                         const std::set<std::string>& sessions);
    /// Owners of the open messages found by rebuilds since the last call.
    std::vector<rebuilt_owner> take_rebuilt_owners() { return std::exchange(rebuilt_, {}); }
    /// The session's control state (for tests and diagnostics); null when not loaded.
    const session_controls* controls(const std::string& session) const;

    /// While holding, fan-out is gathered instead of sent: consecutive events of one session
    /// become one frame (up to max_batch_events and about max_frame_bytes), so a bundle of
    /// publishes reaches each subscriber as one events frame rather than one frame per event.
    /// The relay core holds during a bundle and sends what is held before any other output.
    void hold_fan_out(bool on);
    bool holding_fan_out() const noexcept { return holding_; }
    /// Sends the gathered fan-out now (holding goes on, if it was on).
    void send_held_fan_out();

    /// Events after `after_serial`, at most `limit`; an unknown session reads as epoch 0, empty.
    result<read_reply> read(const std::string& session, std::uint64_t after_serial, std::size_t limit);

    // ---- shared store (several relay nodes: redis; see docs/architecture.md) -----------------
    /// Called with (session, true) when a session gets its first local subscriber and (session,
    /// false) when it loses its last: the node bus keeps one notification subscription per
    /// locally followed session.
    void set_live_listener(std::function<void(const std::string&, bool)> listener) {
        live_listener_ = std::move(listener);
    }
    /// Another node (or this one) appended `serial` to `session` in incarnation `epoch` (0s:
    /// unknown, look at the store): reads what this node has not fanned out yet and fans it out
    /// to the live subscribers; another epoch than the cached one is a recreated session.
    void on_store_appended(const std::string& session, std::uint64_t serial, std::uint64_t epoch = 0);
    /// Sessions followed on this node (the node bus resubscribes them after a reconnect).
    std::vector<std::string> live_sessions() const;

private:
    struct subscriber {
        std::uint64_t cursor = 0;  // last serial queued to it by the replay
        bool live = false;
        bool packed = false;  // takes events frames packed (proto::encode_packed)
    };
    struct session_state {
        session_info info;
        std::map<connection_id, subscriber> subscribers;  // ordered: deterministic fan-out order
    };

    /// The cached state, or a transient one loaded (creating if asked) from the store.
    result<session_state*> find_or_load(const std::string& session, bool create, session_state& scratch);
    result<append_reply> append_one(const append_input& input);
    /// append_one for a store that assigns serials: the store applies the producer rules and the
    /// serial atomically; this node then fans out everything up to that serial in order.
    result<append_reply> append_shared(const append_input& input);
    /// Shared store: reads the events after the cached head (up to at least `serial`), observes
    /// them in the control state and fans them out; `own` (when nonzero) is the serial this node
    /// just appended, whose control follow-ups go to `follow_ups`. Closes the subscribers of a
    /// session whose epoch changed (recreated, or a flushed Redis) so they re-attach and reset.
    void catch_up(const std::string& session, session_state& state, std::uint64_t serial, std::uint64_t own = 0,
                  std::vector<relay_event>* follow_ups = nullptr);
    /// The msg_id a control is appended with (its target resolved to open messages), or the
    /// refusal of an outcome its producer may not give; any other event keeps its msg_id.
    result<std::string> control_target(session_controls* controls, const append_input& input);
    /// Metrics for a refused append and for an appended event, whichever path appended it.
    void count_refusal(errc code);
    void count_appended(const append_input& input, std::uint64_t serial);
    /// Sends `events` (consecutive, of one session) to its live subscribers as one shared frame,
    /// or gathers them while holding.
    void fan_out(const std::string& session, const session_state& state, std::vector<proto::event> events);
    void send_to_live(const std::string& session, const session_state& state, std::vector<proto::event> events);
    void live_added(const std::string& session);
    void live_removed(const std::string& session);
    /// Appends an event of the relay's own (producer "relay", no sequence).
    void append_relay(const std::string& session, relay_event e);
    void announce(const std::string& session);
    /// The session's control state, rebuilt from the last open_message_scan_events events of its
    /// log when first needed; null for reserved sessions or when the store fails.
    session_controls* controls_for(const std::string& session, std::uint64_t head_serial);

    store& store_;
    outbox& out_;
    relay_metrics& metrics_;
    const relay_config& config_;
    clock_ms clock_;
    producer_table producers_;
    std::unordered_map<std::string, session_state> live_;  // sessions with subscribers
    std::unordered_map<std::string, session_controls> controls_;  // kept while not idle (or live)
    std::vector<rebuilt_owner> rebuilt_;
    bool holding_ = false;
    std::string held_session_;
    std::vector<proto::event> held_;  // consecutive events of held_session_, not yet sent
    std::size_t held_bytes_ = 0;
    std::function<void(const std::string&, bool)> live_listener_;
};

} // namespace holdfast::relay
