// Plain value types shared by the relay core, its session table and the shells around them:
// configuration, connection ids, the outputs the core produces, and the metrics counters.
// Layer: relay (sans-I/O).
#pragma once
#include "holdfast/frames.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace holdfast::relay {

class token_verifier;

/// Assigned by whoever owns the sockets (the Beast shell, or a simulator); never reused while open.
using connection_id = std::uint64_t;

struct relay_config {
    std::uint32_t max_frame_bytes = 1u << 20;  // WebSocket messages and HTTP bodies
    std::uint32_t max_batch_events = 2048;     // events per `events` frame during replay
    /// Commit the appends of one received bundle in one store transaction (store::begin_group).
    /// Off by default: with SQLite in WAL mode and synchronous=NORMAL a commit does not fsync and
    /// grouping measured no gain, while a failed group commit can only end in stopping the relay.
    bool group_commit = false;
    /// Bytes a connection may have queued (sent by the core, not yet reported written by the
    /// shell) before a live event or reply closes it as a slow consumer. A connection with an
    /// empty queue always gets its next frame, however large.
    std::uint64_t max_queued_bytes = 8u << 20;
    /// Replay pacing: a connection has at most this many replay batches queued at once...
    std::uint32_t replay_window_batches = 4;
    /// ...and gets the next one only while its queue holds less than this many bytes.
    std::uint64_t replay_low_water_bytes = 1u << 20;
    /// Producer positions kept in memory (the store is the truth; evicted ones are reloaded).
    std::size_t producer_cache_entries = 100'000;
    /// How long a closed agent connection's producer keeps its open messages before the relay
    /// ends them with error/agent_lost (unless a connection with that producer shows up).
    std::uint64_t agent_lease_ms = 5000;
    /// Events read from the end of a session's log to rebuild its open messages and pending
    /// controls the first time the session is used after a start. Older messages are unknown.
    std::uint64_t open_message_scan_events = 10'000;
    /// Ended message ids (and runs) remembered per session: a control naming one is too_late;
    /// naming one forgotten is rejected as unknown.
    std::size_t ended_messages_remembered = 1024;
    /// Sessions whose control state is kept with nothing open or pending (rebuilt when evicted).
    std::size_t idle_control_sessions = 10'000;

    // Hostile-input limits (docs/security.md). A connection's frames are metered by two token
    // buckets holding `rate_burst_seconds` of budget; past it the shell pauses reading from that
    // connection (read_pause_ms) and the client gets one error{rate_limited} per episode. A peer
    // whose debt passes `rate_debt_seconds` anyway (a shell that does not pause) is closed (4029).
    // An agent pipelining tokens for many sessions on one link sends tens of thousands of small
    // frames a second (bundled): the budget is a flood guard, not a pace.
    std::uint32_t max_frames_per_second = 200'000;    // 0: unmetered
    std::uint64_t max_bytes_per_second = 32u << 20;  // 0: unmetered
    std::uint32_t rate_burst_seconds = 2;
    std::uint32_t rate_debt_seconds = 10;
    /// Sessions one connection may have attached at once (error limit_exceeded beyond).
    std::uint32_t max_sessions_per_connection = 10'000;
    /// Capability tokens: null is development mode (no checks); otherwise every hello must carry
    /// a valid token and every attach, publish and control must be within its capabilities.
    std::shared_ptr<const token_verifier> auth;
};

/// WebSocket close statuses the core asks for (RFC 6455 section 7.4.1; 4000-4999 are private
/// to the application). The shell itself uses 1001 (going away) on stop, and Beast 1009 when a
/// message exceeds the read limit.
namespace close_status {
inline constexpr std::uint16_t policy_violation = 1008;  // version mismatch
inline constexpr std::uint16_t message_too_big = 1009;   // a frame over max_frame_bytes
inline constexpr std::uint16_t internal_error = 1011;    // the store failed during a replay
inline constexpr std::uint16_t slow_consumer = 4008;     // the send queue passed max_queued_bytes
inline constexpr std::uint16_t session_reset = 4012;     // a shared store recreated a followed session (new epoch)
inline constexpr std::uint16_t unauthorized = 4401;      // token missing, invalid or expired (reason says which)
inline constexpr std::uint16_t rate_limited = 4029;      // kept flooding past the rate debt
} // namespace close_status

