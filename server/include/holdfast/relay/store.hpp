// The relay's storage interface: per-session epoch, head serial, the event log and the producer
// lookups behind idempotent publishing. Layer: relay (server/), no I/O policy of its own. The relay
// core decides serials and the producer rules; a store persists what it is told and enforces the
// invariants (no holes, one serial per (session, producer_id, producer_epoch, producer_seq)) so a
// bug in the caller fails loudly instead of corrupting a log. Producer state is derived from the
// stored events, so it survives a restart with them. Implementations: memory_store (tests,
// simulator), sqlite_store (default) and redis_store (several relay nodes; it assigns serials
// itself, see the shared-store calls at the end).
#pragma once
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::relay {

/// Identity and length of one session's log.
struct session_info {
    std::uint64_t epoch = 0;        // nonzero, < 2^53 so JavaScript numbers hold it exactly
    std::uint64_t head_serial = 0;  // newest serial; 0 for an empty log
    friend bool operator==(const session_info&, const session_info&) = default;
};

/// One event as stored: the wire event plus the producer incarnation and sequence used for dedup.
struct stored_event {
    proto::event event;
    std::uint64_t producer_seq = 0;
    std::uint64_t producer_epoch = 0;
};

/// Where a producer stands in one session: the highest (epoch, seq) among its stored events,
/// compared epoch first. Values are below 2^63 (the relay refuses larger ones).
struct producer_position {
    std::uint64_t epoch = 0;
    std::uint64_t last_seq = 0;
    friend bool operator==(const producer_position&, const producer_position&) = default;
};

/// Produces epochs for new sessions. Injected so a simulator can be deterministic.
using epoch_source = std::function<std::uint64_t()>;

/// A random epoch in [1, 2^53).
std::uint64_t random_epoch();

class store {
public:
    virtual ~store() = default;

    /// The session's epoch and head, or nullopt if it was never created. Never creates.
    virtual result<std::optional<session_info>> load(std::string_view session) = 0;

    /// Creates the session with a fresh epoch and an empty log if absent; returns its info.
    virtual result<session_info> create(std::string_view session) = 0;

    /// The producer's position in the session, or nullopt if it never appended there. Loaded
    /// when a producer first shows up after a restart. producer_id must be non-empty.
    virtual result<std::optional<producer_position>> producer_state(std::string_view session,
                                                                    std::string_view producer_id) = 0;

    /// The serial already assigned to (session, producer_id, producer_epoch, producer_seq), if any:
    /// the answer to a retried publish. producer_id must be non-empty (empty means "no dedup").
    virtual result<std::optional<std::uint64_t>> find_producer(std::string_view session,
                                                               std::string_view producer_id,
                                                               std::uint64_t producer_epoch,
                                                               std::uint64_t producer_seq) = 0;

    /// Durably appends one event to an existing session. e.event.serial must be head + 1 and a
    /// non-empty producer_id with a nonzero producer_seq must not repeat its (epoch, seq);
    /// otherwise nothing is written and store_failure is returned. producer_seq 0 means "not
    /// sequenced" (the relay's own events, producer "relay"): no dedup entry, no position. When this returns, the event survives a crash (per the store's
    /// durability).
    virtual result<ok_t> append(std::string_view session, const stored_event& e) = 0;

    /// Group commit: the appends between begin_group() and end_group() become durable together,
    /// at end_group() (the relay brackets the frames of one received bundle, before any of their
    /// acks can leave). Inside a group an append that fails leaves the others in it. A store
    /// without transactions ignores both. end_group() failing means none of the group is stored.
    virtual void begin_group() {}
    virtual result<ok_t> end_group() { return ok_t{}; }

    /// Events with serial > after_serial, in serial order, at most `limit` of them. A store with
    /// retention (redis) may have dropped the oldest: the first event returned is then later than
    /// after_serial + 1 (first_retained says where the log starts).
    virtual result<std::vector<proto::event>> read(std::string_view session, std::uint64_t after_serial,
                                                   std::size_t limit) = 0;

    // ---- shared stores (several relay nodes on one store: redis) ------------------------------
    /// True when other processes append to this store too: the store assigns serials and applies
    /// the producer rules itself in one atomic step (append_assigning), and a node's cached head
    /// may be behind. The embedded stores answer false and keep the calls above.
    virtual bool assigns_serials() const { return false; }

    /// What append_assigning did: the serial the event got, or the one a retry got first.
    struct assigned_serial {
        std::uint64_t serial = 0;
        bool duplicate = false;
    };
    /// Appends `e` with the next serial (e.event.serial is ignored) after checking the producer
    /// rules atomically with it (errors: stale_epoch, sequence_gap, store_failure, limit_exceeded).
    virtual result<assigned_serial> append_assigning(std::string_view /*session*/, const stored_event& /*e*/) {
        return make_error(errc::store_failure, "this store does not assign serials");
    }

    /// The oldest serial still held: 1 unless retention trimmed the log (then head + 1 when the
    /// stream is empty).
    virtual result<std::uint64_t> first_retained(std::string_view /*session*/) { return std::uint64_t{1}; }

    /// Agent presence across nodes: marks each key (a producer id, or "\n" + an agent name) as
    /// spoken for by a live node for `ttl_ms`. Nodes renew their own keys every tick, so the keys
    /// of a node that died lapse by themselves. Embedded stores: nothing to share.
    virtual result<ok_t> keep_present(const std::vector<std::string>& /*keys*/, std::uint64_t /*ttl_ms*/) {
        return ok_t{};
    }
    /// Which of `keys` some node keeps present now.
    virtual result<std::vector<bool>> present(const std::vector<std::string>& keys) {
        return std::vector<bool>(keys.size(), false);
    }

    /// Whether the store can serve requests now (GET /healthz). Embedded stores always can.
    virtual bool healthy() { return true; }
};

/// Opens a store from a URL: "memory:", "sqlite:PATH" or "redis://HOST:PORT/DB" (when built with
/// hiredis). Errors: store_failure with a detail.
result<std::unique_ptr<store>> open_store(std::string_view url, epoch_source epochs = random_epoch);

} // namespace holdfast::relay
