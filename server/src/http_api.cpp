// http_api: routing, JSON parsing and rendering for the relay's HTTP endpoints. Layer: relay
// (sans-I/O). Payload JSON is re-serialized by Boost.JSON and converted with holdfast::json so HTTP
// and WebSocket payloads go through one converter.
#include "holdfast/relay/http_api.hpp"

#include "holdfast/event_json.hpp"
#include "holdfast/json.hpp"
#include "holdfast/relay/metrics_text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace holdfast::relay {
namespace {

unsigned status_for(errc code) {
    switch (code) {
    case errc::forbidden: return 403;
    case errc::unauthorized:
    case errc::token_expired: return 401;
    case errc::rate_limited: return 429;
    case errc::stale_epoch:
    case errc::sequence_gap: return 409;  // the request is fine; the producer's state disagrees
    case errc::frame_too_large: return 413;
    case errc::store_failure: return 500;
    case errc::closed: return 503;
    default: return 400;
    }
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

/// The value of `key` in a query string (undecoded), or nullopt.
std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    return std::nullopt;
}

/// Reads an optional string member; false if present with another type.
bool optional_string(const boost::json::object& body, std::string_view key, std::string& out) {
    const boost::json::value* v = body.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
}

/// Reads an optional unsigned integer member; false if present with another type or negative.
bool optional_uint(const boost::json::object& body, std::string_view key, std::uint64_t& out) {
    const boost::json::value* v = body.if_contains(key);
    if (!v || v->is_null()) return true;
    if (v->is_uint64()) {
        out = v->get_uint64();
    } else if (v->is_int64() && v->get_int64() >= 0) {
        out = static_cast<std::uint64_t>(v->get_int64());
    } else {
        return false;
    }
    return true;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= text.size()) return std::nullopt;
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec != std::errc{} || end != text.data() + i + 3 || value == 0) return std::nullopt;
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

http_reply http_api::error_reply(unsigned status, errc code, std::string_view message) {
    http_reply reply;
    reply.status = status;
    reply.body = "{\"error\":{\"code\":" + std::to_string(static_cast<unsigned>(code)) + ",\"name\":";
    json::append_string(to_string(code), reply.body);
    reply.body += ",\"message\":";
    json::append_string(message, reply.body);
    reply.body += "}}";
    return reply;
}

http_reply http_api::not_found(std::string_view target) {
    return error_reply(404, errc::protocol_violation, "no such path: " + std::string(target));
}

std::optional<http_reply> http_api::handle(std::string_view method, std::string_view target, std::string_view body,
                                           std::string_view authorization) {
    if (method == "OPTIONS") {
        http_reply reply;
        reply.status = 204;
        reply.content_type.clear();
        reply.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                         {"Access-Control-Allow-Headers", "Content-Type, Authorization"},
                         {"Access-Control-Max-Age", "86400"}};
        return reply;
    }
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    const bool get = method == "GET" || method == "HEAD";

    if (path == "/healthz" && get) {
        // Unhealthy while the store cannot serve (a shared Redis down): a balancer sends new
        // connections elsewhere; connections already here stay and publishes get store_failure.
        if (!core_.healthy()) return http_reply{503, "application/json", "{\"status\":\"unhealthy\",\"reason\":\"store unavailable\"}", {}};
        return http_reply{200, "application/json", "{\"status\":\"ok\"}", {}};
    }
    if (path == "/metrics" && get) return metrics();
    if (path == "/healthz" || path == "/metrics") return error_reply(405, errc::protocol_violation, "use GET");

    constexpr std::string_view prefix = "/v1/sessions/";
    constexpr std::string_view suffix = "/events";
    if (path.starts_with(prefix) && path.ends_with(suffix) && path.size() > prefix.size() + suffix.size()) {
        const auto encoded = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
        const auto session = percent_decode(encoded);
        if (!session || !is_valid_session_id(*session)) {
            return error_reply(400, errc::invalid_session_id, "invalid session id");
        }
        if (method == "POST") return post_event(*session, body, authorization);
        if (get) return get_events(*session, query, authorization);
        return error_reply(405, errc::protocol_violation, "use GET or POST");
    }
    if (path.starts_with("/v1/")) return not_found(path);
    return std::nullopt;
}

