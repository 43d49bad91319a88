// relay_core: the WebSocket protocol state machine per connection, replay pacing, the
// slow-consumer rule and the HTTP-level entry points, over session_table. Layer: relay (sans-I/O).
#include "holdfast/relay/relay_core.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/event_json.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace holdfast::relay {

relay_core::relay_core(store& backing, relay_config config, clock_ms clock)
    : store_(backing), config_(config), clock_(clock), out_(metrics_, config_), sessions_(backing, out_, metrics_, config_, std::move(clock)) {}

void relay_core::on_open(connection_id connection) {
    auto [it, inserted] = connections_.try_emplace(connection);
    if (!inserted) return;
    const double burst = config_.rate_burst_seconds;
    it->second.frame_budget = token_bucket(config_.max_frames_per_second, config_.max_frames_per_second * burst);
    it->second.byte_budget = token_bucket(static_cast<double>(config_.max_bytes_per_second),
                                          static_cast<double>(config_.max_bytes_per_second) * burst);
    ++metrics_.open_connections;
    ++metrics_.connections_total;
}

void relay_core::on_close(connection_id connection) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    connection_state& conn = it->second;
    for (const std::string& session : conn.sessions) sessions_.detach(connection, session);
    // A disconnect is not a detach: presence stays until the agent detaches or its lease runs out.
    for (const std::string& session : conn.agent_sessions) sessions_.agent_left(connection, session, conn.agent, false);
    leases_.release(connection, conn.agent, conn.agent_sessions, clock_() + config_.agent_lease_ms);
    connections_.erase(it);
    out_.forget(connection);
    --metrics_.open_connections;
    settle();
}

void relay_core::on_tick(std::uint64_t now) {
    expire_tokens(now);
    std::vector<expired_lease> expired = leases_.expire(now);
    if (store_.assigns_serials()) {
        // Several nodes: advertise who speaks through this node, and spare the leases of agents
        // another node still serves (ours only saw their messages in the shared log). A dead
        // node stops renewing, so its agents' keys lapse and a lease here then runs out.
        std::vector<std::string> mine = leases_.held_producers();
        for (const auto& [id, conn] : connections_) {
            if (!conn.agent.empty()) mine.push_back("\n" + conn.agent);
        }
        if (!store_.keep_present(mine, config_.agent_lease_ms + presence_slack_ms)) ++metrics_.store_failures_total;
        if (!expired.empty()) {
            std::vector<std::string> keys;
            for (const expired_lease& lost : expired) keys.push_back(lost.producer_id);
            auto alive = store_.present(keys);
            if (!alive) {
                // Unknown: keep every lease for another round rather than end a live agent's work.
                for (expired_lease& lost : expired) {
                    for (const std::string& session : lost.sessions) {
                        leases_.orphaned(lost.producer_id, lost.agent, session, now + config_.agent_lease_ms);
                    }
                }
                expired.clear();
            } else {
                std::vector<expired_lease> due;
                for (std::size_t i = 0; i < expired.size(); ++i) {
                    if (!alive.value()[i]) {
                        due.push_back(std::move(expired[i]));
                        continue;
                    }
                    for (const std::string& session : expired[i].sessions) {
                        leases_.orphaned(expired[i].producer_id, expired[i].agent, session, now + config_.agent_lease_ms);
                    }
                }
                expired = std::move(due);
            }
        }
    }
    for (expired_lease& lost : expired) {
        if (sessions_.expire_producer(lost.producer_id, lost.agent, lost.sessions)) ++metrics_.agents_lost_total;
    }
    settle();
}

void relay_core::on_store_appended(const std::string& session, std::uint64_t serial, std::uint64_t epoch) {
    sessions_.on_store_appended(session, serial, epoch);
    settle();
}

