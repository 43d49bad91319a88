// The relay's per-session bookkeeping: cached epoch and head serial, subscribers, serial
// assignment, the producer rules (through producer_table), replay on attach and fan-out after append.
// Layer: relay (sans-I/O). Single-threaded: because an attach reads its replay range and queues it
// before returning, and an append fans out before returning, a subscriber can never see replay and
// live events out of order or twice. Validation of requests is the caller's (relay_core's) job.
#pragma once
#include "holdfast/relay/outbox.hpp"
#include "holdfast/relay/producer_table.hpp"
#include "holdfast/relay/relay_types.hpp"
#include "holdfast/relay/store.hpp"

#include <functional>
#include <set>
#include <string>
#include <unordered_map>

namespace holdfast::relay {

/// Wall clock in ms since the Unix epoch; injected so a simulator controls time.
using clock_ms = std::function<std::uint64_t()>;
std::uint64_t system_clock_ms();

class session_table {
public:
    session_table(store& backing, outbox& out, relay_metrics& metrics, const relay_config& config, clock_ms clock);

    /// Subscribes `connection` and queues `attached` plus the replay (serial > from_serial, or > 0
    /// when client_epoch is nonzero and differs). Creates the session if new.
    result<session_info> attach(connection_id connection, const std::string& session, std::uint64_t from_serial,
                                std::uint64_t client_epoch);

    /// Stops delivering `session` to `connection`; forgets the session when nobody follows it.
    void detach(connection_id connection, const std::string& session);

    /// Appends (or finds the earlier serial of) one event and fans it out to the subscribers. A
    /// first event also appends `session.created` to the sessions index. Errors: the producer
    /// rules' (stale_epoch, sequence_gap) and store_failure.
    result<append_reply> append(const append_input& input);

    /// Events after `after_serial`, at most `limit`; an unknown session reads as epoch 0, empty.
    result<read_reply> read(const std::string& session, std::uint64_t after_serial, std::size_t limit);

private:
    struct session_state {
        session_info info;
        std::set<connection_id> subscribers;  // ordered: deterministic fan-out order
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
