// producer_table: epoch fencing, sequence checks and the position cache. Layer: relay (sans-I/O).
#include "holdfast/relay/producer_table.hpp"

namespace holdfast::relay {

producer_table::producer_table(store& backing, std::size_t capacity) : store_(backing), capacity_(capacity) {}

std::string producer_table::key(const producer_claim& claim) {
    // Session ids never contain '\n' (is_valid_session_id), so the split is unambiguous.
    std::string k;
    k.reserve(claim.session.size() + 1 + claim.producer_id.size());
    k.append(claim.session).append(1, '\n').append(claim.producer_id);
    return k;
}

result<std::optional<std::uint64_t>> producer_table::check(const producer_claim& claim) {
    using verdict = std::optional<std::uint64_t>;
    std::optional<producer_position> position;
    if (auto cached = positions_.find(key(claim)); cached != positions_.end()) {
        position = cached->second;
    } else {
        auto loaded = store_.producer_state(claim.session, claim.producer_id);
        if (!loaded) return loaded.err();
        position = loaded.value();
        if (position) remember(key(claim), *position);
    }
    if (!position) return verdict{};  // a producer new to this session starts anywhere
    if (claim.epoch < position->epoch) {
        return make_error(errc::stale_epoch, "producer epoch " + std::to_string(claim.epoch) +
                                                 " is older than its current epoch " +
                                                 std::to_string(position->epoch) + ": fenced");
    }
    if (claim.epoch > position->epoch) return verdict{};  // a new incarnation starts anywhere too
    if (claim.seq == position->last_seq + 1) return verdict{};
    if (claim.seq > position->last_seq) {
        return make_error(errc::sequence_gap, "expected " + std::to_string(position->last_seq + 1));
    }
    auto earlier = store_.find_producer(claim.session, claim.producer_id, claim.epoch, claim.seq);
    if (!earlier) return earlier.err();
    if (earlier.value()) return earlier.value();
    // Below the position but never appended: this incarnation started at a later sequence.
    return make_error(errc::sequence_gap, "sequence " + std::to_string(claim.seq) + " of epoch " +
                                              std::to_string(claim.epoch) + " was never appended (expected " +
                                              std::to_string(position->last_seq + 1) + ")");
}

void producer_table::appended(const producer_claim& claim) {
    // check() allowed only a new producer, a newer epoch or the next sequence: each is the new top.
    remember(key(claim), producer_position{claim.epoch, claim.seq});
}

void producer_table::remember(std::string k, producer_position position) {
    if (auto it = positions_.find(k); it != positions_.end()) {
        it->second = position;
        return;
    }
    if (capacity_ == 0) return;
    // A cache, not a registry: dropping any entry only costs a store query later.
    if (positions_.size() >= capacity_) positions_.erase(positions_.begin());
    positions_.emplace(std::move(k), position);
}

void producer_table::forget(const producer_claim& claim) { positions_.erase(key(claim)); }

} // namespace holdfast::relay