void relay_core::settle() {
    for (rebuilt_owner& owner : sessions_.take_rebuilt_owners()) {
        // Found open (or present) after a start with nobody speaking for its producer: it gets the
        // same lease a closed connection would, from now. An agent known by name only gets a key
        // no client can hold ("\n" is not sent as a producer id by any client core), so only
        // a connection of that name attaching the session keeps it present.
        const std::string key = owner.producer_id.empty() ? "\n" + owner.agent : owner.producer_id;
        leases_.orphaned(key, owner.agent, owner.session, clock_() + config_.agent_lease_ms);
    }
    metrics_.agent_leases = leases_.running();
    shed_slow_consumers();
}

void relay_core::on_sent(connection_id connection, std::uint64_t bytes) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    out_.on_sent(connection, bytes);
    if (!it->second.closing) pump_replay(connection, it->second);
}

void relay_core::pump_replay(connection_id id, connection_state& conn) {
    // A replay step may make a subscriber live: what is held (e.g. the agent.attached its attach
    // just appended, or what a shared store's catch-up fanned out) goes first, to the subscribers
    // live before it, as it would have unheld; the replay then reads it once.
    send_held();
    const std::uint64_t written = out_.written_bytes(id);
    while (!conn.replay_batch_ends.empty() && conn.replay_batch_ends.front() <= written) {
        conn.replay_batch_ends.pop_front();
    }
    // Below half the bound, so a replay never fills the queue that live events are judged by; at
    // least 1, so an empty queue always releases the next batch.
    const std::uint64_t low_water = std::max<std::uint64_t>(
        1, std::min(config_.replay_low_water_bytes, config_.max_queued_bytes / 2));
    // Round-robin over the sessions still replaying, one batch each, so one long log does not
    // hold back the others attached on the same connection.
    while (!conn.replaying.empty() && conn.replay_batch_ends.size() < config_.replay_window_batches &&
           out_.queued_bytes(id) < low_water) {
        std::string session = std::move(conn.replaying.front());
        conn.replaying.pop_front();
        auto step = sessions_.replay_step(id, session);
        if (!step) {
            ++metrics_.store_failures_total;
            // The client cannot be told "part of your replay is missing" and keep the session:
            // closing makes it reconnect and resume from its last serial, which is always safe.
            auto last = std::make_shared<const std::string>(proto::encode(proto::error_frame{
                static_cast<std::uint32_t>(step.err().code), step.err().detail, session, std::nullopt, std::nullopt}));
            return close_connection(id, conn, close_directive{close_status::internal_error, "store_failure", false},
                                    std::move(last));
        }
        if (step->sent) {
            ++metrics_.replay_batches_total;
            conn.replay_batch_ends.push_back(out_.queued_total(id));
        }
        if (!step->live) conn.replaying.push_back(std::move(session));
    }
}

void relay_core::shed_slow_consumers() {
    for (connection_id id : out_.take_overflowed()) {
        auto it = connections_.find(id);
        if (it == connections_.end() || it->second.closing) continue;
        ++metrics_.slow_consumer_closes_total;
        auto last = std::make_shared<const std::string>(proto::encode(proto::error_frame{
            static_cast<std::uint32_t>(errc::slow_consumer),
            "more than " + std::to_string(config_.max_queued_bytes) +
                " bytes queued: reconnect and resume from the last serial received",
            std::nullopt, std::nullopt, std::nullopt}));
        // drop_unsent: the backlog is what this peer cannot take; it resumes from what it has.
        close_connection(id, it->second, close_directive{close_status::slow_consumer, "slow_consumer", true},
                         std::move(last));
    }
}

void relay_core::close_connection(connection_id id, connection_state& conn, close_directive how,
                                  std::shared_ptr<const std::string> last_frame) {
    send_held();
    for (const std::string& session : conn.sessions) sessions_.detach(id, session);
    conn.sessions.clear();
    conn.replaying.clear();
    conn.closing = true;
    out_.close(id, std::move(how), std::move(last_frame));
}

