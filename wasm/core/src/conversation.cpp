// Message assembly from the event stream. Layer: portable core.
// Tolerant by design: a delta or end for a message whose start was never seen (compacted away,
// or written by a misbehaving agent) still yields a message rather than being lost.
#include "holdfast/conversation.hpp"

#include "holdfast/detail/same_text.hpp"
#include "holdfast/event_kind.hpp"
#include "holdfast/json.hpp"
#include "holdfast/payload.hpp"


namespace holdfast::client {
message_status parse_message_status(std::string_view text) noexcept {
    if (text == "streaming") return message_status::streaming;
    if (text == "cancelled") return message_status::cancelled;
    if (text == "error") return message_status::error;
    return message_status::complete;
}

std::string_view to_string(message_status status) noexcept {
    switch (status) {
    case message_status::streaming: return "streaming";
    case message_status::complete: return "complete";
    case message_status::cancelled: return "cancelled";
    case message_status::error: return "error";
    }
    return "streaming";
}

std::size_t conversation::find_or_create(const proto::event_view& e, std::string_view id, std::string_view role) {
    if (last_found_ < messages_.size() && detail::same_text(messages_[last_found_].id, id)) return last_found_;
    if (auto it = index_by_id_.find(id); it != index_by_id_.end()) return last_found_ = it->second;
    message m;
    m.id = std::string(id);
    m.role = std::string(role);
    m.agent = std::string(e.agent);
    m.first_serial = e.serial;
    messages_.push_back(std::move(m));
    index_by_id_.emplace(std::string(id), messages_.size() - 1);
    return last_found_ = messages_.size() - 1;
}

std::size_t conversation::apply(const proto::event_view& e) {
    std::size_t index = npos;
    const event_kind kind = kind_of(e.kind);
    if (kind == event_kind::user_prompt) {
        const std::string id = e.msg_id.empty() ? "prompt-" + std::to_string(e.serial) : std::string(e.msg_id);
        index = find_or_create(e, id, "user");
        auto& m = messages_[index];
        m.text = payload_text(e.payload, "text");
        ++m.text_replacements;
        m.status = message_status::complete;
    } else if (kind == event_kind::message_start) {
        if (e.msg_id.empty()) return npos;
        const std::string_view role = payload_text(e.payload, "role");
        index = find_or_create(e, e.msg_id, role.empty() ? "assistant" : role);
        auto& m = messages_[index];
        m.text += payload_text(e.payload, "text");
    } else if (kind == event_kind::message_delta) {
        if (e.msg_id.empty()) return npos;
        index = find_or_create(e, e.msg_id, "assistant");
        auto& m = messages_[index];
        // A delta after the end (an agent that ignored a cancel) must not change a finished answer.
        if (m.status != message_status::streaming) return npos;
        m.text += payload_text(e.payload, "text");
    } else if (kind == event_kind::message_end) {
        if (e.msg_id.empty()) return npos;
        index = find_or_create(e, e.msg_id, "assistant");
        auto& m = messages_[index];
        if (m.status != message_status::streaming) return npos;  // ended once; later ends are noise
        const std::string_view status = payload_text(e.payload, "status");
        // An end never reopens a message: "streaming" in an end payload means complete.
        m.status = status == "streaming" ? message_status::complete : parse_message_status(status);
        m.reason = payload_text(e.payload, "reason");
    } else if (kind == event_kind::control_outcome) {
        if (auto serial = payload_u64(e.payload, "control")) {
            // try_emplace: a later outcome naming the same control (an agent's after the relay's) is ignored.
            outcomes_.try_emplace(*serial, control_result{*serial, payload_string(e.payload, "outcome"),
                                                          payload_string(e.payload, "reason")});
        }
        return npos;  // changes no message
    } else {
        return npos;
    }
    messages_[index].last_serial = e.serial;
    return index;
}

std::size_t conversation::restore(message m) {
    if (auto it = index_by_id_.find(m.id); it != index_by_id_.end()) {
        m.text_replacements = messages_[it->second].text_replacements + 1;
        messages_[it->second] = std::move(m);
        return it->second;
    }
    index_by_id_.emplace(m.id, messages_.size());
    messages_.push_back(std::move(m));
    return messages_.size() - 1;
}

const control_result* conversation::outcome_of(std::uint64_t control_serial) const {
    auto it = outcomes_.find(control_serial);
    return it == outcomes_.end() ? nullptr : &it->second;
}

void conversation::clear() {
    last_found_ = npos;
    messages_.clear();
    index_by_id_.clear();
    outcomes_.clear();
}

void append_message_json(const message& m, std::size_t index, std::string& out, std::optional<std::size_t> text_from) {
    json::object_writer message(out);
    message.number("index", index);
    if (text_from) {
        // The reader holds this message already: its id, role, agent and firstSerial are those it
        // was sent with (they change only with its text's replacement, which is never a textAppend).
        message.string("textAppend", std::string_view(m.text).substr(*text_from));
    } else {
        message.string("id", m.id).string("role", m.role).string("agent", m.agent).string("text", m.text);
    }
    message.string("status", to_string(m.status)).string("reason", m.reason);
    if (!text_from) message.number("firstSerial", m.first_serial);
    message.number("lastSerial", m.last_serial).close();
}

} // namespace holdfast::client
