// Reading client_core::take_updates_json in the native tests. Layer: tests. The core leaves out
// what is empty or false (client.hpp), so a missing array reads as empty, and events come as one
// flat array of five values per event ([tsDelta, kind, msgId, producer, payload, ...],
// consecutive from "serialFrom", kind and msgId indexing "strings", producer "producers") that
// Session.js turns into event objects; event_objects does the same here.
#pragma once
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace holdfast::testing {

/// The array at `key`, or an empty one when the core left the key out.
inline const boost::json::array& entries(const boost::json::object& o, std::string_view key) {
    static const boost::json::array none;
    const auto* value = o.if_contains(key);
    return value ? value->as_array() : none;
}

/// A flag the core writes only when true.
inline bool flag(const boost::json::object& o, std::string_view key) {
    const auto* value = o.if_contains(key);
    return value && value->as_bool();
}

/// A message update applied to the text held for it, as Session.js does: "text" replaces it,
/// "textAppend" (sent once the earlier text was) extends it.
inline void apply_text(const boost::json::object& message, std::string& held) {
    if (const auto* append = message.if_contains("textAppend")) {
        held += append->as_string().c_str();
    } else {
        held = message.at("text").as_string().c_str();
    }
}

inline boost::json::array event_objects(const boost::json::object& session_entry) {
    boost::json::array objects;
    const auto& events = entries(session_entry, "events");
    if (events.empty()) return objects;
    const auto& producers = session_entry.at("producers").as_array();
    auto serial = session_entry.at("serialFrom").to_number<std::int64_t>();  // as Boost.JSON parses it
    std::int64_t ts = 0;
    if (events.size() % 5 != 0) throw std::invalid_argument("events: not five values per event");
    const auto& strings = session_entry.at("strings").as_array();
    for (std::size_t i = 0; i + 5 <= events.size(); i += 5) {
        const auto& producer = producers.at(events.at(i + 3).to_number<std::size_t>()).as_array();
        ts += events.at(i).to_number<std::int64_t>();
        objects.push_back(boost::json::object{{"serial", serial++}, {"ts", ts},
                                              {"kind", strings.at(events.at(i + 1).to_number<std::size_t>())},
                                              {"msgId", strings.at(events.at(i + 2).to_number<std::size_t>())},
                                              {"agent", producer.at(1)}, {"producerId", producer.at(0)}, {"payload", events.at(i + 4)}});
    }
    return objects;
}

} // namespace holdfast::testing
