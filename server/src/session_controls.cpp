// session_controls: open messages, control targets and outcomes, presence. Layer: relay (sans-I/O).
#include "holdfast/relay/session_controls.hpp"

#include "holdfast/detail/codec_impl.hpp"
#include "holdfast/event_kind.hpp"
#include "holdfast/payload.hpp"

#include <msgpack.hpp>

#include <algorithm>

namespace holdfast::relay {
namespace {

constexpr std::string_view control_prefix = "control.";
constexpr std::string_view outcome_kind = "control.outcome";

std::string_view action_of(std::string_view kind) { return kind.substr(control_prefix.size()); }

} // namespace

bool is_control_kind(std::string_view kind) {
    // The client core's rule, so relay and clients never disagree on what is a control.
    return kind_of(kind) == event_kind::control;
}

relay_event make_outcome(std::uint64_t control_serial, std::string_view action, std::string_view target,
                         std::string_view outcome, std::string_view reason) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_map(reason.empty() ? 4 : 5);
    proto::detail::pack_text(pk, "control");
    pk.pack_uint64(control_serial);
    proto::detail::pack_text(pk, "action");
    proto::detail::pack_text(pk, action);
    proto::detail::pack_text(pk, "target");
    proto::detail::pack_text(pk, target);
    proto::detail::pack_text(pk, "outcome");
    proto::detail::pack_text(pk, outcome);
    if (!reason.empty()) {
        proto::detail::pack_text(pk, "reason");
        proto::detail::pack_text(pk, reason);
    }
    return relay_event{std::string(outcome_kind), std::string(target), std::string(),
                       proto::raw_value{std::string(buffer.data(), buffer.size())}};
}

std::string session_controls::resolve_target(std::string_view target) const {
    if (!target.empty()) return std::string(target);
    if (!open_by_start_.empty()) return open_by_start_.rbegin()->second;
    // Nothing streams: a stop pressed just after the answer finished names that answer (too_late),
    // not nothing (rejected).
    return newest_ended_;
}

std::vector<std::string> session_controls::open_of_run(const std::string& run) const {
    std::vector<std::string> out;
    if (run.empty()) return out;
    for (const auto& [serial, msg_id] : open_by_start_) {
        if (open_.at(msg_id).run == run) out.push_back(msg_id);
    }
    return out;
}

std::optional<error> session_controls::check_outcome(std::string_view producer_id, std::string_view agent,
                                                     const proto::raw_value& payload) const {
    const auto control = payload_u64(payload, "control");
    if (!control) return std::nullopt;
    auto it = pending_.find(*control);
    if (it == pending_.end()) return std::nullopt;  // resolved already: readers keep the first outcome
    for (const auto& [owner_producer, owner_agent] : it->second.owners) {
        if (!producer_id.empty() && producer_id == owner_producer) return std::nullopt;
        if (!agent.empty() && agent == owner_agent) return std::nullopt;
    }
    return make_error(errc::forbidden, "control " + std::to_string(*control) +
                                           " is pending on another agent's message: only its owner reports the outcome");
}

void session_controls::observe(const proto::event& e, std::vector<relay_event>* follow_ups) {
    if (!e.agent.empty() && !e.producer_id.empty() && e.producer_id != relay_producer) {
        last_producer_[e.agent] = e.producer_id;
    }
    if (e.kind == "message.start") return on_start(e);
    if (e.kind == "message.end") return on_end(e, follow_ups);
    if (e.kind == outcome_kind) return on_outcome(e);
    if (is_control_kind(e.kind)) return on_control(e, follow_ups);
    if (e.kind == "agent.attached") {
        if (auto name = payload_string(e.payload, "agent"); !name.empty()) announced_.insert(std::move(name));
    } else if (e.kind == "agent.detached") {
        announced_.erase(payload_string(e.payload, "agent"));
    }
}

void session_controls::on_start(const proto::event& e) {
    // A repeated start of an open or ended message changes nothing, as in the conversation view.
    if (e.msg_id.empty() || open_.contains(e.msg_id) || ended_.contains(e.msg_id)) return;
    open_message m;
    m.start_serial = e.serial;
    m.producer_id = e.producer_id;
    m.agent = e.agent;
    m.run = payload_string(e.payload, "run");
    open_.emplace(e.msg_id, std::move(m));
    open_by_start_.emplace(e.serial, e.msg_id);
}

