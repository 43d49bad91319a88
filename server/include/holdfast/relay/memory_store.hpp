// An in-memory store: the reference implementation of the store contract, for tests, the
// deterministic simulator and `--store memory:`. Layer: relay. Nothing survives the process.
#pragma once
#include "holdfast/relay/store.hpp"

#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace holdfast::relay {

class memory_store final : public store {
public:
    explicit memory_store(epoch_source epochs = random_epoch);

    result<std::optional<session_info>> load(std::string_view session) override;
    result<session_info> create(std::string_view session) override;
    result<std::optional<producer_position>> producer_state(std::string_view session,
                                                            std::string_view producer_id) override;
    result<std::optional<std::uint64_t>> find_producer(std::string_view session, std::string_view producer_id,
                                                       std::uint64_t producer_epoch,
                                                       std::uint64_t producer_seq) override;
    result<ok_t> append(std::string_view session, const stored_event& e) override;
    result<std::vector<proto::event>> read(std::string_view session, std::uint64_t after_serial,
                                           std::size_t limit) override;

private:
    struct session_log {
        std::uint64_t epoch = 0;
        std::vector<proto::event> events;  // events[i].serial == i + 1
        std::map<std::tuple<std::string, std::uint64_t, std::uint64_t>, std::uint64_t> serials;  // (id, epoch, seq)
        std::map<std::string, producer_position, std::less<>> positions;
    };
    session_log* find(std::string_view session);

    epoch_source epochs_;
    std::unordered_map<std::string, session_log> sessions_;
};

} // namespace holdfast::relay