void relay_core::on_frame_too_large(connection_id connection) {
    auto it = connections_.find(connection);
    if (it == connections_.end() || it->second.closing) return;
    ++metrics_.frames_received_total;
    reject(connection, errc::frame_too_large, "message exceeds " + std::to_string(config_.max_frame_bytes) + " bytes");
    close_connection(connection, it->second, close_directive{close_status::message_too_big, "frame_too_large", false});
}

void relay_core::on_frame(connection_id connection, std::string_view bytes) {
    auto it = connections_.find(connection);
    // Closed, or closing: late bytes are dropped (answering them could only grow a dead queue).
    if (it == connections_.end() || it->second.closing) return;
    ++metrics_.frames_received_total;
    if (bytes.size() > config_.max_frame_bytes) {
        // The shell's transport limit normally fails the read first; this keeps the rule here too.
        reject(connection, errc::frame_too_large,
               std::to_string(bytes.size()) + " bytes exceeds " + std::to_string(config_.max_frame_bytes));
        return close_connection(connection, it->second,
                                close_directive{close_status::message_too_big, "frame_too_large", false});
    }
    proto::decode_limits limits;
    limits.max_frame_bytes = config_.max_frame_bytes;
    limits.max_string_bytes = config_.max_frame_bytes;
    auto decoded = proto::decode_message(bytes, limits);
    // Every frame of a bundle counts against the frame budget, as it would have unbundled.
    if (!meter(connection, it->second, bytes.size(), decoded ? decoded->size() : 1)) return;
    if (!decoded) {
        reject(connection, decoded.err().code, decoded.err().detail);
        return;
    }
    // A bundle's frames are handled in order as if they had come one by one; a bad one gets its
    // own error and the others still count.
    metrics_.frames_received_total += decoded->size() - 1;
    // Group commit: a bundle's appends become durable in one transaction, before any of their
    // acks leave (outputs are only taken after this returns).
    const bool group = config_.group_commit && decoded->size() > 1;
    if (group) store_.begin_group();
    // A bundle's fan-out and acks are held and sent together (send_held); anything else a frame
    // sends goes after what is held, so every connection still sees outputs in input order.
    sessions_.hold_fan_out(decoded->size() > 1);
    for (auto& frame : decoded.value()) {
        auto current = connections_.find(connection);
        if (current == connections_.end() || current->second.closing) break;
        if (!frame) {
            reject(connection, frame.err().code, frame.err().detail);
            continue;
        }
        if (!std::holds_alternative<proto::publish>(frame.value())) send_held();
        handle(connection, current->second, std::move(frame).value());
    }
    send_held();
    sessions_.hold_fan_out(false);
    if (group) {
        if (auto committed = store_.end_group(); !committed) {
            // The store refused the group after the relay counted its events appended (heads,
            // producer positions, queued acks and fan-out). Nothing of it has left yet: exiting now
            // is the one outcome that acknowledges nothing unstored. Clients resend from their
            // outboxes to the restarted relay.
            std::fprintf(stderr, "holdfast-relay: fatal: the store could not commit a group of appends (%s); exiting\n",
                         committed.err().detail.c_str());
            std::_Exit(70);
        }
    }
    settle();  // a fan-out or reply may have overfilled any connection
}

