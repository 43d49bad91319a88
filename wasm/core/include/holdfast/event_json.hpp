// The JSON shape of an event: {serial, ts, kind, msgId, agent, producerId, payload}, as the relay's
// HTTP API writes it and as the SDK's 'event' listeners get it (the client hands JS a compact
// form of the same fields, see client_core::take_updates_json, and Session.js builds this shape).
// Layer: portable core.
#pragma once
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"

#include <string>
#include <string_view>

namespace holdfast {

/// Appends one event as a JSON object; the msgpack payload is rendered as JSON.
void append_event_json(const proto::event& e, std::string& out);

/// Session ids: 1-128 characters of [A-Za-z0-9._:@-]. Ids starting with '$' are reserved for
/// the relay's own sessions (such as sessions_index), which clients may follow but not write.
bool is_valid_session_id(std::string_view id) noexcept;
bool is_reserved_session_id(std::string_view id) noexcept;

/// The relay appends {kind: "session.created", payload: {session}} here when a session gets its
/// first event, so agents can discover sessions by following one log.
inline constexpr std::string_view sessions_index = "$sessions";

} // namespace holdfast