void session_controls::on_end(const proto::event& e, std::vector<relay_event>* follow_ups) {
    auto it = open_.find(e.msg_id);
    if (it == open_.end()) return;
    open_message ended = std::move(it->second);
    open_.erase(it);
    open_by_start_.erase(ended.start_serial);
    const std::string status = payload_string(e.payload, "status");
    const std::string reason = payload_string(e.payload, "reason");
    for (std::uint64_t serial : ended.pending) {
        auto control = pending_.find(serial);
        if (control == pending_.end()) continue;
        pending_control& c = control->second;
        c.remaining.erase(e.msg_id);
        if (status == "cancelled") c.any_cancelled = true;
        c.last_reason = reason == "agent_lost" ? "agent_lost" : "ended";
        if (!c.remaining.empty()) continue;
        // Every target ended. A cancel or an interrupt worked if any of them ended cancelled (an
        // agent stops an interrupted message as cancelled, then answers anew); a steer the agent
        // did not confirm before the end came too late.
        const bool stops = c.action == "cancel" || c.action == "interrupt";
        const bool applied = stops && c.any_cancelled;
        if (follow_ups) {
            follow_ups->push_back(make_outcome(serial, c.action, c.target, applied ? "applied" : "too_late",
                                               applied ? std::string_view{} : std::string_view{c.last_reason}));
        }
        pending_.erase(control);
    }
    remember_ended(e.msg_id, open_of_run(ended.run).empty() ? ended.run : std::string());
}

void session_controls::on_control(const proto::event& e, std::vector<relay_event>* follow_ups) {
    const std::string action(action_of(e.kind));
    std::vector<std::string> targets;
    if (open_.contains(e.msg_id)) {
        targets.push_back(e.msg_id);
    } else {
        targets = open_of_run(e.msg_id);
    }
    if (targets.empty()) {
        if (!follow_ups) return;  // rebuilding: the log holds the outcome given then
        const bool ended = !e.msg_id.empty() && ended_.contains(e.msg_id);
        follow_ups->push_back(make_outcome(e.serial, action, e.msg_id, ended ? "too_late" : "rejected",
                                           ended ? "ended" : (e.msg_id.empty() ? "no_message" : "unknown_target")));
        return;
    }
    pending_control c;
    c.action = action;
    c.target = e.msg_id;
    for (const std::string& msg_id : targets) {
        open_message& m = open_.at(msg_id);
        m.pending.insert(e.serial);
        c.remaining.insert(msg_id);
        c.owners.emplace(m.producer_id, m.agent);
    }
    pending_.emplace(e.serial, std::move(c));
}

void session_controls::on_outcome(const proto::event& e) {
    // The owner's report (check_outcome let it through) or the relay's own: either settles it.
    const auto control = payload_u64(e.payload, "control");
    if (!control) return;
    auto it = pending_.find(*control);
    if (it == pending_.end()) return;
    for (const std::string& msg_id : it->second.remaining) {
        if (auto m = open_.find(msg_id); m != open_.end()) m->second.pending.erase(*control);
    }
    pending_.erase(it);
}

void session_controls::remember_ended(const std::string& msg_id, const std::string& run) {
    newest_ended_ = msg_id;
    for (const std::string* id : {&msg_id, &run}) {
        if (id->empty() || !ended_.insert(*id).second) continue;
        ended_order_.push_back(*id);
    }
    while (ended_order_.size() > ended_memory_) {
        ended_.erase(ended_order_.front());
        ended_order_.pop_front();
    }
}

std::vector<open_message_owner> session_controls::open_messages_of(std::string_view producer_id) const {
    std::vector<open_message_owner> out;
    for (const auto& [serial, msg_id] : open_by_start_) {
        const open_message& m = open_.at(msg_id);
        if (m.producer_id == producer_id) out.push_back(open_message_owner{msg_id, m.producer_id, m.agent});
    }
    return out;
}

std::vector<open_message_owner> session_controls::open_messages() const {
    std::vector<open_message_owner> out;
    for (const auto& [serial, msg_id] : open_by_start_) {
        const open_message& m = open_.at(msg_id);
        out.push_back(open_message_owner{msg_id, m.producer_id, m.agent});
    }
    return out;
}

std::vector<open_message_owner> session_controls::lease_candidates() const {
    std::vector<open_message_owner> out = open_messages();
    for (const std::string& agent : announced_) {
        const bool streaming = std::any_of(out.begin(), out.end(), [&](const auto& m) { return m.agent == agent; });
        if (streaming) continue;
        auto producer = last_producer_.find(agent);
        out.push_back(open_message_owner{"", producer == last_producer_.end() ? "" : producer->second, agent});
    }
    return out;
}

void session_controls::add_agent_connection(const std::string& agent, connection_id connection) {
    agents_[agent].insert(connection);
}

std::size_t session_controls::remove_agent_connection(const std::string& agent, connection_id connection) {
    auto it = agents_.find(agent);
    if (it == agents_.end()) return 0;
    it->second.erase(connection);
    const std::size_t left = it->second.size();
    if (left == 0) agents_.erase(it);
    return left;
}

std::size_t session_controls::agent_connections(const std::string& agent) const {
    auto it = agents_.find(agent);
    return it == agents_.end() ? 0 : it->second.size();
}

} // namespace holdfast::relay
