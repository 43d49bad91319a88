// session_table: serials, producer rules, replay steps and fan-out over a store. Layer: relay
// (sans-I/O).
#include "holdfast/relay/session_table.hpp"

#include "holdfast/event_json.hpp"
#include "holdfast/json.hpp"
#include "holdfast/payload.hpp"

#include <algorithm>
#include <chrono>

namespace holdfast::relay {

std::uint64_t system_clock_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

session_table::session_table(store& backing, outbox& out, relay_metrics& metrics, const relay_config& config,
                             clock_ms clock)
    : store_(backing),
      out_(out),
      metrics_(metrics),
      config_(config),
      clock_(std::move(clock)),
      producers_(backing, config.producer_cache_entries) {}

result<session_table::session_state*> session_table::find_or_load(const std::string& session, bool create,
                                                                  session_state& scratch) {
    if (auto it = live_.find(session); it != live_.end()) {
        // Shared store: other nodes append too, so the cached head may be behind the store's.
        if (store_.assigns_serials()) catch_up(session, it->second, 0);
        return &it->second;
    }
    // Load first: creating is a write, and most appends go to sessions that already exist.
    auto info = store_.load(session);
    if (!info) return info.err();
    if (info.value()) {
        scratch.info = *info.value();
    } else if (create) {
        auto created = store_.create(session);
        if (!created) return created.err();
        scratch.info = created.value();
    } else {
        scratch.info = session_info{};
    }
    return &scratch;
}

result<session_info> session_table::attach(connection_id connection, const std::string& session,
                                           std::uint64_t from_serial, std::uint64_t client_epoch, bool packed) {
    session_state scratch;
    auto found = find_or_load(session, true, scratch);
    if (!found) return found.err();
    const session_info info = found.value()->info;
    std::uint64_t first_serial = 1;
    if (store_.assigns_serials() && info.head_serial > 0) {
        // A store with retention may have dropped the oldest events: tell the client where the
        // log starts, so one resuming from before it resets (continuity_lost) instead of looping
        // on a gap no replay can fill.
        auto first = store_.first_retained(session);
        if (!first) {
            ++metrics_.store_failures_total;
            return first.err();
        }
        first_serial = std::max<std::uint64_t>(first.value(), 1);
    }
    proto::attached reply{session, info.epoch, info.head_serial};
    if (first_serial > 1) reply.first_serial = first_serial;
    out_.send(connection, reply);

    auto [it, inserted] = live_.try_emplace(session);
    if (inserted) {
        it->second.info = info;
        ++metrics_.live_sessions;
        live_added(session);
    }
    const std::uint64_t cursor =
        std::max((client_epoch != 0 && client_epoch != info.epoch) ? 0 : from_serial, first_serial - 1);
    auto [sub, fresh] = it->second.subscribers.try_emplace(connection, subscriber{cursor, false, packed});
    if (!fresh) {
        // Attached again on this connection: restart the replay after from_serial, unless a replay
        // under way is further back. The tabs of a browser share their leader's connection and
        // each attaches from its own position; a later attach from further on must not cut short
        // the replay another tab is waiting for (it would never get the serials in between).
        // Everyone on the connection drops the serials it already holds.
        sub->second.cursor = sub->second.live ? cursor : std::min(sub->second.cursor, cursor);
        sub->second.live = false;
    }
    // Load (after a start: rebuild) its open messages now, so an agent that died with the previous
    // relay process gets a lease as soon as someone looks at the session.
    (void)controls_for(session, info.head_serial);
    return info;
}

namespace {

/// An events frame in the form its subscriber reads (hello.packed), ready to share.
std::shared_ptr<const std::string> encode_events(const proto::event_batch& batch, bool packed) {
    return std::make_shared<const std::string>(packed ? proto::encode_packed(batch) : proto::encode(batch));
}

std::size_t encoded_size_bound(const proto::event& e) {
    return relay::encoded_size_bound(e.producer_id.size(), e.kind.size(), e.msg_id.size(), e.agent.size(),
                                     e.payload.bytes.size());
}

} // namespace

result<replay_step_result> session_table::replay_step(connection_id connection, const std::string& session) {
    auto state = live_.find(session);
    if (state == live_.end()) return replay_step_result{false, true};
    auto found = state->second.subscribers.find(connection);
    if (found == state->second.subscribers.end() || found->second.live) return replay_step_result{false, true};
    subscriber& sub = found->second;
    const std::uint64_t head = state->second.info.head_serial;
    if (sub.cursor >= head) {
        sub.live = true;
        return replay_step_result{false, true};
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(config_.max_batch_events, head - sub.cursor));
    auto events = store_.read(session, sub.cursor, want);
    if (!events) return events.err();
    if (events->empty()) {
        sub.live = true;  // the store holds fewer events than head says: nothing more to replay
        return replay_step_result{false, true};
    }
    // Keep a batch near max_frame_bytes (at least one event): clients decode with that limit, and
    // the replay window is counted in batches, so their size bounds the memory it holds.
    std::size_t keep = 0;
    std::size_t bytes = events_frame_overhead(session.size());
    for (; keep < events->size(); ++keep) {
        const std::size_t size = encoded_size_bound((*events)[keep]);
        if (keep > 0 && bytes + size > config_.max_frame_bytes) break;
        bytes += size;
    }
    events->resize(keep);
    metrics_.events_replayed_total += keep;
    sub.cursor = events->back().serial;
    if (sub.cursor >= head) sub.live = true;  // from the next append on, fan-out reaches it
    proto::event_batch batch{session, std::move(events).value()};
    out_.send_paced(connection, encode_events(batch, sub.packed));
    return replay_step_result{true, sub.live};
}

void session_table::detach(connection_id connection, const std::string& session) {
    auto it = live_.find(session);
    if (it == live_.end()) return;
    it->second.subscribers.erase(connection);
    if (it->second.subscribers.empty()) {
        live_.erase(it);
        --metrics_.live_sessions;
        live_removed(session);
    }
}

result<append_reply> session_table::append(const append_input& input) {
    return append_one(input);
}

result<std::string> session_table::control_target(session_controls* controls, const append_input& input) {
    if (controls && input.kind == "control.outcome") {
        if (auto refused = controls->check_outcome(input.producer_id, input.agent, input.payload)) return *refused;
    } else if (controls && is_control_kind(input.kind)) {
        return controls->resolve_target(input.msg_id);
    }
    return input.msg_id;
}

void session_table::count_refusal(errc code) {
    switch (code) {
    case errc::stale_epoch: ++metrics_.appends_fenced_total; break;
    case errc::sequence_gap: ++metrics_.sequence_gaps_total; break;
    default: ++metrics_.store_failures_total; break;
    }
}

void session_table::count_appended(const append_input& input, std::uint64_t serial) {
    ++metrics_.events_appended_total;
    if (serial == 1 && !is_reserved_session_id(input.session)) ++metrics_.sessions_started_total;
    if (input.kind != "control.outcome") return;
    const std::string outcome = payload_string(input.payload, "outcome");
    if (outcome == "applied") ++metrics_.controls_applied_total;
    else if (outcome == "too_late") ++metrics_.controls_too_late_total;
    else if (outcome == "rejected") ++metrics_.controls_rejected_total;
}

void session_table::hold_fan_out(bool on) {
    if (!on) send_held_fan_out();
    holding_ = on;
}

void session_table::send_held_fan_out() {
    if (held_.empty()) return;
    held_bytes_ = 0;
    auto events = std::exchange(held_, {});
    // Subscribers are read now: the relay core sends what is held before anything that changes
    // them (an attach's replay step, a detach) or sends them other output.
    if (auto it = live_.find(held_session_); it != live_.end()) send_to_live(held_session_, it->second, std::move(events));
}

void session_table::fan_out(const std::string& session, const session_state& state, std::vector<proto::event> events) {
    if (state.subscribers.empty()) return;
    if (!holding_) return send_to_live(session, state, std::move(events));
    std::size_t bytes = 0;
    for (const proto::event& e : events) bytes += encoded_size_bound(e);
    // The same bounds as a replay batch: clients decode with max_frame_bytes.
    if (!held_.empty() && (held_session_ != session || held_.size() + events.size() > config_.max_batch_events ||
                           events_frame_overhead(session.size()) + held_bytes_ + bytes > config_.max_frame_bytes)) {
        send_held_fan_out();
    }
    if (held_.empty()) held_session_ = session;
    held_bytes_ += bytes;
    for (proto::event& e : events) held_.push_back(std::move(e));
}

void session_table::send_to_live(const std::string& session, const session_state& state,
                                 std::vector<proto::event> events) {
    // Encoded once per form, for the first live subscriber that takes it; replaying ones reach
    // these through their cursor.
    const proto::event_batch batch{session, std::move(events)};
    std::shared_ptr<const std::string> plain, packed;
    for (const auto& [connection, sub] : state.subscribers) {
        if (!sub.live) continue;
        auto& frame = sub.packed ? packed : plain;
        if (!frame) frame = encode_events(batch, sub.packed);
        out_.send(connection, frame);
    }
}

result<append_reply> session_table::append_one(const append_input& input) {
    if (store_.assigns_serials()) return append_shared(input);
    session_state scratch;
    auto found = find_or_load(input.session, true, scratch);
    if (!found) {
        ++metrics_.store_failures_total;
        return found.err();
    }
    session_state& state = *found.value();

    session_controls* controls = controls_for(input.session, state.info.head_serial);
    const producer_claim claim{input.session, input.producer_id, input.producer_epoch, input.producer_seq};
    // Sequence 0 with a producer id is the relay's own event (clients cannot send it).
    const bool sequenced = !input.producer_id.empty() && input.producer_seq != 0;
    if (sequenced) {
        auto verdict = producers_.check(claim);
        if (!verdict) {
            count_refusal(verdict.err().code);
            return verdict.err();
        }
        if (verdict.value()) {
            ++metrics_.appends_deduplicated_total;
            return append_reply{*verdict.value(), state.info.epoch, true};
        }
    }

    // After the dedup check, so a retried control or outcome is answered and changes nothing.
    auto msg_id = control_target(controls, input);
    if (!msg_id) return msg_id.err();

    stored_event stored;
    stored.event = proto::event{state.info.head_serial + 1, clock_(), input.producer_id, input.kind,
                                std::move(msg_id).value(),   input.agent, input.payload};
    stored.producer_seq = input.producer_seq;
    stored.producer_epoch = input.producer_epoch;
    if (auto written = store_.append(input.session, stored); !written) {
        ++metrics_.store_failures_total;
        // The cached head and producer position may disagree with the store now (e.g. an
        // ambiguous commit): re-read them.
        if (auto info = store_.load(input.session); info && info.value()) state.info = *info.value();
        if (sequenced) producers_.forget(claim);
        return written.err();
    }
    if (sequenced) producers_.appended(claim);
    state.info.head_serial = stored.event.serial;
    const append_reply reply{stored.event.serial, state.info.epoch, false};
    count_appended(input, reply.serial);
    std::vector<relay_event> follow_ups;
    if (controls) controls->observe(stored.event, &follow_ups);

    fan_out(input.session, state, {std::move(stored.event)});
    // Outcomes follow the event that decided them, before anything else can be appended.
    for (relay_event& e : follow_ups) append_relay(input.session, std::move(e));
    // Whoever wrote it (an agent's arrival can be a session's first event).
    if (reply.serial == 1 && input.session != sessions_index) announce(input.session);
    return reply;
}

void session_table::append_relay(const std::string& session, relay_event e) {
    append_input input;
    input.session = session;
    input.producer_id = std::string(relay_producer);
    input.kind = std::move(e.kind);
    input.msg_id = std::move(e.msg_id);
    input.agent = std::move(e.agent);
    input.payload = std::move(e.payload);
    // A failure is counted (store_failures_total); the event that caused it stays appended.
    (void)append_one(input);
}

session_controls* session_table::controls_for(const std::string& session, std::uint64_t head_serial) {
    if (is_reserved_session_id(session)) return nullptr;
    if (auto it = controls_.find(session); it != controls_.end()) return &it->second;
    if (controls_.size() >= config_.idle_control_sessions) {
        // Forget idle sessions nobody follows; their state is the log's and comes back on demand.
        std::erase_if(controls_, [&](const auto& entry) {
            return entry.second.idle() && !live_.contains(entry.first);
        });
    }
    session_controls rebuilt(config_.ended_messages_remembered);
    std::uint64_t cursor = head_serial > config_.open_message_scan_events ? head_serial - config_.open_message_scan_events : 0;
    while (cursor < head_serial) {
        auto events = store_.read(session, cursor, static_cast<std::size_t>(std::min<std::uint64_t>(1000, head_serial - cursor)));
        if (!events) {
            ++metrics_.store_failures_total;
            return nullptr;  // this append goes through unrouted; the next one tries again
        }
        if (events->empty()) break;
        for (const proto::event& e : *events) rebuilt.observe(e, nullptr);
        cursor = events->back().serial;
    }
    for (open_message_owner& m : rebuilt.lease_candidates()) {
        rebuilt_.push_back(rebuilt_owner{session, std::move(m.producer_id), std::move(m.agent)});
    }
    return &controls_.emplace(session, std::move(rebuilt)).first->second;
}

const session_controls* session_table::controls(const std::string& session) const {
    auto it = controls_.find(session);
    return it == controls_.end() ? nullptr : &it->second;
}

void session_table::agent_attached(connection_id connection, const std::string& session, const std::string& agent) {
    auto it = live_.find(session);
    if (it == live_.end()) return;  // attach failed
    session_controls* controls = controls_for(session, it->second.info.head_serial);
    if (!controls) return;
    controls->add_agent_connection(agent, connection);
    if (controls->announced(agent)) return;
    std::string payload_json = "{\"agent\":";
    json::append_string(agent, payload_json);
    payload_json += '}';
    append_relay(session, relay_event{"agent.attached", "", agent, proto::raw_value{json::to_msgpack(payload_json).value()}});
}

void session_table::agent_left(connection_id connection, const std::string& session, const std::string& agent,
                               bool explicit_detach) {
    auto it = controls_.find(session);
    if (it == controls_.end()) return;
    const std::size_t left = it->second.remove_agent_connection(agent, connection);
    if (!explicit_detach || left > 0 || !it->second.announced(agent)) return;
    std::string payload_json = "{\"agent\":";
    json::append_string(agent, payload_json);
    payload_json += ",\"reason\":\"detached\"}";
    append_relay(session, relay_event{"agent.detached", "", agent, proto::raw_value{json::to_msgpack(payload_json).value()}});
}

bool session_table::expire_producer(const std::string& producer_id, const std::string& agent,
                                    const std::set<std::string>& sessions) {
    // Collect first: appending may load other sessions' state into controls_.
    std::vector<std::pair<std::string, open_message_owner>> lost;
    for (const auto& [session, controls] : controls_) {
        for (open_message_owner& m : controls.open_messages_of(producer_id)) lost.emplace_back(session, std::move(m));
    }
    const auto end_payload = json::to_msgpack(R"({"status":"error","reason":"agent_lost"})").value();
    for (auto& [session, m] : lost) {
        append_relay(session, relay_event{"message.end", std::move(m.msg_id), std::move(m.agent), proto::raw_value{end_payload}});
    }
    bool detached = false;
    for (const std::string& session : sessions) {
        auto it = controls_.find(session);
        if (it == controls_.end() || !it->second.announced(agent) || it->second.agent_connections(agent) > 0) continue;
        std::string payload_json = "{\"agent\":";
        json::append_string(agent, payload_json);
        payload_json += ",\"reason\":\"lease_expired\"}";
        append_relay(session, relay_event{"agent.detached", "", agent, proto::raw_value{json::to_msgpack(payload_json).value()}});
        detached = true;
    }
    return detached || !lost.empty();
}

void session_table::announce(const std::string& session) {
    std::string payload_json = "{\"session\":";
    json::append_string(session, payload_json);
    payload_json += '}';
    append_input created;
    created.session = std::string(sessions_index);
    created.kind = "session.created";
    auto payload = json::to_msgpack(payload_json);
    if (payload) created.payload.bytes = std::move(payload).value();
    // A failure here is counted (store_failures_total) but does not undo the user's acked event.
    (void)append_one(created);
}

result<read_reply> session_table::read(const std::string& session, std::uint64_t after_serial, std::size_t limit) {
    session_state scratch;
    auto found = find_or_load(session, false, scratch);
    if (!found) return found.err();
    read_reply reply;
    reply.epoch = found.value()->info.epoch;
    reply.head_serial = found.value()->info.head_serial;
    if (reply.epoch == 0 || limit == 0) return reply;
    auto events = store_.read(session, after_serial, limit);
    if (!events) return events.err();
    reply.events = std::move(events).value();
    return reply;
}

} // namespace holdfast::relay


