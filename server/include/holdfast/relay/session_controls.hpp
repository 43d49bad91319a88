// What the relay knows about one session's live conversation: its open (streaming) messages with
// their owners and runs, the controls waiting for an outcome, recently ended messages, and which
// agents are present. Layer: relay (sans-I/O), no store, no clock: it is fed every appended event
// in serial order (observe) and answers with the relay-authored events those cause
// (control.outcome), which session_table appends next. Because its state is a function of the log,
// the same observe() rebuilds it from the stored tail after a restart.
#pragma once
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"
#include "holdfast/relay/relay_types.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace holdfast::relay {

/// The producer id of events the relay writes itself; no client may use it.
inline constexpr std::string_view relay_producer = "relay";

/// An event the relay appends on its own account (producer "relay", no producer sequence).
struct relay_event {
    std::string kind;
    std::string msg_id;
    std::string agent;
    proto::raw_value payload;
};

/// Kinds of control events the relay routes: "control.<action>" except control.outcome.
bool is_control_kind(std::string_view kind);

/// The control.outcome event for control `serial` (payload as in docs/protocol.md).
relay_event make_outcome(std::uint64_t control_serial, std::string_view action, std::string_view target,
                         std::string_view outcome, std::string_view reason);

/// An open message as the lease logic needs it.
struct open_message_owner {
    std::string msg_id;
    std::string producer_id;
    std::string agent;
};

class session_controls {
public:
    /// `ended_memory`: how many ended message ids (and ended runs) are remembered, so a late
    /// control is answered too_late rather than rejected.
    explicit session_controls(std::size_t ended_memory) : ended_memory_(ended_memory) {}

    /// The msg_id a control with `target` is appended with: the newest open message for an empty
    /// target (the newest ended one when none is open), else the target itself (a message or a run).
    std::string resolve_target(std::string_view target) const;

    /// Refuses (forbidden) a control.outcome naming a pending control from a producer that owns
    /// none of its targets; anything else may be appended.
    std::optional<error> check_outcome(std::string_view producer_id, std::string_view agent,
                                       const proto::raw_value& payload) const;

    /// One appended event, in serial order. Relay events it causes are appended to `follow_ups`
    /// when given (null while rebuilding from the log, which already holds them).
    void observe(const proto::event& e, std::vector<relay_event>* follow_ups);

    /// The open messages `producer_id` owns, oldest first.
    std::vector<open_message_owner> open_messages_of(std::string_view producer_id) const;
    /// Every open message, oldest first.
    std::vector<open_message_owner> open_messages() const;
    /// What a rebuilt session needs leases for: every open message's owner, and each present agent
    /// with nothing open under the producer it last wrote with (msg_id empty; producer_id empty
    /// when it wrote nothing in the scanned window).
    std::vector<open_message_owner> lease_candidates() const;
    std::size_t open_count() const noexcept { return open_.size(); }
    std::size_t pending_count() const noexcept { return pending_.size(); }

    // Presence: agent names announced in the log (agent.attached without a later agent.detached)
    // and, in memory only, the connections of each agent name attached now.
    bool announced(const std::string& agent) const { return announced_.contains(agent); }
    void add_agent_connection(const std::string& agent, connection_id connection);
    /// Returns how many connections of `agent` remain attached here.
    std::size_t remove_agent_connection(const std::string& agent, connection_id connection);
    std::size_t agent_connections(const std::string& agent) const;

    /// Nothing here that the log could not rebuild cheaply and nothing in flight: may be dropped.
    bool idle() const noexcept { return open_.empty() && pending_.empty() && agents_.empty() && announced_.empty(); }

private:
    struct open_message {
        std::uint64_t start_serial = 0;
        std::string producer_id;
        std::string agent;
        std::string run;
        std::set<std::uint64_t> pending;  // control serials waiting on this message
    };
    struct pending_control {
        std::string action;
        std::string target;
        std::set<std::string> remaining;  // open target messages not yet ended
        std::set<std::pair<std::string, std::string>> owners;  // (producer_id, agent) of the targets
        bool any_cancelled = false;
        std::string last_reason;  // of the last target's end, for too_late
    };

    void on_start(const proto::event& e);
    void on_end(const proto::event& e, std::vector<relay_event>* follow_ups);
    void on_control(const proto::event& e, std::vector<relay_event>* follow_ups);
    void on_outcome(const proto::event& e);
    void remember_ended(const std::string& msg_id, const std::string& run);
    std::vector<std::string> open_of_run(const std::string& run) const;

    std::size_t ended_memory_;
    std::map<std::string, open_message> open_;                  // by msg_id
    std::map<std::uint64_t, std::string> open_by_start_;        // start serial -> msg_id (newest last)
    std::map<std::uint64_t, pending_control> pending_;          // by control serial
    std::deque<std::string> ended_order_;                       // oldest first, bounded
    std::unordered_set<std::string> ended_;                     // msg ids and runs of ended_order_
    std::string newest_ended_;
    std::set<std::string> announced_;
    std::map<std::string, std::string> last_producer_;          // agent name -> producer it last wrote with
    std::map<std::string, std::set<connection_id>> agents_;     // agent name -> attached connections
};

} // namespace holdfast::relay
