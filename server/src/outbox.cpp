// outbox: output queue, send ledger and the slow-consumer bound. Layer: relay (sans-I/O).
#include "holdfast/relay/outbox.hpp"

#include <algorithm>

namespace holdfast::relay {

void outbox::enqueue(connection_id to, ledger& entry, std::shared_ptr<const std::string> bytes) {
    ++metrics_.frames_sent_total;
    entry.queued_total += bytes->size();
    pending_.push_back(outbound{to, std::move(bytes), std::nullopt});
}

void outbox::send(connection_id to, std::shared_ptr<const std::string> bytes) {
    ledger& entry = ledgers_[to];
    if (entry.closed) return;
    const std::uint64_t queued = entry.queued_total - entry.written;
    // An empty queue always takes the next frame, so a bound below one frame cannot close a
    // reader that keeps up.
    if (queued > 0 && queued + bytes->size() > config_.max_queued_bytes) {
        entry.closed = true;
        overflowed_.push_back(to);
        return;
    }
    enqueue(to, entry, std::move(bytes));
}

void outbox::send_paced(connection_id to, std::shared_ptr<const std::string> bytes) {
    ledger& entry = ledgers_[to];
    if (!entry.closed) enqueue(to, entry, std::move(bytes));
}

void outbox::close(connection_id to, close_directive how, std::shared_ptr<const std::string> last_frame) {
    ledger& entry = ledgers_[to];
    if (entry.close_queued) return;  // one close per connection; the first decides how
    entry.close_queued = true;
    entry.closed = true;
    if (last_frame) {
        ++metrics_.frames_sent_total;
        entry.queued_total += last_frame->size();
    }
    pending_.push_back(outbound{to, std::move(last_frame), std::move(how)});
}

void outbox::on_sent(connection_id to, std::uint64_t bytes) {
    auto it = ledgers_.find(to);
    if (it == ledgers_.end()) return;
    it->second.written = std::min(it->second.written + bytes, it->second.queued_total);
}

std::uint64_t outbox::queued_bytes(connection_id to) const {
    auto it = ledgers_.find(to);
    return it == ledgers_.end() ? 0 : it->second.queued_total - it->second.written;
}

std::uint64_t outbox::queued_total(connection_id to) const {
    auto it = ledgers_.find(to);
    return it == ledgers_.end() ? 0 : it->second.queued_total;
}

std::uint64_t outbox::written_bytes(connection_id to) const {
    auto it = ledgers_.find(to);
    return it == ledgers_.end() ? 0 : it->second.written;
}

} // namespace holdfast::relay