http_reply http_api::post_event(std::string_view session, std::string_view body, std::string_view authorization) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(body, ec);
    if (ec) return error_reply(400, errc::invalid_payload, "body is not JSON: " + ec.message());
    if (!parsed.is_object()) return error_reply(400, errc::wrong_type, "body must be a JSON object");
    const boost::json::object& object = parsed.get_object();

    append_input input;
    input.session = std::string(session);
    const boost::json::value* kind = object.if_contains("kind");
    if (!kind || kind->is_null()) return error_reply(400, errc::missing_field, "kind");
    if (!kind->is_string()) return error_reply(400, errc::wrong_type, "kind must be a string");
    input.kind.assign(kind->get_string().data(), kind->get_string().size());
    if (auto denied = core_.authorize_http(authorization, session, capability_for_kind(input.kind))) {
        return error_reply(status_for(denied->code), denied->code, denied->detail);
    }
    if (!optional_string(object, "msgId", input.msg_id)) return error_reply(400, errc::wrong_type, "msgId");
    if (!optional_string(object, "agent", input.agent)) return error_reply(400, errc::wrong_type, "agent");
    if (!optional_string(object, "producerId", input.producer_id)) {
        return error_reply(400, errc::wrong_type, "producerId");
    }
    if (!optional_uint(object, "producerSeq", input.producer_seq)) {
        return error_reply(400, errc::wrong_type, "producerSeq must be an unsigned integer");
    }
    if (!optional_uint(object, "producerEpoch", input.producer_epoch)) {
        return error_reply(400, errc::wrong_type, "producerEpoch must be an unsigned integer");
    }
    if (const boost::json::value* payload = object.if_contains("payload")) {
        auto packed = json::to_msgpack(boost::json::serialize(*payload));
        if (!packed) return error_reply(status_for(packed.err().code), packed.err().code, packed.err().detail);
        input.payload.bytes = std::move(packed).value();
    }

    auto appended = core_.append_http(std::move(input));
    if (!appended) return error_reply(status_for(appended.err().code), appended.err().code, appended.err().detail);
    return http_reply{200, "application/json",
                      "{\"serial\":" + std::to_string(appended->serial) + ",\"epoch\":" +
                          std::to_string(appended->epoch) + "}",
                      {}};
}

http_reply http_api::get_events(std::string_view session, std::string_view query, std::string_view authorization) {
    if (auto denied = core_.authorize_http(authorization, session, capability::subscribe)) {
        return error_reply(status_for(denied->code), denied->code, denied->detail);
    }
    std::uint64_t from = 0;
    std::size_t limit = default_read_limit;
    if (auto text = query_param(query, "from")) {
        auto value = parse_uint(*text);
        if (!value) return error_reply(400, errc::wrong_type, "from must be an unsigned integer");
        from = *value;
    }
    if (auto text = query_param(query, "limit")) {
        auto value = parse_uint(*text);
        if (!value) return error_reply(400, errc::wrong_type, "limit must be an unsigned integer");
        limit = static_cast<std::size_t>(std::min<std::uint64_t>(*value, max_read_limit));
    }
    auto read = core_.read_events(session, from, limit);
    if (!read) return error_reply(status_for(read.err().code), read.err().code, read.err().detail);

    http_reply reply;
    reply.body = "{\"session\":";
    json::append_string(session, reply.body);
    reply.body += ",\"epoch\":" + std::to_string(read->epoch) + ",\"headSerial\":" +
                  std::to_string(read->head_serial) + ",\"events\":[";
    bool first = true;
    for (const proto::event& e : read->events) {
        if (!first) reply.body += ',';
        first = false;
        append_event_json(e, reply.body);
    }
    reply.body += "]}";
    return reply;
}

http_reply http_api::metrics() const {
    return http_reply{200, prometheus_content_type, render_metrics(core_.metrics(), requests_by_status_), {}};
}

} // namespace holdfast::relay
