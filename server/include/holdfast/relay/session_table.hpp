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
#include "holdfast/relay/store.hpp"

#include <functional>
#include <map>
#include <string>
#include <unordered_map>

namespace holdfast::relay {

/// Wall clock in ms since the Unix epoch; injected so a simulator controls time.
using clock_ms = std::function<std::uint64_t()>;
std::uint64_t system_clock_ms();

/// What one replay step did.
struct replay_step_result {
    bool sent = false;  // an `events` batch was queued
    bool live = false;  // the subscriber has caught up and now gets live events
};

class session_table {
public:
    session_table(store& backing, outbox& out, relay_metrics& metrics, const relay_config& config, clock_ms clock);

    /// Subscribes `connection` (again: restarting its replay) and queues `attached`. The replay
    /// starts after from_serial, or after 0 when client_epoch is nonzero and differs; no events
    /// are queued here: replay_step releases them. Creates the session if new.
    result<session_info> attach(connection_id connection, const std::string& session, std::uint64_t from_serial,
                                std::uint64_t client_epoch);

    /// Queues the next replay batch of `session` for `connection`: up to max_batch_events events
    /// (and about max_frame_bytes) after its cursor, reading up to the head as it is now. Once the
    /// cursor reaches the head the subscriber is live. A subscriber that is not replaying is live.
    result<replay_step_result> replay_step(connection_id connection, const std::string& session);

    /// Stops delivering `session` to `connection`; forgets the session when nobody follows it.
    void detach(connection_id connection, const std::string& session);

    /// Appends (or finds the earlier serial of) one event and fans it out to the live subscribers.
    /// A first event also appends `session.created` to the sessions index. Errors: the producer
    /// rules' (stale_epoch, sequence_gap) and store_failure.
    result<append_reply> append(const append_input& input);

    /// Events after `after_serial`, at most `limit`; an unknown session reads as epoch 0, empty.
    result<read_reply> read(const std::string& session, std::uint64_t after_serial, std::size_t limit);

private:
    struct subscriber {
        std::uint64_t cursor = 0;  // last serial queued to it by the replay
        bool live = false;
    };
    struct session_state {
        session_info info;
        std::map<connection_id, subscriber> subscribers;  // ordered: deterministic fan-out order
    };

    /// The cached state, or a transient one loaded (creating if asked) from the store.
    result<session_state*> find_or_load(const std::string& session, bool create, session_state& scratch);
    result<append_reply> append_one(const append_input& input);
    void announce(const std::string& session);

    store& store_;
    outbox& out_;
    relay_metrics& metrics_;
    const relay_config& config_;
    clock_ms clock_;
    producer_table producers_;
    std::unordered_map<std::string, session_state> live_;  // sessions with subscribers
};

} // namespace holdfast::relay