/// How the shell must close a connection.
struct close_directive {
    std::uint16_t code = close_status::policy_violation;
    std::string reason;
    /// Discard the frames queued but not yet being written before sending the last frame: a peer
    /// that does not read would otherwise hold the close (and the memory) behind its backlog.
    bool drop_unsent = false;
};

/// One output of the core, in order per connection: send `frame` (when set), then, if `close` is
/// set, close the connection as it says once `frame` and everything kept before it is written.
struct outbound {
    connection_id connection = 0;
    std::shared_ptr<const std::string> frame;  // one buffer shared by every subscriber of a fan-out
    std::optional<close_directive> close;
};

/// An append from either surface (WebSocket publish/control or HTTP POST).
struct append_input {
    std::string session;
    std::string producer_id;  // empty: no dedup
    std::uint64_t producer_seq = 0;
    std::uint64_t producer_epoch = 0;
    std::string kind;
    std::string msg_id;
    std::string agent;
    proto::raw_value payload;
};

/// An upper bound of one event's msgpack size in an events frame (plain or packed): its strings
/// and payload plus the keys, headers and integers around them (87 bytes at most).
inline std::size_t encoded_size_bound(std::size_t producer_id, std::size_t kind, std::size_t msg_id, std::size_t agent,
                                      std::size_t payload) {
    return 96 + producer_id + kind + msg_id + agent + payload;
}
/// What an events frame adds around its events (its keys, session and serial), as replay batches
/// and held fan-out count it.
inline std::size_t events_frame_overhead(std::size_t session) { return 64 + session; }

struct append_reply {
    std::uint64_t serial = 0;
    std::uint64_t epoch = 0;
    bool duplicate = false;  // an earlier append with the same producer key already had `serial`
};

struct read_reply {
    std::uint64_t epoch = 0;        // 0: unknown session
    std::uint64_t head_serial = 0;
    std::vector<proto::event> events;
};

/// Counters exported on /metrics. Gauges are current values; *_total only grow.
struct relay_metrics {
    std::uint64_t open_connections = 0;
    std::uint64_t live_sessions = 0;  // sessions with at least one attached connection
    std::uint64_t connections_total = 0;
    std::uint64_t frames_received_total = 0;
    std::uint64_t frames_sent_total = 0;
    std::uint64_t frames_rejected_total = 0;
    std::uint64_t events_appended_total = 0;
    std::uint64_t appends_deduplicated_total = 0;
    std::uint64_t sessions_started_total = 0;  // sessions that got their first event
    std::uint64_t store_failures_total = 0;
    std::uint64_t appends_fenced_total = 0;        // stale producer epoch
    std::uint64_t sequence_gaps_total = 0;         // producer skipped a sequence number
    std::uint64_t replay_batches_total = 0;        // `events` frames sent by paced replays
    std::uint64_t events_replayed_total = 0;       // events inside those frames
    std::uint64_t slow_consumer_closes_total = 0;  // connections closed for an overfull send queue
    std::uint64_t controls_applied_total = 0;      // control.outcome events by outcome (relay's and
    std::uint64_t controls_too_late_total = 0;     // agents')
    std::uint64_t controls_rejected_total = 0;
    std::uint64_t agents_lost_total = 0;           // agent leases that expired and ended or detached something
    std::uint64_t agent_leases = 0;                // gauge: leases running now
    std::uint64_t auth_failures_total = 0;         // hellos and requests refused for their token
    std::uint64_t forbidden_total = 0;             // requests outside the token's capabilities
    std::uint64_t throttled_total = 0;             // rate-limit episodes (reading paused)
    std::uint64_t rate_limit_closes_total = 0;     // connections closed with 4029
};

} // namespace holdfast::relay