void relay_core::handle(connection_id id, connection_state& conn, proto::frame&& frame) {
    if (auto* h = std::get_if<proto::hello>(&frame)) return on_hello(id, conn, *h);
    if (!conn.greeted) {
        return reject(id, errc::protocol_violation,
                      "'" + std::string(proto::type_name(frame)) + "' before hello");
    }
    if (conn.claims && conn.claims->expires_at_ms <= clock_()) {
        return refuse_token(id, conn, make_error(errc::token_expired, "token expired; renew it with a new hello"));
    }
    std::visit(
        [&](auto&& f) {
            using type = std::remove_cvref_t<decltype(f)>;
            if constexpr (std::is_same_v<type, proto::attach>) {
                on_attach(id, conn, f);
            } else if constexpr (std::is_same_v<type, proto::detach>) {
                on_detach(id, conn, f);
            } else if constexpr (std::is_same_v<type, proto::publish>) {
                append_input input{std::move(f.session), std::move(f.producer_id), f.producer_seq,
                                   f.producer_epoch, std::move(f.kind), std::move(f.msg_id), conn.agent,
                                   std::move(f.payload)};
                if (!permitted(id, conn, input.session, capability_for_kind(input.kind), &input)) return;
                on_append(id, conn, std::move(input));
            } else if constexpr (std::is_same_v<type, proto::control>) {
                if (f.action.empty()) {
                    return send_error(id, errc::missing_field, "action", std::move(f.session), f.producer_seq,
                                      std::move(f.producer_id));
                }
                // One producer series per (producer, session) covers publishes and controls.
                append_input input{std::move(f.session), std::move(f.producer_id), f.producer_seq,
                                   f.producer_epoch, "control." + f.action, std::move(f.target), conn.agent,
                                   std::move(f.payload)};
                if (!permitted(id, conn, input.session, capability_for_kind(input.kind), &input)) return;
                on_append(id, conn, std::move(input));
            } else if constexpr (std::is_same_v<type, proto::ping>) {
                out_.send(id, proto::pong{f.nonce});
            } else {
                // A client's packed frame decodes as an events frame: name both forms.
                reject(id, errc::protocol_violation,
                       std::is_same_v<type, proto::event_batch>
                           ? std::string("'events' and 'packed' are relay-to-client frames")
                           : "'" + std::string(type::frame_type) + "' is a relay-to-client frame");
            }
        },
        std::move(frame));
}

void relay_core::on_hello(connection_id id, connection_state& conn, const proto::hello& f) {
    if (conn.greeted) {
        // A second hello renews the token on a live link (the client keeps every session and its
        // position); it may not change who the connection is.
        if (f.version != proto::protocol_version || f.agent != conn.agent) {
            return reject(id, errc::protocol_violation, "a second hello may only renew the token");
        }
        if (!admit(id, conn, f)) return;
        // Sessions the new token no longer lets this connection read are detached.
        std::vector<std::string> lost;
        for (const std::string& session : conn.sessions) {
            if (conn.claims && !conn.claims->allows(session, capability::subscribe)) lost.push_back(session);
        }
        for (const std::string& session : lost) {
            on_detach(id, conn, proto::detach{session});
            ++metrics_.forbidden_total;
            send_error(id, errc::forbidden, "the renewed token does not allow subscribe on '" + session + "'", session);
        }
        out_.send(id, welcome_for(id));
        return;
    }
    if (f.version != proto::protocol_version) {
        reject(id, errc::version_mismatch,
               "client speaks version " + std::to_string(f.version) + ", relay speaks " +
                   std::to_string(proto::protocol_version));
        return close_connection(id, conn, close_directive{close_status::policy_violation, "version_mismatch", false});
    }
    if (!admit(id, conn, f)) return;
    conn.greeted = true;
    conn.agent = f.agent;
    if (f.bundles.value_or(false)) out_.enable_bundles(id);
    conn.packed = f.packed.value_or(false);
    conn.ack_ranges = f.ack_ranges.value_or(false);
    leases_.hold(f.client_id, id);  // a reconnecting agent keeps its producer's open messages
    out_.send(id, welcome_for(id));
}

