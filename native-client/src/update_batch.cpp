// Parses client_core's update JSON with Boost.JSON. Layer: native host.
#include "holdfast/native/update_batch.hpp"

#include "holdfast/client.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace holdfast::native {

namespace {

namespace json = boost::json;

std::uint64_t to_u64(const json::value& v) {
    if (v.is_uint64()) return v.as_uint64();
    if (v.is_int64() && v.as_int64() >= 0) return static_cast<std::uint64_t>(v.as_int64());
    throw std::invalid_argument("expected an unsigned number");
}

std::string to_string(const json::value& v) { return std::string(v.as_string()); }

// The core leaves out what is empty or false (client.hpp).
const json::array& entries(const json::object& o, std::string_view key) {
    static const json::array none;
    const json::value* value = o.if_contains(key);
    return value ? value->as_array() : none;
}

bool flag(const json::object& o, std::string_view key) {
    const json::value* value = o.if_contains(key);
    return value && value->as_bool();
}

error parse_error_fields(const json::object& o) {
    return error{static_cast<errc>(to_u64(o.at("code"))), to_string(o.at("message"))};
}

// Cuts a table at the entry's base ("stringBase"/"producerBase", 0 when left out) and appends
// what the entry added (client.hpp, take_updates_json).
template <class Table, class Read>
void absorb(const json::object& s, std::string_view key, std::string_view base_key, Table& table, const Read& read) {
    const json::value* added = s.if_contains(key);
    if (!added) return;
    const json::value* base_value = s.if_contains(base_key);
    const std::uint64_t base = base_value ? to_u64(*base_value) : 0;
    if (base > table.size()) throw std::invalid_argument(std::string(base_key) + " past the table held");
    table.resize(base);
    for (const json::value& item : added->as_array()) table.push_back(read(item));
}

} // namespace

result<update_batch> parse_update_batch(std::string_view text, std::string_view event_columns, event_tables& tables) {
    update_batch batch;
    if (text.empty()) return batch;
    // at()/as_*() throw on a missing member or a wrong type: that is the core breaking its own
    // contract, reported as a value so it never unwinds through an I/O handler.
    try {
        const json::object root = json::parse(text).as_object();
        std::size_t columns_at = 0;
        for (const json::value& item : entries(root, "sessions")) {
            const json::object& s = item.as_object();
            session_status status;
            status.id = to_string(s.at("id"));
            status.state = to_string(s.at("state"));
            status.last_serial = to_u64(s.at("lastSerial"));
            status.epoch = to_u64(s.at("epoch"));
            status.reset = flag(s, "reset");
            status.continuity_lost = flag(s, "continuityLost");
            // Compact events (client.hpp): their payloads, consecutive from serialFrom, and
            // beside the JSON four doubles each [ts, kind, msgId, producer], kind and msgId
            // indexing the session's string table, producer its [producerId, agent] table.
            const json::array& events = entries(s, "events");
            if (event_columns.size() - columns_at < events.size() * client::event_numbers_bytes) {
                throw std::invalid_argument("events: fewer columns than events");
            }
            event_tables::of_session& table = tables.sessions[status.id];
            absorb(s, "strings", "stringBase", table.strings, to_string);
            absorb(s, "producers", "producerBase", table.producers, [](const json::value& item) {
                const json::array& pair = item.as_array();
                return std::pair(to_string(pair.at(0)), to_string(pair.at(1)));
            });
            std::uint64_t serial = events.empty() ? 0 : to_u64(s.at("serialFrom"));
            for (const json::value& payload : events) {
                const client::event_numbers numbers = client::event_numbers_at(event_columns, columns_at);
                columns_at += client::event_numbers_bytes;
                const auto& producer = table.producers.at(numbers.producer);
                delivered_event out;
                out.session = status.id;
                out.serial = serial++;
                out.ts = numbers.ts;
                out.kind = table.strings.at(numbers.kind);
                out.msg_id = table.strings.at(numbers.msg_id);
                out.agent = producer.second;
                out.producer_id = producer.first;
                out.payload_json = json::serialize(payload);
                batch.events.push_back(std::move(out));
            }
            if (const json::value* incoming = s.if_contains("incoming")) {
                for (const json::value& item : incoming->as_array()) {
                    const json::object& c = item.as_object();
                    batch.incoming.push_back(incoming_control_update{
                        status.id, to_u64(c.at("serial")), to_string(c.at("action")), to_string(c.at("target")),
                        to_string(c.at("messageId")), json::serialize(c.at("payload"))});
                }
            }
            batch.sessions.push_back(std::move(status));
        }
        for (const json::value& item : entries(root, "acks")) {
            const json::object& a = item.as_object();
            // A run (count): consecutive requests settled with consecutive serials.
            const std::uint64_t request = to_u64(a.at("request")), serial = to_u64(a.at("serial"));
            const std::uint64_t count = a.contains("count") ? to_u64(a.at("count")) : 1;
            for (std::uint64_t i = 0; i < count; ++i) batch.acks.push_back(ack_update{request + i, serial + i});
        }
        for (const json::value& item : entries(root, "rejects")) {
            const json::object& r = item.as_object();
            batch.rejects.push_back(reject_update{to_u64(r.at("request")), parse_error_fields(r)});
        }
        for (const json::value& item : entries(root, "errors")) {
            batch.errors.push_back(parse_error_fields(item.as_object()));
        }
        if (const json::value* controls = root.if_contains("controls")) {
            for (const json::value& item : controls->as_array()) {
                const json::object& c = item.as_object();
                batch.controls.push_back(
                    control_outcome_update{to_u64(c.at("request")), to_string(c.at("outcome")), to_string(c.at("reason"))});
            }
        }
        if (const json::value* retry = root.if_contains("retry")) {
            batch.retry_delay_ms = static_cast<std::uint32_t>(to_u64(retry->as_object().at("delayMs")));
        }
        if (const json::value* close = root.if_contains("closeLink")) batch.close_link = close->as_bool();
        if (const json::value* now = root.if_contains("connectNow")) batch.connect_now = now->as_bool();
    } catch (const std::exception& e) {
        return make_error(errc::malformed_frame, std::string("update batch: ") + e.what());
    }
    return batch;
}

} // namespace holdfast::native
