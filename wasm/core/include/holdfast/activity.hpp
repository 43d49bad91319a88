// activity: what is happening in a session besides its messages — which agents are present and
// what they are doing, the outcomes the relay decided for controls, and (for an agent) the
// controls aimed at the messages it is writing. Derived from the log alone, so every surface
// agrees. Layer: portable core.
#pragma once
#include "holdfast/conversation.hpp"
#include "holdfast/frames.hpp"

#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::client {

struct agent_presence {
    std::string name;
    std::string state;       // "idle", "streaming", or what the agent's last status said ("thinking")
    std::string message_id;  // the message it is streaming, if any
};

/// A control aimed at one of this client's own messages (by message id or by its run id).
struct incoming_control {
    std::uint64_t serial = 0;
    std::string action;
    std::string target;
    std::string message_id;  // the own message it applies to
    std::string payload_json;
};

class activity {
public:
    /// Applies one delivered event; own_producer identifies this client's own messages.
    void apply(const proto::event_view& e, std::string_view own_producer);
    void apply(const proto::event& e, std::string_view own_producer) { apply(proto::view_of(e), own_producer); }
    void clear();

    const std::vector<agent_presence>& agents() const noexcept { return agents_; }
    bool take_agents_changed() noexcept { return std::exchange(agents_changed_, false); }
    std::vector<incoming_control> take_incoming() { return std::exchange(incoming_, {}); }
    std::vector<control_result> take_outcomes() { return std::exchange(outcomes_, {}); }

private:
    agent_presence& agent(std::string_view name);

    std::vector<agent_presence> agents_;
    bool agents_changed_ = false;
    std::map<std::string, std::string> own_messages_;  // open own message id -> run id
    std::vector<incoming_control> incoming_;
    std::vector<control_result> outcomes_;
};

} // namespace holdfast::client
