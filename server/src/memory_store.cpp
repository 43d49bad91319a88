// memory_store: hash map of sessions, each a vector indexed by serial - 1. Layer: relay.
#include "holdfast/relay/memory_store.hpp"

#include <algorithm>
#include <tuple>

namespace holdfast::relay {

memory_store::memory_store(epoch_source epochs) : epochs_(std::move(epochs)) {}

memory_store::session_log* memory_store::find(std::string_view session) {
    auto it = sessions_.find(std::string(session));
    return it == sessions_.end() ? nullptr : &it->second;
}

result<std::optional<session_info>> memory_store::load(std::string_view session) {
    const session_log* log = find(session);
    if (!log) return std::optional<session_info>{};
    return std::optional<session_info>{session_info{log->epoch, log->events.size()}};
}

result<session_info> memory_store::create(std::string_view session) {
    auto [it, inserted] = sessions_.try_emplace(std::string(session));
    if (inserted) it->second.epoch = epochs_();
    return session_info{it->second.epoch, it->second.events.size()};
}

result<std::optional<producer_position>> memory_store::producer_state(std::string_view session,
                                                                      std::string_view producer_id) {
    const session_log* log = find(session);
    if (!log || producer_id.empty()) return std::optional<producer_position>{};
    auto it = log->positions.find(producer_id);
    if (it == log->positions.end()) return std::optional<producer_position>{};
    return std::optional<producer_position>{it->second};
}

result<std::optional<std::uint64_t>> memory_store::find_producer(std::string_view session,
                                                                 std::string_view producer_id,
                                                                 std::uint64_t producer_epoch,
                                                                 std::uint64_t producer_seq) {
    const session_log* log = find(session);
    if (!log || producer_id.empty()) return std::optional<std::uint64_t>{};
    auto it = log->serials.find({std::string(producer_id), producer_epoch, producer_seq});
    if (it == log->serials.end()) return std::optional<std::uint64_t>{};
    return std::optional<std::uint64_t>{it->second};
}

result<ok_t> memory_store::append(std::string_view session, const stored_event& e) {
    session_log* log = find(session);
    if (!log) return make_error(errc::store_failure, "append to unknown session");
    if (e.event.serial != log->events.size() + 1) {
        return make_error(errc::store_failure, "serial " + std::to_string(e.event.serial) + " is not head + 1");
    }
    // Sequence 0 is not sequenced (the relay's own events): no dedup entry, no position.
    if (!e.event.producer_id.empty() && e.producer_seq != 0) {
        auto [it, inserted] =
            log->serials.try_emplace({e.event.producer_id, e.producer_epoch, e.producer_seq}, e.event.serial);
        if (!inserted) return make_error(errc::store_failure, "duplicate producer sequence");
        const producer_position appended{e.producer_epoch, e.producer_seq};
        auto [position, first] = log->positions.try_emplace(e.event.producer_id, appended);
        // The highest (epoch, seq), as sqlite_store's ORDER BY computes it.
        if (!first && std::tie(appended.epoch, appended.last_seq) >
                          std::tie(position->second.epoch, position->second.last_seq)) {
            position->second = appended;
        }
    }
    log->events.push_back(e.event);
    return ok_t{};
}

result<std::vector<proto::event>> memory_store::read(std::string_view session, std::uint64_t after_serial,
                                                     std::size_t limit) {
    std::vector<proto::event> out;
    const session_log* log = find(session);
    if (!log || after_serial >= log->events.size()) return out;
    const std::size_t count = std::min<std::size_t>(limit, log->events.size() - after_serial);
    out.assign(log->events.begin() + static_cast<std::ptrdiff_t>(after_serial),
               log->events.begin() + static_cast<std::ptrdiff_t>(after_serial + count));
    return out;
}

} // namespace holdfast::relay
