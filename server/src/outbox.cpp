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

std::vector<outbound> outbox::take() {
    std::vector<outbound> out;
    out.reserve(pending_.size());
    struct run {
        std::size_t slot;  // its place in `out`, filled when the run ends
        std::vector<std::shared_ptr<const std::string>> frames;
        std::size_t bytes = 0;
    };
    std::unordered_map<connection_id, run> runs;
    const proto::bundle_limits limits;
    auto finish = [&](connection_id to) {
        auto it = runs.find(to);
        if (it == runs.end()) return;
        run& r = it->second;
        if (r.frames.size() == 1) {
            out[r.slot].frame = std::move(r.frames.front());
        } else {
            auto message = std::make_shared<std::string>();
            message->reserve(r.bytes + 5);
            proto::append_bundle_header(r.frames.size(), *message);
            // The header's bytes are written too: count them so written never passes queued.
            if (auto ledger = ledgers_.find(to); ledger != ledgers_.end()) ledger->second.queued_total += message->size();
            for (const auto& frame : r.frames) *message += *frame;
            out[r.slot].frame = std::move(message);
        }
        runs.erase(it);
    };
    for (outbound& o : pending_) {
        auto ledger = ledgers_.find(o.connection);
        const bool bundles = ledger != ledgers_.end() && ledger->second.bundles;
        if (o.close || !bundles || !o.frame) {
            finish(o.connection);
            out.push_back(std::move(o));
            continue;
        }
        auto it = runs.find(o.connection);
        if (it != runs.end() && (it->second.frames.size() >= limits.max_frames ||
                                 it->second.bytes + o.frame->size() > limits.max_bytes)) {
            finish(o.connection);
            it = runs.end();
        }
        if (it == runs.end()) {
            it = runs.emplace(o.connection, run{out.size(), {}, 0}).first;
            out.push_back(outbound{o.connection, nullptr, std::nullopt});
        }
        it->second.bytes += o.frame->size();
        it->second.frames.push_back(std::move(o.frame));
    }
    while (!runs.empty()) finish(runs.begin()->first);
    pending_.clear();
    return out;
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
