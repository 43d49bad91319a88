// client_core's use of local storage: the persisted producer (identity, sequences, unacknowledged
// publishes), retention, clearing. Layer: portable core. Split from client.cpp, which holds the
// link and delivery logic.
#include "holdfast/client.hpp"

#include "holdfast/codec.hpp"

namespace holdfast::client {
namespace {

std::string producer_path(const history_store& store) { return store.root() + "/producer"; }

/// A stored publish or control as the relay reads it: every field either of them requires (the
/// verb and its target are a publish's kind and msg_id, a control's action and target).
struct stored_write {
    std::string session;
    std::string producer_id;
    std::uint64_t producer_seq = 0;
    std::uint64_t producer_epoch = 0;
    proto::raw_value payload;
    std::optional<std::string> kind, msg_id, action, target;
};
BOOST_DESCRIBE_STRUCT(stored_write, (), (session, producer_id, producer_seq, producer_epoch, payload, kind, msg_id, action, target))

} // namespace

void client_core::load_producer() {
    auto content = config_.storage->fs().read(producer_path(*config_.storage));
    if (!content) return;  // first run: nothing stored
    auto stored = proto::decode_struct<stored_producer>(content.value());
    if (!stored || stored->producer_id.empty()) {
        report(make_error(errc::store_failure, "stored producer unreadable: starting a new one"));
        return;
    }
    // Only the unacknowledged publishes are adopted, resent unchanged under the producer, epoch
    // and sequence that numbered them, so the relay answers each with the serial it gave it if it
    // already appended it. The stored identity is not continued: the copy may be behind what the
    // relay appended under it (IndexedDB is synced some time after a publish, and a crash or a
    // killed tab skips that), and the tab that wrote it may still be alive, frozen. Numbering new
    // publishes from it would reuse sequences the relay already acknowledged: it would answer
    // them as duplicates with another publish's serial, and they would never be appended.
    for (auto& pending : stored->pending) {
        // Read whole, as the relay will: a damaged one adopted would never be answered for its
        // producer (the relay's error for a frame it cannot read names none) and would hold every
        // later publish of that producer in the resend loop behind it. It must also agree with its
        // record.
        auto type = proto::frame_type(pending.frame.bytes);
        auto stored_frame = proto::decode_struct<stored_write>(pending.frame.bytes);
        const bool control = type && type.value() == proto::control::frame_type;
        const bool publish = type && type.value() == proto::publish::frame_type;
        if (!stored_frame || stored_frame->session != pending.session || stored_frame->producer_seq != pending.producer_seq ||
            !(publish ? stored_frame->kind && stored_frame->msg_id : control && stored_frame->action && stored_frame->target)) {
            report(make_error(errc::store_failure, "a stored unacknowledged publish is unreadable: dropped"));
            continue;
        }
        const std::string& producer = stored_frame->producer_id;
        const std::uint64_t request = next_request_++;
        const std::uint32_t stream = intern_stream(producer, pending.session);
        request_by_seq_.emplace(sequence_key{stream, pending.producer_seq}, request);
        // Its outcome is reported too, found in the stored conversation if it came before the reload.
        if (control) control_requests_.insert(request);
        outbox_.emplace(request, pending_publish{stream, pending.producer_seq, std::move(pending.frame.bytes)});
    }
}

void client_core::save_producer() {
    producer_dirty_ = false;
    if (!config_.storage) return;
    stored_producer state{config_.client_id, config_.producer_epoch, {}, {}};
    for (const auto& [session_id, last] : last_seq_by_session_) state.sequences.push_back({session_id, last});
    for (const auto& [request, pending] : outbox_) {
        state.pending.push_back({streams_[pending.stream].session, pending.producer_seq, proto::raw_value{pending.frame}});
    }
    if (auto written = config_.storage->fs().write(producer_path(*config_.storage), proto::encode_struct(state)); !written) {
        report(written.err());
        return;
    }
    persist_out_ = true;
}

void client_core::enforce_retention() {
    std::set<std::string, std::less<>> in_use;
    for (const auto& [id, entry] : sessions_) in_use.insert(id);
    auto evicted = config_.storage->evict(config_.retention_limits, in_use);
    if (!evicted) {
        report(evicted.err());
        return;
    }
    if (!evicted->empty()) persist_out_ = true;
    for (auto& id : evicted.value()) evicted_out_.push_back(std::move(id));
}

bool client_core::on_storage_full() {
    if (!config_.storage) return false;
    std::set<std::string, std::less<>> in_use;
    for (const auto& [id, entry] : sessions_) in_use.insert(id);
    auto evicted = config_.storage->evict_one(in_use);
    if (!evicted || !evicted.value()) {
        report(make_error(errc::store_failure, "storage is full and every stored session is in use"));
        return false;
    }
    evicted_out_.push_back(**evicted);
    persist_out_ = true;
    return true;
}

void client_core::clear_session(std::string_view session_id) {
    close_session(session_id);
    if (!config_.storage) return;
    if (auto cleared = config_.storage->clear_session(session_id); !cleared) report(cleared.err());
    persist_out_ = true;
}

} // namespace holdfast::client
