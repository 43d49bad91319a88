// The events of one session entry of client_core::take_updates_json, as the objects Session.js
// builds from the core's compact arrays ([serial, ts, kind, msgId, producer, payload] with a
// "producers" table; see client.hpp), for the native tests that read updates. Layer: tests.
#pragma once
#include <boost/json.hpp>

#include <cstddef>

namespace holdfast::testing {

inline boost::json::array event_objects(const boost::json::object& session_entry) {
    boost::json::array objects;
    const auto& events = session_entry.at("events").as_array();
    if (events.empty()) return objects;
    const auto& producers = session_entry.at("producers").as_array();
    for (const auto& value : events) {
        const auto& e = value.as_array();
        const auto& producer = producers.at(e.at(4).to_number<std::size_t>()).as_array();
        objects.push_back(boost::json::object{{"serial", e.at(0)}, {"ts", e.at(1)}, {"kind", e.at(2)}, {"msgId", e.at(3)},
                                              {"agent", producer.at(1)}, {"producerId", producer.at(0)}, {"payload", e.at(5)}});
    }
    return objects;
}

} // namespace holdfast::testing
