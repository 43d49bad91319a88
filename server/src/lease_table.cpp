// lease_table: producer holders and agent leases. Layer: relay (sans-I/O).
#include "holdfast/relay/lease_table.hpp"

#include <algorithm>

namespace holdfast::relay {

void lease_table::hold(const std::string& producer_id, connection_id connection) {
    if (producer_id.empty()) return;
    holders_[producer_id].insert(connection);
    held_by_[connection].insert(producer_id);
    leases_.erase(producer_id);  // the producer is back: its messages stay open
}

void lease_table::release(connection_id connection, const std::string& agent, const std::set<std::string>& sessions,
                          std::uint64_t deadline) {
    auto it = held_by_.find(connection);
    if (it == held_by_.end()) return;
    for (const std::string& producer_id : it->second) {
        auto holders = holders_.find(producer_id);
        holders->second.erase(connection);
        if (!holders->second.empty()) continue;  // another connection speaks for it
        holders_.erase(holders);
        if (agent.empty()) continue;  // only agents own messages worth a lease
        lease& l = leases_[producer_id];
        l.deadline = deadline;
        l.agent = agent;
        l.sessions.insert(sessions.begin(), sessions.end());
    }
    held_by_.erase(it);
}

void lease_table::orphaned(const std::string& producer_id, const std::string& agent, const std::string& session,
                           std::uint64_t deadline) {
    if (producer_id.empty() || held(producer_id)) return;
    auto [it, inserted] = leases_.try_emplace(producer_id);
    if (inserted) {
        it->second.deadline = deadline;
        it->second.agent = agent;
    }
    it->second.sessions.insert(session);
}

std::vector<expired_lease> lease_table::expire(std::uint64_t now) {
    std::vector<std::pair<std::uint64_t, expired_lease>> due;
    for (auto it = leases_.begin(); it != leases_.end();) {
        if (it->second.deadline > now) {
            ++it;
            continue;
        }
        due.emplace_back(it->second.deadline,
                         expired_lease{it->first, std::move(it->second.agent), std::move(it->second.sessions)});
        it = leases_.erase(it);
    }
    std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<expired_lease> out;
    out.reserve(due.size());
    for (auto& [deadline, lease] : due) out.push_back(std::move(lease));
    return out;
}

} // namespace holdfast::relay
