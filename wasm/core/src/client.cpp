// client_core: connection-level client logic. Layer: portable core, sans-I/O.
// Frames go out in protocol order on each (re)connect: hello, one attach per followed session
// (each resuming from its own last serial), then the outbox in call order. The relay
// deduplicates by (producer_id, producer_epoch, producer_seq), so resending it is always safe;
// sequences are per session so the relay can tell a retry from a skipped publish.
#include "holdfast/client.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/detail/same_text.hpp"
#include "holdfast/event_json.hpp"
#include "holdfast/json.hpp"
#include "holdfast/token_expiry.hpp"

#include <algorithm>

namespace holdfast::client {

/// A session's events rendered for JS as they are delivered, written out by take_updates_json
/// (client.hpp, "events"): they arrive as views into the relay's message, which do not outlive
/// its handling, so nothing of them is kept but this text and its two tables. The tables outlive
/// a take: JS keeps its copy, and a take sends only the entries added since the last one.
class client_core::event_feed {
public:
    bool empty() const noexcept { return count_ == 0; }
    /// About the bytes write() adds.
    std::size_t size_hint() const noexcept {
        return empty() ? 0 : 64 + text_.size() + 32 * (strings_.size() - strings_sent_ + producers_.size() - producers_sent_);
    }
    void append(std::span<const proto::event_view> events);
    /// The entry's keys.
    void write(json::object_writer& update) const;
    /// Moves the events' numbers to the end of `columns` and empties the feed: done once the
    /// whole entry is written, so a take that fails midway leaves text and numbers together.
    void take_into(std::string& columns);
    /// The take is out whole: JS holds the tables as they are now. Not done per entry, since a
    /// take that fails after this entry reaches JS as nothing: the entries would then be counted
    /// as held and never sent.
    void tables_sent();
    /// Empties the feed and its tables: the next take's tables start again at 0.
    void clear();

private:
    std::size_t string_index(std::size_t& last, std::string_view text);
    std::size_t producer_index(const proto::event_view& e);

    std::string text_;     // the payloads, comma-separated
    std::string columns_;  // [ts, kind, msgId, producer] per event, as doubles
    std::vector<std::string> strings_;  // kinds and message ids
    std::vector<std::pair<std::string, std::string>> producers_;  // [producerId, agent]
    std::size_t strings_sent_ = 0, producers_sent_ = 0;  // the entries JS holds already
    std::size_t last_kind_ = 0, last_msg_id_ = 0, last_producer_ = 0;
    std::uint64_t serial_from_ = 0;
    std::size_t count_ = 0;
};

struct client_core::followed {
    explicit followed(std::string id) : log(std::move(id)) {}
    session log;
    conversation conv;
    activity act;
    std::unique_ptr<history> store;  // null without storage, or after storage failed
    event_feed events_out;
    std::vector<std::size_t> changed_out;  // message indices, deduplicated when rendered
    /// Per message index, the text JS holds: its length and the message's text_replacements when
    /// it was sent (length npos: not sent). A message whose text only grew goes as "textAppend".
    struct text_held {
        std::size_t length = static_cast<std::size_t>(-1);
        std::uint32_t replacements = 0;
    };
    std::vector<text_held> texts_held;
    std::vector<std::string> problems_out;
    std::vector<incoming_control> incoming_out;
    bool agents_out = false;
    bool reset_out = false;
    bool continuity_lost_out = false;  // with reset_out: the relay's retention dropped events we lacked
    bool state_reported = false;
    session_state reported_state = session_state::connecting;
    std::uint64_t reported_serial = 0;  // events not rendered still move lastSerial
    bool render_events = true;          // someone listens for the events (render_events())