// ---- shared store (several relay nodes on Redis) ------------------------------------------------
// Kept apart from the embedded-store path above: there the relay decides serials; here the store
// does, atomically with the producer rules, and every node learns of appends (its own and other
// nodes') by reading the store after its cached head. See docs/architecture.md, "Several nodes".

namespace holdfast::relay {

void session_table::live_added(const std::string& session) {
    if (live_listener_) live_listener_(session, true);
}

void session_table::live_removed(const std::string& session) {
    if (live_listener_) live_listener_(session, false);
}

std::vector<std::string> session_table::live_sessions() const {
    std::vector<std::string> sessions;
    sessions.reserve(live_.size());
    for (const auto& [session, state] : live_) sessions.push_back(session);
    return sessions;
}

void session_table::on_store_appended(const std::string& session, std::uint64_t serial, std::uint64_t epoch) {
    auto it = live_.find(session);
    if (it == live_.end()) return;  // nobody follows it here (any more)
    if (epoch != 0 && epoch != it->second.info.epoch) {
        catch_up(session, it->second, 0);  // recreated: the store's own view decides
        return;
    }
    if (serial != 0 && serial <= it->second.info.head_serial) return;  // already fanned out
    catch_up(session, it->second, serial);
}

void session_table::catch_up(const std::string& session, session_state& state, std::uint64_t serial,
                             std::uint64_t own, std::vector<relay_event>* follow_ups) {
    if (serial == 0) {
        auto loaded = store_.load(session);
        if (!loaded) {
            ++metrics_.store_failures_total;
            return;
        }
        session_info now;
        if (loaded.value()) {
            now = *loaded.value();
        } else {
            // Followed here but gone from the store (a flushed Redis): a new incarnation.
            auto created = store_.create(session);
            if (!created) {
                ++metrics_.store_failures_total;
                return;
            }
            now = created.value();
        }
        if (now.epoch != state.info.epoch) {
            // Our subscribers hold serials of an incarnation that no longer exists: close them so
            // they re-attach, get the new epoch and reset (the client's existing epoch rule).
            for (const auto& [connection, sub] : state.subscribers) {
                out_.close(connection, close_directive{close_status::session_reset, "session_reset", true},
                           std::make_shared<const std::string>(proto::encode(proto::error_frame{
                               static_cast<std::uint32_t>(errc::store_failure),
                               "the session was recreated in the store (new epoch): attach again", session, {}, {}})));
            }
            state.info = now;
            controls_.erase(session);
            return;
        }
        serial = now.head_serial;
    }
    session_controls* controls = controls_for(session, state.info.head_serial);
    const std::uint64_t head_before = state.info.head_serial;
    while (state.info.head_serial < serial) {
        const std::uint64_t behind = serial - state.info.head_serial;
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(config_.max_batch_events, behind));
        auto events = store_.read(session, state.info.head_serial, want);
        if (!events) {
            ++metrics_.store_failures_total;
            return;  // the next notification or append tries again from the same head
        }
        if (events->empty()) return;
        for (const proto::event& e : *events) {
            if (controls) controls->observe(e, e.serial == own ? follow_ups : nullptr);
        }
        state.info.head_serial = events->back().serial;
        fan_out(session, state, std::move(events).value());
    }
    if (controls && state.info.head_serial != head_before) {
        // Messages opened through other nodes: this node takes a lease for their owners too
        // (relay_core keeps it alive while the owner's node renews its presence), so that if that
        // node dies, the messages still end as agent_lost.
        for (open_message_owner& m : controls->lease_candidates()) {
            rebuilt_.push_back(rebuilt_owner{session, std::move(m.producer_id), std::move(m.agent)});
        }
    }
}

