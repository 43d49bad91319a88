// update_batch: the core's per-turn JSON updates (client_core::take_updates_json) parsed into
// plain structs for native owners. Layer: native host. Parsing lives here, deciding stays in
// the core: these structs mirror the JSON one to one.
#pragma once
#include "holdfast/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace holdfast::native {

/// One event delivered in serial order (each serial once per session and epoch).
struct delivered_event {
    std::string session;
    std::uint64_t serial = 0;
    std::uint64_t ts = 0;  // relay clock, ms since the Unix epoch
    std::string kind;
    std::string msg_id;
    std::string agent;
    std::string producer_id;
    std::string payload_json;  // the payload re-serialised as compact JSON ("null" when absent)
};

/// A followed session's state after a batch. `reset`: the relay's log was recreated (new
/// epoch); drop everything derived from this session before applying the batch's events.
struct session_status {
    std::string id;
    std::string state;  // connecting | live | offline | resuming
    std::uint64_t last_serial = 0;
    std::uint64_t epoch = 0;
    bool reset = false;
    bool continuity_lost = false;  // with reset: the relay no longer holds the events after ours
};

struct ack_update {
    std::uint64_t request = 0;  // the id publish() returned
    std::uint64_t serial = 0;
};

struct reject_update {
    std::uint64_t request = 0;
    error err;
};

/// A control a user aimed at one of this client's own messages (by message id or run id); the
/// core decided it is ours. payload_json is "null" when the control had none.
struct incoming_control_update {
    std::string session;
    std::uint64_t serial = 0;  // the control's serial: what a control.outcome names
    std::string action;        // cancel | steer | interrupt
    std::string target;        // what the user named (a message or a run id)
    std::string message_id;    // the own message it applies to
    std::string payload_json;
};

/// The relay's decision on one of this client's own controls.
struct control_outcome_update {
    std::uint64_t request = 0;  // the id control() returned
    std::string outcome;        // applied | too_late | rejected
    std::string reason;
};

struct update_batch {
    std::vector<session_status> sessions;
    std::vector<incoming_control_update> incoming;  // after the events of the same batch
    std::vector<delivered_event> events;  // grouped by session, in serial order within each
    std::vector<ack_update> acks;
    std::vector<reject_update> rejects;
    std::vector<error> errors;
    std::vector<control_outcome_update> controls;
    std::optional<std::uint32_t> retry_delay_ms;  // set after a link loss: reconnect after this
    bool close_link = false;   // the core declared the link dead: drop it without reporting it
    bool connect_now = false;  // skip the retry delay
};

/// Each session's string and producer tables, which last from take to take (client.hpp,
/// take_updates_json): one per core, handed to the parse of each of its takes in order.
struct event_tables {
    struct of_session {
        std::vector<std::string> strings;                            // kinds and message ids
        std::vector<std::pair<std::string, std::string>> producers;  // [producerId, agent]
    };
    std::map<std::string, of_session, std::less<>> sessions;
};

/// Parses one take_updates_json() string ("" gives an empty batch) with the event_columns() of
/// the same take, updating `tables` from it. A malformed batch is a bug in the core: it comes
/// back as errc::malformed_frame rather than an exception.
result<update_batch> parse_update_batch(std::string_view json, std::string_view event_columns, event_tables& tables);

} // namespace holdfast::native
