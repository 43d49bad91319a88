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
    if (auto it = live_.find(session); it != live_.end()) return &it->second;
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
                                           std::uint64_t from_serial, std::uint64_t client_epoch) {
    session_state scratch;
    auto found = find_or_load(session, true, scratch);
    if (!found) return found.err();
    const session_info info = found.value()->info;
    out_.send(connection, proto::attached{session, info.epoch, info.head_serial});

    auto [it, inserted] = live_.try_emplace(session);
    if (inserted) {
        it->second.info = info;
        ++metrics_.live_sessions;
    }
    const std::uint64_t cursor = (client_epoch != 0 && client_epoch != info.epoch) ? 0 : from_serial;
    auto [sub, fresh] = it->second.subscribers.try_emplace(connection, subscriber{cursor, false});
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

/// An upper bound of one event's msgpack size: its strings and payload plus the keys, headers and
/// integers around them (87 bytes at most).
std::size_t encoded_size_bound(const proto::event& e) {
    return 96 + e.producer_id.size() + e.kind.size() + e.msg_id.size() + e.agent.size() + e.payload.bytes.size();
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
    std::size_t bytes = 64 + session.size();
    for (; keep < events->size(); ++keep) {
        const std::size_t size = encoded_size_bound((*events)[keep]);
        if (keep > 0 && bytes + size > config_.max_frame_bytes) break;
        bytes += size;
    }
    events->resize(keep);
    metrics_.events_replayed_total += keep;
    sub.cursor = events->back().serial;
    if (sub.cursor >= head) sub.live = true;  // from the next append on, fan-out reaches it
    out_.send_paced(connection, std::make_shared<const std::string>(
                                    proto::encode(proto::event_batch{session, std::move(events).value()})));
    return replay_step_result{true, sub.live};
}

void session_table::detach(connection_id connection, const std::string& session) {
    auto it = live_.find(session);
    if (it == live_.end()) return;
    it->second.subscribers.erase(connection);
    if (it->second.subscribers.empty()) {
        live_.erase(it);
        --metrics_.live_sessions;
    }
}

result<append_reply> session_table::append(const append_input& input) {
    return append_one(input);
}

result<append_reply> session_table::append_one(const append_input& input) {
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
            switch (verdict.err().code) {
            case errc::stale_epoch: ++metrics_.appends_fenced_total; break;
            case errc::sequence_gap: ++metrics_.sequence_gaps_total; break;
            default: ++metrics_.store_failures_total; break;
            }
            return verdict.err();
        }
        if (verdict.value()) {
            ++metrics_.appends_deduplicated_total;
            return append_reply{*verdict.value(), state.info.epoch, true};
        }
    }

    // After the dedup check, so a retried control or outcome is answered and changes nothing.
    std::string msg_id = input.msg_id;
    if (controls && input.kind == "control.outcome") {
        if (auto refused = controls->check_outcome(input.producer_id, input.agent, input.payload)) return *refused;
    } else if (controls && is_control_kind(input.kind)) {
        msg_id = controls->resolve_target(input.msg_id);
    }

    stored_event stored;
    stored.event = proto::event{state.info.head_serial + 1, clock_(), input.producer_id, input.kind,
                                std::move(msg_id),           input.agent, input.payload};
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
    ++metrics_.events_appended_total;
    if (stored.event.serial == 1) ++metrics_.sessions_started_total;
    const append_reply reply{stored.event.serial, state.info.epoch, false};
    if (input.kind == "control.outcome") {
        const std::string outcome = payload_string(input.payload, "outcome");
        if (outcome == "applied") ++metrics_.controls_applied_total;
        else if (outcome == "too_late") ++metrics_.controls_too_late_total;
        else if (outcome == "rejected") ++metrics_.controls_rejected_total;
    }
    std::vector<relay_event> follow_ups;
    if (controls) controls->observe(stored.event, &follow_ups);

    std::shared_ptr<const std::string> frame;  // encoded once, for the first live subscriber
    for (const auto& [connection, sub] : state.subscribers) {
        if (!sub.live) continue;  // still replaying: its cursor reaches this event later
        if (!frame) {
            frame = std::make_shared<const std::string>(
                proto::encode(proto::event_batch{input.session, {std::move(stored.event)}}));
        }
        out_.send(connection, frame);
    }
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

