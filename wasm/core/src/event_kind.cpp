// kind_of: by length first, so most kinds meet one comparison at most. Layer: portable core.
#include "holdfast/event_kind.hpp"

#include "holdfast/detail/same_text.hpp"

namespace holdfast {

event_kind kind_of(std::string_view kind) noexcept {
    using namespace std::string_view_literals;
    switch (kind.size()) {
    case 6:
        if (detail::same_text(kind, "status"sv)) return event_kind::status;
        break;
    case 11:
        if (detail::same_text(kind, "user.prompt"sv)) return event_kind::user_prompt;
        if (detail::same_text(kind, "message.end"sv)) return event_kind::message_end;
        break;
    case 13:
        if (detail::same_text(kind, "message.delta"sv)) return event_kind::message_delta;
        if (detail::same_text(kind, "message.start"sv)) return event_kind::message_start;
        break;
    case 14:
        if (detail::same_text(kind, "agent.attached"sv)) return event_kind::agent_attached;
        if (detail::same_text(kind, "agent.detached"sv)) return event_kind::agent_detached;
        break;
    case 15:
        if (detail::same_text(kind, "control.outcome"sv)) return event_kind::control_outcome;
        break;
    default:
        break;
    }
    // "control." alone names no action: an ordinary event (the relay routes controls by this too).
    return kind.size() > 8 && kind.starts_with("control."sv) ? event_kind::control : event_kind::other;
}

} // namespace holdfast
