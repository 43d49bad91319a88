// The event kinds the client core acts on, told apart once per event. Layer: portable core.
#pragma once
#include <cstdint>
#include <string_view>

namespace holdfast {

enum class event_kind : std::uint8_t {
    other,
    user_prompt,
    message_start,
    message_delta,
    message_end,
    control_outcome,
    control,  // control.<action> (cancel, steer, interrupt...)
    agent_attached,
    agent_detached,
    status,
};

/// One call per event where the conversation and the activity each compared the kind with every
/// literal they know: in the browser's baseline compiler each comparison was a call to strlen and
/// one to compare, a dozen per event that was none of them.
event_kind kind_of(std::string_view kind) noexcept;

} // namespace holdfast
