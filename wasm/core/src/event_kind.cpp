// kind_of: by length first, so most kinds meet one comparison at most. Layer: portable core.
#include "holdfast/event_kind.hpp"

#include <cstring>

namespace holdfast {
namespace {

/// `kind` (of the literal's length already) is the literal: one memcmp call, where string_view's
/// == under -Oz was three calls deep.
template <std::size_t N>
bool same(std::string_view kind, const char (&literal)[N]) noexcept {
    return std::memcmp(kind.data(), literal, N - 1) == 0;
}

} // namespace

event_kind kind_of(std::string_view kind) noexcept {
    using namespace std::string_view_literals;
    switch (kind.size()) {
    case 6:
        if (same(kind, "status")) return event_kind::status;
        break;
    case 11:
        if (same(kind, "user.prompt")) return event_kind::user_prompt;
        if (same(kind, "message.end")) return event_kind::message_end;
        break;
    case 13:
        if (same(kind, "message.delta")) return event_kind::message_delta;
        if (same(kind, "message.start")) return event_kind::message_start;
        break;
    case 14:
        if (same(kind, "agent.attached")) return event_kind::agent_attached;
        if (same(kind, "agent.detached")) return event_kind::agent_detached;
        break;
    case 15:
        if (same(kind, "control.outcome")) return event_kind::control_outcome;
        break;
    default:
        break;
    }
    // "control." alone names no action: an ordinary event (the relay routes controls by this too).
    return kind.size() > 8 && kind.starts_with("control."sv) ? event_kind::control : event_kind::other;
}

} // namespace holdfast
