// history_store: every session's history under one root (one directory per session), with the
// retention rules — at most max_sessions sessions and max_bytes in all, least recently used
// evicted first, never a session in use — and clear_all for privacy. Layer: portable core.
#pragma once
#include "holdfast/history.hpp"

#include <set>

namespace holdfast::client {

struct retention {
    std::size_t max_sessions = 200;
    std::size_t max_bytes = 64u << 20;
};

class history_store {
public:
    history_store(file_system& fs, std::string root, history_config config = {})
        : fs_(fs), root_(std::move(root)), config_(config) {}

    result<std::unique_ptr<history>> open(std::string_view session, std::uint64_t now_ms);

    struct session_usage {
        std::string session;
        std::uint64_t last_used_ms = 0;
        std::size_t bytes = 0;
    };
    /// Every stored session, least recently used first.
    result<std::vector<session_usage>> usage();

    /// Deletes least recently used sessions not in `keep` until the store is within `limits`;
    /// returns the ids it deleted.
    result<std::vector<std::string>> evict(const retention& limits, const std::set<std::string, std::less<>>& keep);
    /// Deletes the least recently used session not in `keep` (the answer to a full quota).
    result<std::optional<std::string>> evict_one(const std::set<std::string, std::less<>>& keep);

    result<ok_t> clear_session(std::string_view session);
    result<ok_t> clear_all();

    const std::string& root() const noexcept { return root_; }
    file_system& fs() noexcept { return fs_; }

private:
    std::string dir_for(std::string_view session) const { return root_ + "/s_" + std::string(session); }

    file_system& fs_;
    std::string root_;
    history_config config_;
};

} // namespace holdfast::client