void relay_core::on_attach(connection_id id, connection_state& conn, const proto::attach& f) {
    if (!is_valid_session_id(f.session)) {
        return send_error(id, errc::invalid_session_id, "invalid session id", f.session);
    }
    if (!permitted(id, conn, f.session, capability::subscribe)) return;
    // An agent's attach announces its presence (agent.attached): that is writing as an agent.
    if (!conn.agent.empty() && !is_reserved_session_id(f.session) && !permitted(id, conn, f.session, capability::agent)) {
        return;
    }
    if (!conn.sessions.contains(f.session) && conn.sessions.size() >= config_.max_sessions_per_connection) {
        return send_error(id, errc::limit_exceeded,
                          "more than " + std::to_string(config_.max_sessions_per_connection) +
                              " sessions attached on one connection: detach one first",
                          f.session);
    }
    auto attached = sessions_.attach(id, f.session, f.from_serial, f.epoch, conn.packed);
    if (!attached) return send_error(id, attached.err().code, attached.err().detail, f.session);
    conn.sessions.insert(f.session);
    // Attaching again restarts the replay (from the lower of the new from_serial and where a replay
    // under way stands); it keeps its turn if it had one.
    if (std::find(conn.replaying.begin(), conn.replaying.end(), f.session) == conn.replaying.end()) {
        conn.replaying.push_back(f.session);
    }
    // agent.attached is appended after `attached`, so the agent gets it through its own replay.
    if (!conn.agent.empty() && !is_reserved_session_id(f.session) && conn.agent_sessions.insert(f.session).second) {
        sessions_.agent_attached(id, f.session, conn.agent);
    }
    pump_replay(id, conn);
}

void relay_core::on_detach(connection_id id, connection_state& conn, const proto::detach& f) {
    if (conn.sessions.erase(f.session) == 0) return;
    sessions_.detach(id, f.session);
    std::erase(conn.replaying, f.session);
    if (conn.agent_sessions.erase(f.session) > 0) sessions_.agent_left(id, f.session, conn.agent, true);
}

void relay_core::on_append(connection_id id, const connection_state& conn, append_input&& input) {
    if (auto invalid = validate(input)) {
        return send_error(id, invalid->code, std::move(invalid->detail), input.session, input.producer_seq,
                          input.producer_id);
    }
    leases_.hold(input.producer_id, id);  // any frame with the producer id counts as its return
    auto reply = sessions_.append(input);
    if (!reply) {
        return send_error(id, reply.err().code, reply.err().detail, input.session, input.producer_seq,
                          input.producer_id);
    }
    proto::ack ack{std::move(input.session), std::move(input.producer_id), input.producer_seq, reply->serial};
    if (!sessions_.holding_fan_out()) return out_.send(id, ack);
    // Within a bundle, acks go after the fan-out they answer (send_held); a client that reads
    // ranges gets one per run of consecutive sequences and serials.
    if (conn.ack_ranges && !held_acks_.empty() && held_acks_.back().first == id) {
        proto::ack& run = held_acks_.back().second;
        const std::uint64_t next = run.count.value_or(1);
        if (run.session == ack.session && run.producer_id == ack.producer_id && run.producer_seq + next == ack.producer_seq &&
            run.serial + next == ack.serial) {
            run.count = next + 1;
            return;
        }
    }
    held_acks_.emplace_back(id, std::move(ack));
}

void relay_core::send_held() {
    sessions_.send_held_fan_out();
    for (const auto& [to, ack] : held_acks_) out_.send(to, ack);
    held_acks_.clear();
}

