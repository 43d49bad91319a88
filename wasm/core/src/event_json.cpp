// Event -> JSON and session-id rules. Layer: portable core.
#include "holdfast/event_json.hpp"

#include "holdfast/json.hpp"

namespace holdfast {

void append_event_json(const proto::event& e, std::string& out) {
    out += "{\"serial\":";
    out += std::to_string(e.serial);
    out += ",\"ts\":";
    out += std::to_string(e.ts);
    out += ",\"kind\":";
    json::append_string(e.kind, out);
    out += ",\"msgId\":";
    json::append_string(e.msg_id, out);
    out += ",\"agent\":";
    json::append_string(e.agent, out);
    out += ",\"producerId\":";
    json::append_string(e.producer_id, out);
    out += ",\"payload\":";
    auto payload = json::from_msgpack(e.payload.bytes);
    out += payload ? payload.value() : std::string("null");
    out += '}';
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
