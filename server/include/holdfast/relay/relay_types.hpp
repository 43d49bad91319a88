// Plain value types shared by the relay core, its session table and the shells around them:
// configuration, connection ids, the outputs the core produces, and the metrics counters.
// Layer: relay (sans-I/O).
#pragma once
#include "holdfast/frames.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace holdfast::relay {

/// Assigned by whoever owns the sockets (the Beast shell, or a simulator); never reused while open.
using connection_id = std::uint64_t;

struct relay_config {
    std::uint32_t max_frame_bytes = 1u << 20;  // WebSocket messages and HTTP bodies
    std::uint32_t max_batch_events = 256;      // events per `events` frame during replay
    /// Producer positions kept in memory (the store is the truth; evicted ones are reloaded).
    std::size_t producer_cache_entries = 100'000;
};

/// One output of the core, in order per connection: send `frame`, or (frame == nullptr) close
/// the connection once everything queued before has been sent.
struct outbound {
    connection_id connection = 0;
    std::shared_ptr<const std::string> frame;  // one buffer shared by every subscriber of a fan-out
    bool close() const noexcept { return frame == nullptr; }
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
    std::uint64_t appends_fenced_total = 0;  // stale producer epoch
    std::uint64_t sequence_gaps_total = 0;   // producer skipped a sequence number
};

} // namespace holdfast::relay
