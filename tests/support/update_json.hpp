// Reading client_core::take_updates_json in the native tests. Layer: tests. The core leaves out
// what is empty or false (client.hpp), so a missing array reads as empty, and events come as
// their payloads, consecutive from "serialFrom", with their numbers beside the JSON
// (client_core::event_columns: ts, then kind and msgId indexing the session's string table,
// producer its producer table) that Session.js turns into event objects; event_reader does the
// same here.
#pragma once
#include "holdfast/client.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// The acks as (request, serial), each run expanded: an ack with a count stands for that many
/// consecutive requests settled with consecutive serials (as Holdfast.js reads them).
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> acks(const boost::json::object& updates) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (const auto& value : entries(updates, "acks")) {
        const auto& ack = value.as_object();
        const auto request = ack.at("request").to_number<std::uint64_t>();
        const auto serial = ack.at("serial").to_number<std::uint64_t>();
        const auto count = ack.contains("count") ? ack.at("count").to_number<std::uint64_t>() : 1;
        for (std::uint64_t i = 0; i < count; ++i) out.emplace_back(request + i, serial + i);
    }
    return out;
}
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> acks(std::string_view updates_json) {
    return updates_json.empty() ? std::vector<std::pair<std::uint64_t, std::uint64_t>>{}
                                : acks(boost::json::parse(updates_json).as_object());
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

/// The doubles of client_core::event_columns().
inline std::vector<double> doubles(std::string_view columns) {
    std::vector<double> out(columns.size() / sizeof(double));
    std::memcpy(out.data(), columns.data(), out.size() * sizeof(double));
    return out;
}

/// Reads the events of one core's takes as Session.js does: "events" holds the payloads, their
/// numbers [ts, kind, msgId, producer] are doubles in the take's event_columns(), and kind, msgId
/// and producer index the session's tables, which last from take to take (an entry carries what
/// was added from "stringBase"/"producerBase"). One reader per core, fed every take in order.
class event_reader {
public:
    /// An entry's events as objects, its numbers read from byte `at` of `columns`, which moves past them.
    boost::json::array event_objects(const boost::json::object& session_entry, std::string_view columns, std::size_t& at) {
        auto& held = sessions_[std::string(session_entry.at("id").as_string())];
        absorb(session_entry, "strings", "stringBase", held.strings);
        absorb(session_entry, "producers", "producerBase", held.producers);
        boost::json::array objects;
        const auto& events = entries(session_entry, "events");
        if (events.empty()) return objects;
        auto serial = session_entry.at("serialFrom").to_number<std::int64_t>();
        if (at + events.size() * client::event_numbers_bytes > columns.size()) throw std::invalid_argument("columns: too few for the events");
        for (const auto& payload : events) {
            const client::event_numbers numbers = client::event_numbers_at(columns, at);
            at += client::event_numbers_bytes;
            const auto& producer = held.producers.at(numbers.producer).as_array();
            objects.push_back(boost::json::object{{"serial", serial++}, {"ts", numbers.ts},
                                                  {"kind", held.strings.at(numbers.kind)},
                                                  {"msgId", held.strings.at(numbers.msg_id)},
                                                  {"agent", producer.at(1)}, {"producerId", producer.at(0)}, {"payload", payload}});
        }
        return objects;
    }

    /// The events of the entry of `session_id` in one take (none when it has no entry); the
    /// take's other entries are read too, as they move the tables and the columns.
    boost::json::array session_events(const boost::json::object& updates, std::string_view session_id, std::string_view columns) {
        std::size_t at = 0;
        boost::json::array found;
        for (const auto& entry : entries(updates, "sessions")) {
            const auto& object = entry.as_object();
            auto events = event_objects(object, columns, at);
            if (object.at("id").as_string() == session_id) found = std::move(events);
        }
        return found;
    }

private:
    struct tables {
        boost::json::array strings, producers;
    };

    static void absorb(const boost::json::object& entry, std::string_view key, std::string_view base_key, boost::json::array& table) {
        const auto* added = entry.if_contains(key);
        if (!added) return;
        const auto* base = entry.if_contains(base_key);
        const std::size_t from = base ? base->to_number<std::size_t>() : 0;
        if (from > table.size()) throw std::invalid_argument(std::string(base_key) + " past the table held");
        table.resize(from);
        for (const auto& value : added->as_array()) table.push_back(value);
    }

    std::map<std::string, tables> sessions_;
};

} // namespace holdfast::testing
