// Event -> JSON and session-id rules. Layer: portable core.
#include "holdfast/event_json.hpp"

#include "holdfast/json.hpp"

namespace holdfast {

void append_event_json(const proto::event& e, std::string& out) {
    json::object_writer event(out);
    event.number("serial", e.serial)
        .number("ts", e.ts)
        .string("kind", e.kind)
        .string("msgId", e.msg_id)
        .string("agent", e.agent)
        .string("producerId", e.producer_id);
    if (!json::append_json(e.payload.bytes, event.begin("payload"))) out += "null";
    event.close();
}

bool is_valid_session_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
        if (!plain && !(i == 0 && c == '$')) return false;
    }
    return true;
}

bool is_reserved_session_id(std::string_view id) noexcept { return !id.empty() && id.front() == '$'; }

} // namespace holdfast