std::optional<error> relay_core::validate(const append_input& input) const {
    if (!is_valid_session_id(input.session)) return make_error(errc::invalid_session_id, "invalid session id");
    if (is_reserved_session_id(input.session)) {
        return make_error(errc::forbidden, "session '" + input.session + "' is reserved for the relay");
    }
    if (input.kind.empty()) return make_error(errc::missing_field, "kind");
    if (input.producer_id == relay_producer) {
        return make_error(errc::forbidden, "producer id 'relay' is reserved for the relay's own events");
    }
    if (input.kind == "agent.attached" || input.kind == "agent.detached") {
        return make_error(errc::forbidden, "'" + input.kind + "' is written by the relay only");
    }
    if (!input.producer_id.empty()) {
        if (input.producer_seq == 0) return make_error(errc::missing_field, "producer_seq (from 1) with producer_id");
        // The store orders positions as signed 64-bit integers.
        constexpr std::uint64_t limit = std::uint64_t{1} << 63;
        if (input.producer_seq >= limit || input.producer_epoch >= limit) {
            return make_error(errc::limit_exceeded, "producer_epoch and producer_seq must be below 2^63");
        }
    }
    // Accept only what every subscriber can read back: an event its decoder refuses would stop
    // the session for all of them (its serial can never be delivered). The publish frame and the
    // HTTP body were checked on their own; the events frame that carries the event is larger and
    // deeper than either.
    const std::size_t frame = events_frame_overhead(input.session.size()) +
                              encoded_size_bound(input.producer_id.size(), input.kind.size(), input.msg_id.size(),
                                                 input.agent.size(), input.payload.bytes.size());
    if (frame > config_.max_frame_bytes) {
        return make_error(errc::frame_too_large, "the event would make an events frame of up to " + std::to_string(frame) +
                                                     " bytes, over the relay's max_frame_bytes " +
                                                     std::to_string(config_.max_frame_bytes));
    }
    if (!input.payload.bytes.empty()) {
        proto::decode_limits limits;
        limits.max_depth = proto::max_payload_depth;
        limits.max_frame_bytes = limits.max_string_bytes = config_.max_frame_bytes;
        if (auto failure = proto::detail::prescan_msgpack(input.payload.bytes, limits)) {
            return make_error(failure->code, "payload: " + failure->detail);
        }
    }
    return std::nullopt;
}

result<append_reply> relay_core::append_http(append_input input) {
    if (auto invalid = validate(input)) return std::move(*invalid);
    leases_.seen(input.producer_id);
    auto reply = sessions_.append(input);
    settle();
    return reply;
}

result<read_reply> relay_core::read_events(std::string_view session, std::uint64_t after_serial, std::size_t limit) {
    if (!is_valid_session_id(session)) return make_error(errc::invalid_session_id, "invalid session id");
    return sessions_.read(std::string(session), after_serial, limit);
}

std::uint64_t relay_core::read_pause_ms(connection_id connection) {
    auto it = connections_.find(connection);
    if (it == connections_.end() || it->second.closing) return 0;
    auto now = [this] { return clock_(); };
    return std::max(it->second.frame_budget.wait_ms(now), it->second.byte_budget.wait_ms(now));
}

proto::welcome relay_core::welcome_for(connection_id id) const {
    return proto::welcome{std::to_string(id), proto::protocol_version,
                          proto::limits{config_.max_frame_bytes, config_.max_batch_events,
                                        static_cast<std::uint32_t>(proto::bundle_limits{}.max_frames)}};
}

bool relay_core::meter(connection_id id, connection_state& conn, std::size_t bytes, std::size_t frames) {
    auto now = [this] { return clock_(); };
    // An episode ends when the budgets have refilled: the next overrun is reported again.
    if (conn.throttle_reported) {
        // Both are asked (no short-circuit), so each starts its clock during the episode.
        const bool frames_full = conn.frame_budget.full(now);
        const bool bytes_full = conn.byte_budget.full(now);
        if (frames_full && bytes_full) conn.throttle_reported = false;
    }
    conn.frame_budget.take(static_cast<double>(frames), now);
    conn.byte_budget.take(static_cast<double>(bytes), now);
    const std::uint64_t pause = std::max(conn.frame_budget.wait_ms(now), conn.byte_budget.wait_ms(now));
    if (pause == 0) return true;
    const std::string budget = std::to_string(config_.max_frames_per_second) + " frames/s and " +
                               std::to_string(config_.max_bytes_per_second) + " bytes/s";
    if (pause > std::uint64_t{config_.rate_debt_seconds} * 1000) {
        // Only a peer whose reads are not paused gets here (the Beast shell pauses them).
        ++metrics_.rate_limit_closes_total;
        ++metrics_.frames_rejected_total;
        auto last = std::make_shared<const std::string>(proto::encode(proto::error_frame{
            static_cast<std::uint32_t>(errc::rate_limited), "kept sending past " + budget, std::nullopt, std::nullopt,
            std::nullopt}));
        close_connection(id, conn, close_directive{close_status::rate_limited, "rate_limited", false}, std::move(last));
        return false;
    }
    if (!conn.throttle_reported) {
        // Informational: this frame is still handled; the following ones are read more slowly.
        conn.throttle_reported = true;
        ++metrics_.throttled_total;
        send_error(id, errc::rate_limited, "over " + budget + ": reading from this connection is paused");
    }
    return true;
}

