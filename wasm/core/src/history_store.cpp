// Retention across session histories. Layer: portable core.
#include "holdfast/history_store.hpp"

#include "holdfast/codec.hpp"

#include <algorithm>

namespace holdfast::client {

result<std::unique_ptr<history>> history_store::open(std::string_view session, std::uint64_t now_ms) {
    return history::open(fs_, dir_for(session), std::string(session), now_ms, config_);
}

result<std::vector<history_store::session_usage>> history_store::usage() {
    auto names = fs_.list(root_);
    if (!names) return names.err();
    std::vector<session_usage> out;
    for (const auto& name : names.value()) {
        if (name.rfind("s_", 0) != 0) continue;
        const std::string dir = root_ + "/" + name;
        session_usage u;
        u.session = name.substr(2);
        if (auto meta = fs_.read(dir + "/meta")) {
            if (auto decoded = proto::decode_struct<history_meta>(meta.value())) u.last_used_ms = decoded->last_used_ms;
        }
        if (auto files = fs_.list(dir)) {
            for (const auto& file : files.value()) {
                if (auto size = fs_.file_size(dir + "/" + file)) u.bytes += size.value();
            }
        }
        out.push_back(std::move(u));
    }
    std::sort(out.begin(), out.end(), [](const session_usage& a, const session_usage& b) {
        return a.last_used_ms != b.last_used_ms ? a.last_used_ms < b.last_used_ms : a.session < b.session;
    });
    return out;
}

result<std::vector<std::string>> history_store::evict(const retention& limits, const std::set<std::string, std::less<>>& keep) {
    auto sessions = usage();
    if (!sessions) return sessions.err();
    std::size_t count = sessions->size();
    std::size_t bytes = 0;
    for (const auto& s : sessions.value()) bytes += s.bytes;
    std::vector<std::string> evicted;
    for (const auto& s : sessions.value()) {
        if (count <= limits.max_sessions && bytes <= limits.max_bytes) break;
        if (keep.count(s.session)) continue;
        if (auto removed = fs_.remove(dir_for(s.session)); !removed) return removed.err();
        --count;
        bytes -= s.bytes;
        evicted.push_back(s.session);
    }
    return evicted;
}

result<std::optional<std::string>> history_store::evict_one(const std::set<std::string, std::less<>>& keep) {
    auto sessions = usage();
    if (!sessions) return sessions.err();
    for (const auto& s : sessions.value()) {
        if (keep.count(s.session)) continue;
        if (auto removed = fs_.remove(dir_for(s.session)); !removed) return removed.err();
        return std::optional<std::string>(s.session);
    }
    return std::optional<std::string>();
}

result<ok_t> history_store::clear_session(std::string_view session) { return fs_.remove(dir_for(session)); }

result<ok_t> history_store::clear_all() {
    auto names = fs_.list(root_);
    if (!names) return names.err();
    for (const auto& name : names.value()) {
        if (auto removed = fs_.remove(root_ + "/" + name); !removed) return removed;
    }
    return ok_t{};
}

} // namespace holdfast::client
