// The Kafka-style producer rules of idempotent publishing: per (session, producer_id), a producer
// epoch that only grows (a lower one is a fenced zombie) and, within an epoch, sequence numbers
// that follow each other (a retry gets its first serial back, a skip is a gap). Layer: relay
// (sans-I/O). Positions are cached in memory and loaded from the store the first time a producer
// shows up (after a restart, or after eviction), so the rules hold across restarts: the store's
// events are the truth, this table only saves a query per publish.
#pragma once
#include "holdfast/relay/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace holdfast::relay {

/// One sequenced append, as checked against its producer's position.
struct producer_claim {
    std::string_view session;
    std::string_view producer_id;  // non-empty: empty ids are not sequenced
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
};

class producer_table {
public:
    producer_table(store& backing, std::size_t capacity);

    /// nullopt: append it. A serial: a retry of an append that got that serial. Errors:
    /// stale_epoch (an older incarnation of the producer: fenced), sequence_gap (a sequence
    /// skipped, or one that never got a serial), store_failure.
    result<std::optional<std::uint64_t>> check(const producer_claim& claim);

    /// The claim's event is durable: it is now the producer's position.
    void appended(const producer_claim& claim);

    /// An append failed in a way that may or may not have written it: reload from the store.
    void forget(const producer_claim& claim);

private:
    static std::string key(const producer_claim& claim);
    void remember(std::string k, producer_position position);

    store& store_;
    std::size_t capacity_;
    std::unordered_map<std::string, producer_position> positions_;  // key(): session '\n' producer_id
};

} // namespace holdfast::relay
