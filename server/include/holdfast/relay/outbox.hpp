// The relay core's output queue and per-connection send ledger: frames to send and close
// directives, drained by the shell after every input, plus the bytes each connection has queued
// (sent here, not yet reported written by the shell through on_sent). Layer: relay (sans-I/O).
// Keeping the ledger where every frame passes makes the slow-consumer bound impossible to bypass:
// a reply or live event that would take a connection past relay_config::max_queued_bytes is not
// queued, and the connection is reported by take_overflowed() for the core to close.
#pragma once
#include "holdfast/codec.hpp"
#include "holdfast/relay/relay_types.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace holdfast::relay {

class outbox {
public:
    outbox(relay_metrics& metrics, const relay_config& config) : metrics_(metrics), config_(config) {}

    /// Queues a reply or a live event, subject to the queue bound.
    template <class Frame>
    void send(connection_id to, const Frame& f) {
        send(to, std::make_shared<const std::string>(proto::encode(f)));
    }
    void send(connection_id to, std::shared_ptr<const std::string> bytes);

    /// Queues a replay batch: exempt from the bound because the caller paces it (replay window).
    void send_paced(connection_id to, std::shared_ptr<const std::string> bytes);

    /// Queues `last_frame` (if any) and a close; nothing more is queued for `to` afterwards. Only
    /// the first close of a connection counts.
    void close(connection_id to, close_directive how, std::shared_ptr<const std::string> last_frame = nullptr);

    /// The shell wrote `bytes` (whole frames, in the order queued) to `to`.
    void on_sent(connection_id to, std::uint64_t bytes);

    /// Bytes queued for `to` and not yet written.
    std::uint64_t queued_bytes(connection_id to) const;
    /// Running totals since the connection opened: an offset `written_bytes` passes once every
    /// frame queued before `queued_total` was taken is written.
    std::uint64_t queued_total(connection_id to) const;
    std::uint64_t written_bytes(connection_id to) const;

    /// Connections that overflowed since the last call (each once).
    std::vector<connection_id> take_overflowed() { return std::exchange(overflowed_, {}); }

    /// The connection is gone: drop its ledger.
    void forget(connection_id to) { ledgers_.erase(to); }

    /// The connection takes bundles (its hello said so): take() groups its frames into them.
    void enable_bundles(connection_id to) { ledgers_[to].bundles = true; }

    /// Everything queued since the last call, in order per connection. For a connection that
    /// takes bundles, consecutive frames become bundle messages (proto::bundle_limits): one write
    /// and one receive for a turn's acks and fan-out instead of one per frame.
    std::vector<outbound> take();
    bool empty() const noexcept { return pending_.empty(); }

private:
    struct ledger {
        std::uint64_t queued_total = 0;
        std::uint64_t written = 0;
        bool closed = false;        // overflowed or closing: queue no more frames
        bool close_queued = false;  // the close directive is out (an overflow still needs one)
        bool bundles = false;
    };
    void enqueue(connection_id to, ledger& entry, std::shared_ptr<const std::string> bytes);

    relay_metrics& metrics_;
    const relay_config& config_;
    std::vector<outbound> pending_;
    std::unordered_map<connection_id, ledger> ledgers_;
    std::vector<connection_id> overflowed_;
};

} // namespace holdfast::relay
