// Conversation: the materialized view of a session — messages assembled from user.prompt and
// message.start / message.delta / message.end events, with status and authoring agent, and the
// relay's outcome for each control in the log. Layer: portable core.
#pragma once
#include "holdfast/frames.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::client {

enum class message_status { streaming, complete, cancelled, error };
std::string_view to_string(message_status status) noexcept;
message_status parse_message_status(std::string_view text) noexcept;  // unknown -> complete

struct message {
    std::string id;
    std::string role;   // "user" for prompts, else the start payload's role or "assistant"
    std::string agent;
    std::string text;
    message_status status = message_status::streaming;
    std::string reason;  // why it ended, when an end payload says so (e.g. "agent_lost")
    std::uint64_t first_serial = 0;
    std::uint64_t last_serial = 0;
    /// Grows whenever text is replaced rather than appended to, so a reader holding an earlier
    /// text knows whether the new one still starts with it (see append_message_json).
    std::uint32_t text_replacements = 0;
};

/// The relay's verdict on one control: the first control.outcome event naming its serial.
struct control_result {
    std::uint64_t control_serial = 0;
    std::string outcome;  // applied, too_late, rejected
    std::string reason;
};

class conversation {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// Applies one event in serial order; returns the index of the message it changed, or npos
    /// when the event does not touch a message (status, tool calls, unknown kinds).
    std::size_t apply(const proto::event_view& e);
    std::size_t apply(const proto::event& e) { return apply(proto::view_of(e)); }

    /// Puts a message back as stored (a folded history record): replaces the message with the
    /// same id in place, or appends it. Returns its index.
    std::size_t restore(message m);

    const std::vector<message>& messages() const noexcept { return messages_; }
    /// The outcome the log gives the control appended at `control_serial` (readers take the first
    /// control.outcome naming a control), or null while none has been applied. Kept with the
    /// conversation so it survives in the local history: a control resent after a reload is
    /// acknowledged with its first serial, and its outcome may be in what was stored before.
    const control_result* outcome_of(std::uint64_t control_serial) const;
    void clear();

private:
    std::size_t find_or_create(const proto::event_view& e, std::string_view id, std::string_view role);

    std::vector<message> messages_;
    // Ordered maps, not hash maps: the core then ships no hashing or rehashing code (~3 KB of wasm)
    // and a conversation's few hundred ids cost a handful of comparisons.
    std::map<std::string, std::size_t, std::less<>> index_by_id_;
    std::map<std::uint64_t, control_result> outcomes_;  // by control serial
    std::size_t last_found_ = npos;  // a stream's events name the message the one before did
};

/// Appends a message as JSON {index, id, role, agent, text, status, reason, firstSerial, lastSerial}.
/// One message as JSON for JS: {index, id, role, agent, text, status, reason, firstSerial,
/// lastSerial}; with text_from set, {index, textAppend, status, reason, lastSerial}: the reader
/// holds the message and the first text_from bytes of its text already (textAppend: the text from
/// that byte on), so a streaming answer costs each update its new tokens and what can change, not
/// its whole text and identity again.
void append_message_json(const message& m, std::size_t index, std::string& out,
                         std::optional<std::size_t> text_from = std::nullopt);

} // namespace holdfast::client