    bool has_updates() const {
        return !events_out.empty() || !changed_out.empty() || !problems_out.empty() || !incoming_out.empty() ||
               agents_out || reset_out || continuity_lost_out || !state_reported || reported_state != log.state() ||
               reported_serial != log.last_serial();
    }
};

namespace {

void append_error_fields(const error& err, json::object_writer& object) {
    object.number("code", static_cast<unsigned>(err.code)).string("name", to_string(err.code)).string("message", err.detail);
}

/// The rules a publish and a control share; returns the payload as msgpack.
result<std::string> validate_write(std::string_view session_id, const char* verb_field, std::string_view verb,
                                   std::string_view payload_json) {
    if (!is_valid_session_id(session_id)) return make_error(errc::invalid_session_id, std::string(session_id));
    if (is_reserved_session_id(session_id)) return make_error(errc::forbidden, "reserved session " + std::string(session_id));
    if (verb.empty()) return make_error(errc::missing_field, verb_field);
    if (payload_json.empty()) return std::string{};
    // The relay refuses a deeper payload, and a refused publish would leave a gap in this
    // producer's sequence.
    return json::to_msgpack(payload_json, {proto::max_payload_depth});
}

} // namespace

client_core::client_core(client_config config)
    : config_(std::move(config)), backoff_(config_.backoff, config_.random_seed) {
    if (config_.storage && config_.adopt_stored_producer) load_producer();
}

client_core::~client_core() = default;

client_core::followed* client_core::find(std::string_view id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

const session* client_core::find_session(std::string_view id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second->log;
}

const conversation* client_core::find_conversation(std::string_view id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second->conv;
}

void client_core::send(std::string frame) { frames_out_.push_back(std::move(frame)); }

result<ok_t> client_core::open_session(std::string_view session_id) {
    if (!is_valid_session_id(session_id)) return make_error(errc::invalid_session_id, std::string(session_id));
    if (find(session_id)) return ok_t{};
    auto entry = std::make_unique<followed>(std::string(session_id));
    if (config_.storage) {
        // Loaded before any attach: the app renders history while the link is still opening,
        // and the attach then asks only for the tail.
        if (auto opened = config_.storage->open(session_id, now_ms_)) {
            entry->store = std::move(opened).value();
            entry->store->restore_into(entry->conv);
            entry->log.restore(entry->store->epoch(), entry->store->last_serial());
            for (std::size_t i = 0; i < entry->conv.messages().size(); ++i) entry->changed_out.push_back(i);
            entry->problems_out = entry->store->problems();
            persist_out_ = true;
        } else {
            report(opened.err());
        }
    }
    if (connected_) send(proto::encode(entry->log.make_attach()));
    sessions_.emplace(std::string(session_id), std::move(entry));
    if (config_.storage) enforce_retention();
    return ok_t{};
}

void client_core::close_session(std::string_view session_id) {
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    if (connected_) send(proto::encode(proto::detach{std::string(session_id)}));
    sessions_.erase(it);
}

void client_core::render_events(std::string_view session_id, bool on) {
    followed* entry = find(session_id);
    if (!entry) return;
    entry->render_events = on;
    if (!on) entry->events_out.clear();  // no one is left to hear the ones not taken yet
}

std::uint32_t client_core::intern_stream(std::string_view producer_id, std::string_view session_id) {
    auto producer = stream_ids_.find(producer_id);
    if (producer == stream_ids_.end()) producer = stream_ids_.try_emplace(std::string(producer_id)).first;
    auto& by_session = producer->second;
    auto it = by_session.find(session_id);
    if (it != by_session.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(streams_.size());
    streams_.push_back(stream_name{std::string(producer_id), std::string(session_id)});
    by_session.emplace(std::string(session_id), id);
    return id;
}

std::optional<std::uint32_t> client_core::find_stream(std::string_view producer_id, std::string_view session_id) const {
    auto producer = stream_ids_.find(producer_id);
    if (producer == stream_ids_.end()) return std::nullopt;
    auto it = producer->second.find(session_id);
    if (it == producer->second.end()) return std::nullopt;
    return it->second;
}

std::uint64_t client_core::enqueue(std::uint32_t stream, std::uint64_t producer_seq, std::string frame) {
    if (connected_) send(frame);
    const std::uint64_t request = next_request_++;
    request_by_seq_.emplace(sequence_key{stream, producer_seq}, request);
    outbox_.emplace(request, pending_publish{stream, producer_seq, std::move(frame)});
    producer_dirty_ = true;
    return request;
}

std::optional<std::uint64_t> client_core::settle(std::string_view producer_id, std::string_view session_id,
                                                 std::uint64_t producer_seq) {
    const auto stream = find_stream(producer_id, session_id);
    if (!stream) return std::nullopt;  // another producer's (a tab sharing the connection)
    auto it = request_by_seq_.find(sequence_key{*stream, producer_seq});
    if (it == request_by_seq_.end()) return std::nullopt;  // a duplicate answer to a resent publish
    return take_request(it);
}

std::uint64_t client_core::take_request(std::map<sequence_key, std::uint64_t>::iterator& it) {
    const std::uint64_t request = it->second;
    it = request_by_seq_.erase(it);
    outbox_.erase(request);
    producer_dirty_ = true;
    return request;
}

result<std::uint64_t> client_core::write(bool control, std::string_view session_id, std::string_view verb,
                                         std::string_view target, std::string_view payload_json) {
    auto payload = validate_write(session_id, control ? "action" : "kind", verb, payload_json);
    if (!payload) return payload.err();
    // The relay writes agent.* events itself and refuses them from clients; like the refusals
    // below, refused before a producer sequence is used (the message names the kind).
    if (!control && verb.starts_with("agent.")) return make_error(errc::forbidden, std::string(verb));
    // The relay refuses an event whose events frame (its strings, the agent and ~160 bytes around
    // them) passes its limit: refused here, before the sequence is used, since a refused sequence
    // fails every later publish of the session (a gap) and a frame over the limit fails the link.
    if (payload->size() + session_id.size() + verb.size() + target.size() + config_.client_id.size() +
            config_.agent.size() + 256 > max_frame_bytes_) {
        return make_error(errc::frame_too_large, {});
    }
    if (!written_seq_ || written_session_ != session_id) {
        // A stream of writes goes to one session: its sequence counter (never erased, so the
        // pointer holds) and stream number are found once per run, not per write.
        written_seq_ = &last_seq_by_session_.try_emplace(std::string(session_id), 0).first->second;
        written_stream_ = intern_stream(config_.client_id, session_id);
        written_session_ = session_id;
    }
    const std::uint64_t seq = ++*written_seq_;
    if (control) control_requests_.insert(next_request_);  // enqueue hands out this id
    return enqueue(written_stream_, seq,
                   proto::encode_write({control, session_id, config_.client_id, seq, verb, target, *payload, config_.producer_epoch}));
}

std::string client_core::encoded_hello() const {
    // What this client reads: bundles, packed events frames and ranged acks.
    return proto::encode(proto::hello{proto::protocol_version, config_.token, config_.client_id, config_.agent, true, true, true});
}

void client_core::on_transport_open() {
    connected_ = true;
    retry_pending_ = false;
    rx_since_tick_ = true;  // the handshake itself is traffic: the idle clock starts now
    ping_sent_ms_.reset();
    send(encoded_hello());
    for (auto& [id, entry] : sessions_) send(proto::encode(entry->log.make_attach()));
    for (const auto& [request, pending] : outbox_) send(pending.frame);
    resend_at_ms_ = 0;  // just resent
}

void client_core::set_token(std::string token) {
    config_.token = std::move(token);
    if (connected_) send(encoded_hello());
}

std::optional<std::uint64_t> client_core::token_refresh_delay_ms(std::uint64_t now_ms) const {
    auto expires = jwt_expiry_ms(config_.token);
    if (!expires) return std::nullopt;
    const std::uint64_t left = *expires > now_ms ? *expires - now_ms : 0;
    constexpr std::uint64_t margin = 30'000;
    const std::uint64_t delay = left > 2 * margin ? left - margin : left / 2;
    return std::max<std::uint64_t>(delay, 1000);
}

void client_core::on_transport_closed() {
    // A second report of the same loss before the host took the retry must not schedule two
    // reconnects. (Hosts report a WebSocket's loss from its close event only.)
    if (!connected_ && retry_pending_) return;
    connected_ = false;
    ping_sent_ms_.reset();
    frames_out_.clear();  // unsent frames belong to the dead link; the outbox keeps publishes
    bundle_frames_max_ = 0;  // the next relay says again whether it takes bundles
    for (auto& [id, entry] : sessions_) entry->log.on_transport_lost();
    retry_delay_ms_ = backoff_.next_delay_ms();
    retry_pending_ = true;
}

void client_core::send_ping(std::uint64_t now_ms) {
    send(proto::encode(proto::ping{next_ping_nonce_++}));
    ping_sent_ms_ = now_ms;
    rx_since_tick_ = false;  // only traffic after the ping answers it
}

void client_core::declare_link_dead() {
    close_link_out_ = true;
    on_transport_closed();
}

void client_core::on_tick(std::uint64_t now_ms) {
    now_ms_ = now_ms;
    if (!connected_) return;
    if (resend_at_ms_ != 0 && now_ms >= resend_at_ms_) {
        resend_at_ms_ = 0;
        for (const auto& [request, pending] : outbox_) send(pending.frame);  // duplicates are acked, not appended
    }
    if (rx_since_tick_) {
        rx_since_tick_ = false;
        last_rx_ms_ = now_ms;
        ping_sent_ms_.reset();
    }
    if (ping_sent_ms_) {
        if (now_ms - std::min(now_ms, *ping_sent_ms_) >= config_.heartbeat.timeout_ms) declare_link_dead();
        return;
    }
    if (now_ms - std::min(now_ms, last_rx_ms_) >= config_.heartbeat.interval_ms) send_ping(now_ms);
}

void client_core::on_wake(std::uint64_t now_ms) {
    if (!connected_) {
        connect_now_out_ = true;
        return;
    }
    if (!ping_sent_ms_) send_ping(now_ms);
}

void client_core::on_network_offline() {
    if (connected_) declare_link_dead();
}

void client_core::on_network_online(std::uint64_t now_ms) {
    backoff_.reset();  // the failures so far were the network's, not the relay's
    on_wake(now_ms);
}

void client_core::on_frame(std::string_view bytes) {
    rx_since_tick_ = true;
    // Events frames are read in place: their events are views into `bytes`, used before this returns.
    auto decoded = proto::decode_message_in_place(bytes);
    if (!decoded) {
        report(decoded.err());
        return;
    }
    for (auto& received : decoded.value()) {
        if (!received) {
            report(received.err());
        } else if (auto* batch = std::get_if<proto::event_batch_view>(&received.value())) {
            on_event_batch(batch->session, std::move(batch->events));
        } else {
            handle(std::move(std::get<proto::frame>(received.value())));
        }
    }
}

void client_core::handle(proto::frame&& f) {
    std::visit(
        [&](auto& frame) {
            using T = std::decay_t<decltype(frame)>;
            if constexpr (std::is_same_v<T, proto::welcome>) {
                backoff_.reset();
                bundle_frames_max_ = frame.limits.max_bundle_frames.value_or(0);
                max_frame_bytes_ = frame.limits.max_frame_bytes;
                bundle_bytes_max_ = std::min<std::size_t>(256u << 10, max_frame_bytes_);
            } else if constexpr (std::is_same_v<T, proto::attached>) {
                on_attached(frame);
            } else if constexpr (std::is_same_v<T, proto::event_batch>) {
                // The plain form (a relay that does not pack): viewed while `frame` lives.
                std::vector<proto::event_view> views(frame.events.size());
                for (std::size_t i = 0; i < views.size(); ++i) views[i] = proto::view_of(frame.events[i]);
                on_event_batch(frame.session, std::move(views));
            } else if constexpr (std::is_same_v<T, proto::ack>) {
                on_ack(frame);
            } else if constexpr (std::is_same_v<T, proto::error_frame>) {
                on_error(frame);
            }
            // A pong: liveness is tracked by the heartbeat logic. Client frames never get here:
            // read_relay_frame refuses them (protocol_violation) before they are decoded.
        },
        f);
}

void client_core::on_attached(const proto::attached& f) {
    followed* entry = find(f.session);
    if (!entry) return;  // closed meanwhile
    const auto outcome = entry->log.on_attached(f);
    if (outcome != session::attach_outcome::continued) {
        entry->conv.clear();
        entry->act.clear();
        entry->agents_out = true;
        entry->events_out.clear();
        entry->changed_out.clear();
        entry->reset_out = true;
    }
    if (outcome == session::attach_outcome::continuity_lost) {
        entry->continuity_lost_out = true;
        if (entry->store) {
            // The stored copy ends where the relay's retained log no longer continues: drop it;
            // this session goes on from memory until it is opened again.
            (void)entry->store->clear();
            entry->store.reset();
            persist_out_ = true;
        }
    }
    if (entry->store) {
        // A different epoch than the stored one drops the stored log: the replay rebuilds it.
        if (auto adopted = entry->store->set_epoch(f.epoch); !adopted) {
            report(adopted.err());
            entry->store.reset();
        }
        persist_out_ = true;
    }
}

void client_core::on_event_batch(std::string_view session_id, std::vector<proto::event_view>&& events) {
    followed* entry = find(session_id);
    if (!entry) return;
    auto outcome = entry->log.on_events(std::move(events));
    if (entry->store && !outcome.deliver.empty()) {
        if (auto stored = entry->store->append(std::span<const proto::event_view>(outcome.deliver)); !stored) {
            // Keep delivering from memory; a broken store must not stop the session.
            report(stored.err());
            entry->store.reset();
        }
        persist_out_ = true;
    }
    for (const auto& e : outcome.deliver) {
        const std::size_t index = entry->conv.apply(e);
        // A stream changes one message event after event: listed once per run, not per event.
        if (index != conversation::npos && (entry->changed_out.empty() || entry->changed_out.back() != index)) {
            entry->changed_out.push_back(index);
        }
        entry->act.apply(e, config_.client_id);
    }
    if (entry->render_events) entry->events_out.append(outcome.deliver);
    entry->agents_out |= entry->act.take_agents_changed();
    for (auto& in : entry->act.take_incoming()) entry->incoming_out.push_back(std::move(in));
    take_control_outcomes(*entry);
    if (outcome.gap && connected_) {
        // Repair by re-attaching from the last serial held: the relay replays the hole in order.
        send(proto::encode(proto::detach{entry->log.id()}));
        send(proto::encode(entry->log.make_attach()));
    }
}

void client_core::on_ack(const proto::ack& f) {
    // Acks of other producers (tabs sharing this connection) find no request here.
    const auto stream = find_stream(f.producer_id, f.session);
    if (!stream) return;
    // A range (count) is walked over what this client still waits for: its length costs nothing.
    const std::uint64_t count = f.count.value_or(1);
    for (auto it = request_by_seq_.lower_bound(sequence_key{*stream, f.producer_seq});
         it != request_by_seq_.end() && it->first.first == *stream && it->first.second - f.producer_seq < count;) {
        const std::uint64_t serial = f.serial + (it->first.second - f.producer_seq);
        on_acked(f.session, take_request(it), serial);
    }
}

void client_core::on_acked(std::string_view session_id, std::uint64_t request, std::uint64_t serial) {
    if (!acks_out_.empty() && acks_out_.back().request + acks_out_.back().count == request &&
        acks_out_.back().serial + acks_out_.back().count == serial) {
        ++acks_out_.back().count;
    } else {
        acks_out_.push_back({request, serial, 1});
    }
    if (control_requests_.erase(request) == 0) return;
    // The outcome may be known already: it overtook the ack, or (a control resent after a
    // reload, acked with its first serial) it was stored with the history before the reload.
    const followed* entry = find(session_id);
    if (const control_result* known = entry ? entry->conv.outcome_of(serial) : nullptr) {
        controls_out_.push_back({request, *known});
    } else {
        control_by_serial_[control_key{std::string(session_id), serial}] = request;
    }
}

void client_core::take_control_outcomes(followed& entry) {
    for (auto& result : entry.act.take_outcomes()) {
        // Keyed by session too: serials are per session, so serial S of another session names
        // another control.
        auto waiting = control_by_serial_.find(control_key{entry.log.id(), result.control_serial});
        if (waiting == control_by_serial_.end()) continue;
        controls_out_.push_back({waiting->second, std::move(result)});
        control_by_serial_.erase(waiting);
    }
}

void client_core::on_error(const proto::error_frame& f) {
    error err{static_cast<errc>(f.code), f.message};
    const std::string& producer = f.producer_id ? *f.producer_id : config_.client_id;
    if (f.session && f.producer_seq && keep_for_resend(err.code, producer, *f.session, *f.producer_seq)) {
        // The relay could not store it now (its shared store is down): it stays in the outbox and
        // goes again, in order, shortly; the app hears of the trouble, not of a loss.
        if (resend_at_ms_ == 0) resend_at_ms_ = now_ms_ + resend_delay_ms;
        report(std::move(err));
        return;
    }
    if (f.session && f.producer_seq) {
        if (auto request = settle(producer, *f.session, *f.producer_seq)) {
            rejects_out_.push_back(reject{*request, std::move(err)});
            return;
        }
    }
    // Another producer's rejection (a tab sharing this connection) is that tab's business.
    if (producer != config_.client_id) return;
    report(std::move(err));
}

bool client_core::keep_for_resend(errc code, std::string_view producer_id, std::string_view session_id,
                                  std::uint64_t producer_seq) const {
    const auto stream = find_stream(producer_id, session_id);
    if (!stream) return false;
    const auto mine = request_by_seq_.find(sequence_key{*stream, producer_seq});
    if (mine == request_by_seq_.end()) return false;
    if (code == errc::store_failure) return true;
    // A gap behind an earlier publish of this producer that is still waiting (refused for a store
    // failure): the in-order resend fills it.
    if (code != errc::sequence_gap) return false;
    const auto first = request_by_seq_.lower_bound(sequence_key{*stream, 0});
    return first != mine && first->first.first == *stream;
}

void client_core::report(error err) { errors_out_.push_back(std::move(err)); }

std::vector<std::string> client_core::take_frames() { return std::exchange(frames_out_, {}); }

std::vector<std::string> client_core::bundle_for_relay(std::vector<std::string> frames) const {
    if (bundle_frames_max_ < 2) return frames;
    return proto::bundle_frames(std::move(frames), proto::bundle_limits{bundle_frames_max_, bundle_bytes_max_});
}

namespace {

/// Writes `key`: [items...] with `write(item, out)` per item; nothing at all for no items (the
/// update JSON leaves empty lists out).
template <class Items, class Write>
void append_list(json::object_writer& object, const char* key, const Items& items, Write&& write) {
    if (items.empty()) return;
    std::string& out = object.begin(key);
    out += '[';
    bool first = true;
    for (const auto& item : items) {
        if (!first) out += ',';
        first = false;
        write(item, out);
    }
    out += ']';
}

/// What `table` holds past `sent` (the entries JS's copy lacks) as the list `key`, after their
/// first index as `base_key` (left out when 0); nothing when JS holds them all. append_list over
/// a subspan would say the same, but its instantiation for spans cost the core 113 bytes.
template <class Table, class Write>
void append_added(json::object_writer& object, const char* key, const char* base_key, const Table& table,
                  std::size_t sent, Write&& write) {
    if (sent == table.size()) return;
    if (sent) object.number(base_key, sent);
    std::string& out = object.begin(key);
    for (std::size_t i = sent; i < table.size(); ++i) {
        out += i > sent ? ',' : '[';
        write(table[i], out);
    }
    out += ']';
}

} // namespace

/// The events as their payloads in one array, their numbers beside it in event_columns(): four
/// doubles per event [ts, kind, msgId, producer], kind and msgId indexing the session's string
/// table and producer its producer table ([producerId, agent]). A stream's events repeat their
/// kind, message id and producer, so each is written once instead of once per event, and
/// JSON.parse makes no string, number or array per event for them: JS reads the numbers from a
/// typed array (the core prints none) and builds the event objects (Session.js). The tables last
/// from take to take: an entry carries only what was added ("strings" from "stringBase",
/// "producers" from "producerBase"; a base left out is 0, and JS cuts its table there), so a live
/// event, alone in its take, carries neither table.
/// Serials are implied: the events delivered since the last take are consecutive (a session
/// delivers last + 1 only, and a reset empties the feed), so "serialFrom" (the first one's
/// serial) stands for all of them.
// Table searches are bounded, so a batch of many writers or messages stays linear: a value not
// found gets a new entry even if it is further up (the tables allow repeats). Searched are the
// entry the previous event used (a stream hits it every time), the most recent entries (a
// replay's current messages) and the first ones (kinds and writers come early).
constexpr std::size_t recent_searched = 64;
constexpr std::size_t first_searched = 16;

template <class Table, class Same>
std::size_t search_table(const Table& table, std::size_t last, const Same& same) {
    const std::size_t n = table.size();
    if (last < n && same(table[last])) return last;
    for (std::size_t back = 1; back <= std::min(n, recent_searched); ++back) {
        if (same(table[n - back])) return n - back;
    }
    for (std::size_t i = 0; i < std::min(n, first_searched); ++i) {
        if (same(table[i])) return i;
    }
    return n;
}

std::size_t client_core::event_feed::string_index(std::size_t& last, std::string_view text) {
    last = search_table(strings_, last, [text](const std::string& s) { return detail::same_text(s, text); });
    if (last == strings_.size()) strings_.emplace_back(text);
    return last;
}

std::size_t client_core::event_feed::producer_index(const proto::event_view& e) {
    last_producer_ = search_table(producers_, last_producer_, [&e](const std::pair<std::string, std::string>& p) {
        return detail::same_text(p.first, e.producer_id) && detail::same_text(p.second, e.agent);
    });
    if (last_producer_ == producers_.size()) producers_.emplace_back(e.producer_id, e.agent);
    return last_producer_;
}

// Not inlined into its caller (here and at the link, see wasm/bindings/CMakeLists.txt): in the
// page, V8 moves a function to its optimizing tier once its loops have run enough and compiles it
// whole on a background thread. This loop is the hot part of a replay; inlined, it took its
// caller along (9 KB, 10-17 ms of compilation during a catch-up).
[[gnu::noinline]] void client_core::event_feed::append(std::span<const proto::event_view> events) {
    // A packed frame names its producers from one table, so its events' views share the table's
    // bytes: the same pointers mean the same producer, found without comparing its id again. The
    // views all point into one message, alive for this call, so equal pointers are equal texts.
    const proto::event_view* seen = nullptr;
    std::size_t seen_producer = 0;
    const auto same_views = [](std::string_view a, std::string_view b) { return a.data() == b.data() && a.size() == b.size(); };
    for (const proto::event_view& e : events) {
        if (!seen || !same_views(e.producer_id, seen->producer_id) || !same_views(e.agent, seen->agent)) {
            seen_producer = producer_index(e);
            seen = &e;
        }
        if (count_++ == 0) {
            serial_from_ = e.serial;
        } else {
            text_ += ',';
        }
        // The numbers as doubles (a ts in ms is exact up to 2^53), as bytes in a string (whose
        // append every path already has: a vector<double> shipped ~1 kB more code in the SDK).
        const double row[4] = {static_cast<double>(e.ts), static_cast<double>(string_index(last_kind_, e.kind)),
                               static_cast<double>(string_index(last_msg_id_, e.msg_id)),
                               static_cast<double>(seen_producer)};
        columns_.append(reinterpret_cast<const char*>(row), sizeof row);
        if (!json::append_json(e.payload, text_)) text_ += "null";
    }
}

void client_core::event_feed::write(json::object_writer& update) const {
    if (empty()) return;
    update.number("serialFrom", serial_from_);
    std::string& out = update.begin("events");
    out += '[';
    out += text_;
    out += ']';
    append_added(update, "strings", "stringBase", strings_, strings_sent_, json::append_string);
    append_added(update, "producers", "producerBase", producers_, producers_sent_,
                 [](const std::pair<std::string, std::string>& producer, std::string& table) {
                     table += '[';
                     json::append_string(producer.first, table);
                     table += ',';
                     json::append_string(producer.second, table);
                     table += ']';
                 });
}

// Message ids make a new string per message: past these sizes the tables start again at 0 (the
// next take sends them anew), so a long session does not hold every id it ever saw.
constexpr std::size_t strings_kept = 256;
constexpr std::size_t producers_kept = 64;

void client_core::event_feed::take_into(std::string& columns) {
    // One session's events (the usual case) hand their buffer over instead of copying it.
    if (columns.empty()) {
        columns.swap(columns_);
    } else {
        columns += columns_;
    }
    // A catch-up's text is let go; a live stream's few bytes keep their buffer for the next take.
    if (text_.capacity() > (64u << 10)) std::string().swap(text_);
    text_.clear();
    if (columns_.capacity() > (64u << 10)) std::string().swap(columns_);
    columns_.clear();
    serial_from_ = 0;
    count_ = 0;
}

void client_core::event_feed::tables_sent() {
    if (strings_.size() > strings_kept || producers_.size() > producers_kept) {
        clear();
        return;
    }
    strings_sent_ = strings_.size();
    producers_sent_ = producers_.size();
}

void client_core::event_feed::clear() {
    *this = event_feed();
}

bool client_core::has_updates() const { return any_session_updates() || batch_updates(); }

bool client_core::batch_updates() const {
    return (producer_dirty_ && config_.storage) || !acks_out_.empty() || !rejects_out_.empty() || !errors_out_.empty() ||
           retry_pending_ || close_link_out_ || connect_now_out_ || persist_out_ || !evicted_out_.empty() ||
           !controls_out_.empty();
}

bool client_core::any_session_updates() const {
    return std::any_of(sessions_.begin(), sessions_.end(), [](const auto& entry) { return entry.second->has_updates(); });
}

std::string client_core::take_updates_json() {
    if (producer_dirty_) save_producer();  // before persist is reported (see client.hpp)
    const bool any_session = any_session_updates();
    // The last take's columns are let go here (they were valid until now); a catch-up's too.
    if (event_columns_.capacity() > (64u << 10)) std::string().swap(event_columns_);
    event_columns_.clear();
    if (!any_session && !batch_updates()) return {};
    std::string out;
    // One allocation for the whole batch, not a regrowth every few events.
    std::size_t estimate = 256;
    for (const auto& [id, entry] : sessions_) {
        estimate += entry->events_out.size_hint();
    }
    out.reserve(estimate);
    // What is empty, false or unchanged is left out, not written as [] or false: a live event
    // arrives alone, and the keys around it were most of what JS had to parse for it.
    json::object_writer batch(out);
    if (any_session) batch.begin("sessions") += '[';
    bool first_session = true;
    for (auto& [id, entry] : sessions_) {
        if (!entry->has_updates()) continue;
        if (!first_session) out += ',';
        first_session = false;
        json::object_writer update(out);
        update.string("id", id)
            .string("state", to_string(entry->log.state()))
            .number("lastSerial", entry->log.last_serial())
            .number("epoch", entry->log.epoch());
        if (entry->reset_out) update.boolean("reset", true);
        if (entry->continuity_lost_out) update.boolean("continuityLost", true);
        entry->events_out.write(update);
        auto& changed = entry->changed_out;
        const auto& messages = entry->conv.messages();
        if (changed.size() > 1) {
            // In conversation order, each once: marked in a table the size of the conversation
            // (a sort would ship its code to order a few indices). A live event changes one.
            std::vector<char> marked(messages.size());
            for (const std::size_t index : changed) {
                if (index < marked.size()) marked[index] = 1;
            }
            changed.clear();
            for (std::size_t i = 0; i < marked.size(); ++i) {
                if (marked[i]) changed.push_back(i);
            }
        }
        if (entry->reset_out) entry->texts_held.clear();  // JS drops its messages on a reset
        if (!changed.empty()) {
            update.begin("messages") += '[';
            auto& held = entry->texts_held;
            if (held.size() < messages.size()) held.resize(messages.size());
            for (std::size_t i = 0; i < changed.size(); ++i) {
                if (i) out += ',';
                const message& m = messages[changed[i]];
                followed::text_held& js = held[changed[i]];
                const bool grew = js.length != static_cast<std::size_t>(-1) && js.replacements == m.text_replacements &&
                                  js.length <= m.text.size();
                append_message_json(m, changed[i], out, grew ? std::optional<std::size_t>(js.length) : std::nullopt);
                js = {m.text.size(), m.text_replacements};
            }
            out += ']';
        }
        if (entry->agents_out) {
            // An empty list is news here (the last agent left), so it is written even when empty.
            std::string& agents_json = update.begin("agents");
            agents_json += '[';
            bool first_agent = true;
            for (const auto& agent : entry->act.agents()) {
                if (!first_agent) out += ',';
                first_agent = false;
                json::object_writer(out).string("name", agent.name).string("state", agent.state)
                    .string("messageId", agent.message_id).close();
            }
            out += ']';
        }
        append_list(update, "incoming", entry->incoming_out, [](const incoming_control& in, std::string& json_out) {
            json::object_writer(json_out).number("serial", in.serial).string("action", in.action).string("target", in.target)
                .string("messageId", in.message_id).raw("payload", in.payload_json).close();
        });
        append_list(update, "corrupt", entry->problems_out, json::append_string);
        update.close();
        entry->events_out.take_into(event_columns_);
        entry->changed_out.clear();
        entry->problems_out.clear();
        entry->incoming_out.clear();
        entry->agents_out = false;
        entry->reset_out = false;
        entry->continuity_lost_out = false;
        entry->state_reported = true;
        entry->reported_state = entry->log.state();
        entry->reported_serial = entry->log.last_serial();
    }
    if (any_session) out += ']';
    append_list(batch, "acks", acks_out_, [](const ack_run& ack, std::string& json_out) {
        json::object_writer item(json_out);
        item.number("request", ack.request).number("serial", ack.serial);
        if (ack.count > 1) item.number("count", ack.count);  // requests and serials run on together
        item.close();
    });
    append_list(batch, "rejects", rejects_out_, [](const reject& r, std::string& json_out) {
        json::object_writer item(json_out);
        item.number("request", r.request);
        append_error_fields(r.err, item);
        item.close();
    });
    append_list(batch, "errors", errors_out_, [](const error& err, std::string& json_out) {
        json::object_writer item(json_out);
        append_error_fields(err, item);
        item.close();
    });
    if (retry_pending_) {
        json::object_writer retry(batch.begin("retry"));
        retry.number("attempt", backoff_.attempt()).number("delayMs", retry_delay_ms_).close();
    }
    if (close_link_out_) batch.boolean("closeLink", true);
    if (connect_now_out_ && !connected_) batch.boolean("connectNow", true);
    if (persist_out_) batch.boolean("persist", true);
    append_list(batch, "controls", controls_out_, [](const control_settled& c, std::string& json_out) {
        json::object_writer(json_out).number("request", c.request).string("outcome", c.result.outcome)
            .string("reason", c.result.reason).close();
    });
    append_list(batch, "evicted", evicted_out_, json::append_string);
    batch.close();
    acks_out_.clear();
    rejects_out_.clear();
    errors_out_.clear();
    retry_pending_ = false;  // reported once; the host now owns the timer
    close_link_out_ = false;
    connect_now_out_ = false;
    persist_out_ = false;
    evicted_out_.clear();
    controls_out_.clear();
    for (auto& [id, entry] : sessions_) entry->events_out.tables_sent();
    return out;
}

} // namespace holdfast::client