bool relay_core::admit(connection_id id, connection_state& conn, const proto::hello& f) {
    if (!config_.auth) return true;
    auto claims = config_.auth->verify(f.token, clock_());
    if (!claims) {
        refuse_token(id, conn, claims.err());
        return false;
    }
    conn.claims = std::move(claims).value();
    return true;
}

bool relay_core::permitted(connection_id id, const connection_state& conn, const std::string& session,
                           capability what, const append_input* append) {
    if (!config_.auth || (conn.claims && conn.claims->allows(session, what))) return true;
    ++metrics_.forbidden_total;
    std::string message = "the token does not allow " + std::string(to_string(what)) + " on '" + session + "'";
    if (append) {
        send_error(id, errc::forbidden, std::move(message), session, append->producer_seq, append->producer_id);
    } else {
        send_error(id, errc::forbidden, std::move(message), session);
    }
    return false;
}

void relay_core::refuse_token(connection_id id, connection_state& conn, const error& why) {
    ++metrics_.auth_failures_total;
    ++metrics_.frames_rejected_total;
    auto last = std::make_shared<const std::string>(proto::encode(
        proto::error_frame{static_cast<std::uint32_t>(why.code), why.detail, std::nullopt, std::nullopt, std::nullopt}));
    close_connection(id, conn, close_directive{close_status::unauthorized, std::string(to_string(why.code)), false},
                     std::move(last));
}

void relay_core::expire_tokens(std::uint64_t now) {
    if (!config_.auth) return;
    for (auto& [id, conn] : connections_) {
        if (!conn.closing && conn.claims && conn.claims->expires_at_ms <= now) {
            refuse_token(id, conn, make_error(errc::token_expired, "token expired; renew it with a new hello"));
        }
    }
}

std::optional<error> relay_core::authorize_http(std::string_view authorization, std::string_view session,
                                                capability what) {
    if (!config_.auth) return std::nullopt;
    constexpr std::string_view scheme = "Bearer ";
    std::string_view token;
    if (authorization.size() > scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); })) {
        token = authorization.substr(scheme.size());
    }
    auto claims = config_.auth->verify(token, clock_());
    if (!claims) {
        ++metrics_.auth_failures_total;
        return claims.err();
    }
    if (!claims->allows(session, what)) {
        ++metrics_.forbidden_total;
        return make_error(errc::forbidden,
                          "the token does not allow " + std::string(to_string(what)) + " on '" + std::string(session) + "'");
    }
    return std::nullopt;
}

void relay_core::reject(connection_id id, errc code, std::string message) {
    ++metrics_.frames_rejected_total;
    send_error(id, code, std::move(message));
}

void relay_core::send_error(connection_id id, errc code, std::string message, std::optional<std::string> session,
                            std::optional<std::uint64_t> producer_seq, std::optional<std::string> producer_id) {
    send_held();  // after the outputs of the frames before it
    if (producer_id && producer_id->empty()) producer_id.reset();
    out_.send(id, proto::error_frame{static_cast<std::uint32_t>(code), std::move(message), std::move(session),
                                     producer_seq, std::move(producer_id)});
}

} // namespace holdfast::relay
