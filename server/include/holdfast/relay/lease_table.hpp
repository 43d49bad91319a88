// Agent leases: which connections speak for each producer id, and for how long a producer whose
// last agent connection closed keeps its open messages. Layer: relay (sans-I/O), no clock of its
// own (deadlines are given). A producer is "held" by a connection that said hello with it as
// client_id or sent a publish/control with it; it is released when the last holder closes. An
// agent's release starts a lease; any frame with that producer id before the deadline ends the
// lease, a tick past the deadline reports it expired. A disconnect alone never ends anything.
#pragma once
#include "holdfast/relay/relay_types.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace holdfast::relay {

/// A lease that ran out: what the relay must end and detach.
struct expired_lease {
    std::string producer_id;
    std::string agent;                 // the lost agent's name
    std::set<std::string> sessions;    // sessions that agent had attached
};

class lease_table {
public:
    /// `connection` speaks for `producer_id` (non-empty): a running lease for it ends.
    void hold(const std::string& producer_id, connection_id connection);

    /// The producer showed life without a connection (an HTTP append): a running lease ends.
    void seen(const std::string& producer_id) { leases_.erase(producer_id); }

    /// `connection` closed. For each producer it held that no other connection holds, a lease
    /// until `deadline` starts when `agent` is non-empty (the connection was an agent's).
    void release(connection_id connection, const std::string& agent, const std::set<std::string>& sessions,
                 std::uint64_t deadline);

    /// Starts (or widens) a lease for a producer found owning open messages when a session was
    /// rebuilt after a start, unless a connection holds it.
    void orphaned(const std::string& producer_id, const std::string& agent, const std::string& session,
                  std::uint64_t deadline);

    /// Removes and returns the leases with deadline <= now, oldest deadline first.
    std::vector<expired_lease> expire(std::uint64_t now);

    std::size_t running() const noexcept { return leases_.size(); }
    bool held(const std::string& producer_id) const { return holders_.contains(producer_id); }
    /// Producer ids some connection here speaks for (a shared store advertises them).
    std::vector<std::string> held_producers() const {
        std::vector<std::string> ids;
        for (const auto& [id, connections] : holders_) ids.push_back(id);
        return ids;
    }

private:
    struct lease {
        std::uint64_t deadline = 0;
        std::string agent;
        std::set<std::string> sessions;
    };
    std::map<std::string, std::set<connection_id>> holders_;   // producer id -> connections
    std::map<connection_id, std::set<std::string>> held_by_;   // connection -> producer ids
    std::map<std::string, lease> leases_;                      // producer id -> running lease
};

} // namespace holdfast::relay
