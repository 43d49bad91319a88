// relay_core: the WebSocket protocol state machine per connection, and the HTTP-level entry
// points, over session_table. Layer: relay (sans-I/O).
#include "holdfast/relay/relay_core.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/event_json.hpp"

#include <type_traits>

namespace holdfast::relay {

relay_core::relay_core(store& backing, relay_config config, clock_ms clock)
    : config_(config), out_(metrics_), sessions_(backing, out_, metrics_, config_, std::move(clock)) {}

void relay_core::on_open(connection_id connection) {
    if (!connections_.try_emplace(connection).second) return;
    ++metrics_.open_connections;
    ++metrics_.connections_total;
}

void relay_core::on_close(connection_id connection) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    for (const std::string& session : it->second.sessions) sessions_.detach(connection, session);
    connections_.erase(it);
    --metrics_.open_connections;
}

void relay_core::on_frame_too_large(connection_id connection) {
    if (!connections_.contains(connection)) return;
    ++metrics_.frames_received_total;
    reject(connection, errc::frame_too_large, "message exceeds " + std::to_string(config_.max_frame_bytes) + " bytes");
    out_.close(connection);
}

void relay_core::on_frame(connection_id connection, std::string_view bytes) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;  // closed already: late bytes are dropped
    ++metrics_.frames_received_total;
    if (bytes.size() > config_.max_frame_bytes) {
        // The shell's transport limit normally fails the read first; this keeps the rule here too.
        reject(connection, errc::frame_too_large,
               std::to_string(bytes.size()) + " bytes exceeds " + std::to_string(config_.max_frame_bytes));
        out_.close(connection);
        return;
    }
    proto::decode_limits limits;
    limits.max_frame_bytes = config_.max_frame_bytes;
    limits.max_string_bytes = config_.max_frame_bytes;
    auto decoded = proto::decode(bytes, limits);
    if (!decoded) {
        reject(connection, decoded.err().code, decoded.err().detail);
        return;
    }
    handle(connection, it->second, std::move(decoded).value());
}

void relay_core::handle(connection_id id, connection_state& conn, proto::frame&& frame) {
    if (auto* h = std::get_if<proto::hello>(&frame)) return on_hello(id, conn, *h);
    if (!conn.greeted) {
        return reject(id, errc::protocol_violation,
                      "'" + std::string(proto::type_name(frame)) + "' before hello");
    }
    std::visit(
        [&](auto&& f) {
            using type = std::remove_cvref_t<decltype(f)>;
            if constexpr (std::is_same_v<type, proto::attach>) {
                on_attach(id, conn, f);
            } else if constexpr (std::is_same_v<type, proto::detach>) {
                on_detach(id, conn, f);
            } else if constexpr (std::is_same_v<type, proto::publish>) {
                on_append(id, append_input{std::move(f.session), std::move(f.producer_id), f.producer_seq,
                                           f.producer_epoch, std::move(f.kind), std::move(f.msg_id), conn.agent,
                                           std::move(f.payload)});
            } else if constexpr (std::is_same_v<type, proto::control>) {
                if (f.action.empty()) {
                    return send_error(id, errc::missing_field, "action", std::move(f.session), f.producer_seq);
                }
                // One producer series per (producer, session) covers publishes and controls.
                on_append(id, append_input{std::move(f.session), std::move(f.producer_id), f.producer_seq,
                                           f.producer_epoch, "control." + f.action, std::move(f.target), conn.agent,
                                           std::move(f.payload)});
            } else if constexpr (std::is_same_v<type, proto::ping>) {
                out_.send(id, proto::pong{f.nonce});
            } else {
                reject(id, errc::protocol_violation,
                       "'" + std::string(type::frame_type) + "' is a relay-to-client frame");
            }
        },
        std::move(frame));
}

void relay_core::on_hello(connection_id id, connection_state& conn, const proto::hello& f) {
    if (conn.greeted) return reject(id, errc::protocol_violation, "hello sent twice");
    if (f.version != proto::protocol_version) {
        reject(id, errc::version_mismatch,
               "client speaks version " + std::to_string(f.version) + ", relay speaks " +
                   std::to_string(proto::protocol_version));
        out_.close(id);
        return;
    }
    conn.greeted = true;
    conn.agent = f.agent;
    out_.send(id, proto::welcome{std::to_string(id), proto::protocol_version,
                                 proto::limits{config_.max_frame_bytes, config_.max_batch_events}});
}

void relay_core::on_attach(connection_id id, connection_state& conn, const proto::attach& f) {
    if (!is_valid_session_id(f.session)) {
        return send_error(id, errc::invalid_session_id, "invalid session id", f.session);
    }
    auto attached = sessions_.attach(id, f.session, f.from_serial, f.epoch);
    if (!attached) return send_error(id, attached.err().code, attached.err().detail, f.session);
    conn.sessions.insert(f.session);
}

void relay_core::on_detach(connection_id id, connection_state& conn, const proto::detach& f) {
    if (conn.sessions.erase(f.session) != 0) sessions_.detach(id, f.session);
}

void relay_core::on_append(connection_id id, append_input&& input) {
    if (auto invalid = validate(input)) {
        return send_error(id, invalid->code, std::move(invalid->detail), input.session, input.producer_seq);
    }
    auto reply = sessions_.append(input);
    if (!reply) return send_error(id, reply.err().code, reply.err().detail, input.session, input.producer_seq);
    out_.send(id, proto::ack{std::move(input.session), std::move(input.producer_id), input.producer_seq,
                             reply->serial});
}

std::optional<error> relay_core::validate(const append_input& input) {
    if (!is_valid_session_id(input.session)) return make_error(errc::invalid_session_id, "invalid session id");
    if (is_reserved_session_id(input.session)) {
        return make_error(errc::forbidden, "session '" + input.session + "' is reserved for the relay");
    }
    if (input.kind.empty()) return make_error(errc::missing_field, "kind");
    if (!input.producer_id.empty()) {
        if (input.producer_seq == 0) return make_error(errc::missing_field, "producer_seq (from 1) with producer_id");
        // The store orders positions as signed 64-bit integers.
        constexpr std::uint64_t limit = std::uint64_t{1} << 63;
        if (input.producer_seq >= limit || input.producer_epoch >= limit) {
            return make_error(errc::limit_exceeded, "producer_epoch and producer_seq must be below 2^63");
        }
    }
    return std::nullopt;
}

result<append_reply> relay_core::append_http(append_input input) {
    if (auto invalid = validate(input)) return std::move(*invalid);
    return sessions_.append(input);
}

result<read_reply> relay_core::read_events(std::string_view session, std::uint64_t after_serial, std::size_t limit) {
    if (!is_valid_session_id(session)) return make_error(errc::invalid_session_id, "invalid session id");
    return sessions_.read(std::string(session), after_serial, limit);
}

void relay_core::reject(connection_id id, errc code, std::string message) {
    ++metrics_.frames_rejected_total;
    send_error(id, code, std::move(message));
}

void relay_core::send_error(connection_id id, errc code, std::string message, std::optional<std::string> session,
                            std::optional<std::uint64_t> producer_seq) {
    out_.send(id, proto::error_frame{static_cast<std::uint32_t>(code), std::move(message), std::move(session),
                                     producer_seq});
}

} // namespace holdfast::relay
