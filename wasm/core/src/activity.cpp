// Agents, control outcomes and incoming controls, from the event stream. Layer: portable core.
#include "holdfast/activity.hpp"

#include "holdfast/event_kind.hpp"
#include "holdfast/json.hpp"
#include "holdfast/payload.hpp"

#include <algorithm>

namespace holdfast::client {

agent_presence& activity::agent(std::string_view name) {
    auto it = std::find_if(agents_.begin(), agents_.end(), [&](const agent_presence& a) { return a.name == name; });
    if (it != agents_.end()) return *it;
    agents_.push_back(agent_presence{std::string(name), "idle", ""});
    agents_changed_ = true;
    return agents_.back();
}

void activity::apply(const proto::event_view& e, std::string_view own_producer) {
    const event_kind kind = kind_of(e.kind);
    if (kind == event_kind::agent_attached) {
        const std::string_view name = payload_text(e.payload, "agent");
        if (!name.empty()) (void)agent(name);
    } else if (kind == event_kind::agent_detached) {
        const std::string_view name = payload_text(e.payload, "agent");
        const auto before = agents_.size();
        std::erase_if(agents_, [&](const agent_presence& a) { return a.name == name; });
        agents_changed_ |= agents_.size() != before;
    } else if (kind == event_kind::status && !e.agent.empty()) {
        auto& a = agent(e.agent);
        const std::string_view state = payload_text(e.payload, "state");
        if (!state.empty() && state != a.state) {
            a.state = state;
            agents_changed_ = true;
        }
    } else if (kind == event_kind::message_start || kind == event_kind::message_end) {
        const bool start = kind == event_kind::message_start;
        if (!e.agent.empty()) {
            auto& a = agent(e.agent);
            a.state = start ? "streaming" : "idle";
            a.message_id = start ? e.msg_id : std::string_view();
            agents_changed_ = true;
        }
        if (e.producer_id == own_producer) {
            if (start) own_messages_[std::string(e.msg_id)] = payload_string(e.payload, "run");
            else own_messages_.erase(std::string(e.msg_id));
        } else if (!start) {
            own_messages_.erase(std::string(e.msg_id));  // ended by the relay (agent_lost) or another writer
        }
    } else if (kind == event_kind::control_outcome) {
        if (auto serial = payload_u64(e.payload, "control")) {
            outcomes_.push_back(control_result{*serial, payload_string(e.payload, "outcome"), payload_string(e.payload, "reason")});
        }
    } else if (kind == event_kind::control) {
        // A control names a message or a run; an agent hears those aimed at what it writes.
        for (const auto& [message_id, run] : own_messages_) {
            if (e.msg_id == message_id || (!run.empty() && e.msg_id == run)) {
                auto payload = json::from_msgpack(e.payload);
                incoming_.push_back(incoming_control{e.serial, std::string(e.kind.substr(8)), std::string(e.msg_id), message_id,
                                                     payload ? payload.value() : std::string("null")});
            }
        }
    }
}

void activity::clear() {
    agents_changed_ = !agents_.empty();
    agents_.clear();
    own_messages_.clear();
    incoming_.clear();
    outcomes_.clear();
}

} // namespace holdfast::client