result<append_reply> session_table::append_shared(const append_input& input) {
    session_state scratch;
    auto found = find_or_load(input.session, true, scratch);  // a live session is caught up here
    if (!found) {
        ++metrics_.store_failures_total;
        return found.err();
    }
    session_state& state = *found.value();
    const bool live = &state != &scratch;
    // Only a followed session's control state is kept current (by catch_up); another's may have
    // missed other nodes' events, so it is rebuilt from the log.
    if (!live) controls_.erase(input.session);
    session_controls* controls = controls_for(input.session, state.info.head_serial);
    const bool sequenced = !input.producer_id.empty() && input.producer_seq != 0;

    // A retried outcome must get its ack, not a refusal from the state it already changed.
    if (sequenced && controls && input.kind == "control.outcome") {
        auto earlier = store_.find_producer(input.session, input.producer_id, input.producer_epoch, input.producer_seq);
        if (!earlier) {
            ++metrics_.store_failures_total;
            return earlier.err();
        }
        if (earlier.value()) {
            ++metrics_.appends_deduplicated_total;
            return append_reply{*earlier.value(), state.info.epoch, true};
        }
    }
    auto msg_id = control_target(controls, input);
    if (!msg_id) return msg_id.err();

    stored_event stored;
    stored.event = proto::event{0, clock_(), input.producer_id, input.kind, std::move(msg_id).value(), input.agent,
                                input.payload};
    stored.producer_seq = input.producer_seq;
    stored.producer_epoch = input.producer_epoch;
    auto assigned = store_.append_assigning(input.session, stored);
    if (!assigned) {
        count_refusal(assigned.err().code);
        return assigned.err();
    }
    const append_reply reply{assigned->serial, state.info.epoch, assigned->duplicate};
    if (assigned->duplicate) {
        ++metrics_.appends_deduplicated_total;
        return reply;
    }
    count_appended(input, reply.serial);
    std::vector<relay_event> follow_ups;
    if (live) {
        if (reply.serial == state.info.head_serial + 1) {
            // Nobody appended in between: fan out what we hold instead of reading it back.
            stored.event.serial = reply.serial;
            if (controls) controls->observe(stored.event, &follow_ups);
            state.info.head_serial = reply.serial;
            fan_out(input.session, state, {std::move(stored.event)});
        } else {
            catch_up(input.session, state, reply.serial, reply.serial, &follow_ups);
        }
    } else if (controls) {
        stored.event.serial = reply.serial;
        controls->observe(stored.event, &follow_ups);
    }
    for (relay_event& e : follow_ups) append_relay(input.session, std::move(e));
    if (reply.serial == 1 && input.session != sessions_index) announce(input.session);
    return reply;
}

} // namespace holdfast::relay
