// client_core: the whole client as a sans-I/O state machine — one connection to the relay, the
// sessions followed over it, their conversations, the outbox of unacknowledged publishes and the
// reconnect policy. Layer: portable core. The host (JS glue in the browser, a test natively)
// moves bytes in (on_frame), tells it about the link (on_transport_open/closed) and drains its
// outputs once per turn: frames to send and one JSON batch of updates for the app.
#pragma once
#include "holdfast/activity.hpp"
#include "holdfast/backoff.hpp"
#include "holdfast/conversation.hpp"
#include "holdfast/history_store.hpp"
#include "holdfast/result.hpp"
#include "holdfast/session.hpp"

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace holdfast::client {

/// Dead-link detection. Timers are hosts' business and may fire late (hidden tabs are throttled
/// to once a minute), so the rule only compares times seen at ticks: a ping goes out after
/// interval_ms without traffic, and the link is declared dead when a later tick finds it
/// unanswered for timeout_ms. Any received frame counts as an answer.
struct heartbeat_config {
    std::uint32_t interval_ms = 15'000;
    std::uint32_t timeout_ms = 10'000;
};

struct client_config {
    std::string client_id;  // unique per client instance; also its producer id
    std::string token;
    std::string agent;      // non-empty for agents
    /// The producer's incarnation; must grow across restarts of one client_id (hosts pass their
    /// start time in ms). The relay fences publishes from a lower epoch.
    std::uint64_t producer_epoch = 0;
    std::uint64_t random_seed = 1;
    backoff_config backoff;
    heartbeat_config heartbeat;
    /// Local history (owned by the host). When set, sessions load from it before the network
    /// answers and every delivered event is appended; the producer identity and unacknowledged
    /// publishes persist too, so a reload resends them unchanged.
    history_store* storage = nullptr;
    retention retention_limits;
    /// Adopt the unacknowledged publishes stored with the history: they are resent byte for byte
    /// under the producer that numbered them, and their acks settle here. The stored identity is
    /// not continued — new publishes use client_id and producer_epoch — because the stored copy
    /// may be behind what the relay appended under it, or its tab may still be alive (frozen).
    /// Only for the one tab that owns the storage from the start.
    bool adopt_stored_producer = true;
};

/// The producer's persisted state: the writer's identity and sequences (for the record: a new
/// page does not continue them) and the unacknowledged publishes, each under its own producer.
struct stored_sequence {
    std::string session;
    std::uint64_t last_seq = 0;
};
BOOST_DESCRIBE_STRUCT(stored_sequence, (), (session, last_seq))
struct stored_publish {
    std::string session;
    std::uint64_t producer_seq = 0;
    proto::raw_value frame;  // the encoded publish/control frame, itself one msgpack value
};
BOOST_DESCRIBE_STRUCT(stored_publish, (), (session, producer_seq, frame))
struct stored_producer {
    std::string producer_id;
    std::uint64_t producer_epoch = 0;
    std::vector<stored_sequence> sequences;
    std::vector<stored_publish> pending;
};
BOOST_DESCRIBE_STRUCT(stored_producer, (), (producer_id, producer_epoch, sequences, pending))

/// One event's numbers, as a native host reads them from client_core::event_columns().
struct event_numbers {
    std::uint64_t ts = 0;
    std::size_t kind = 0, msg_id = 0, producer = 0;  // indexes into the session's tables
};
/// The bytes of one event's numbers in event_columns().
inline constexpr std::size_t event_numbers_bytes = 4 * sizeof(double);
/// The numbers at byte `at` of `columns`, which must hold event_numbers_bytes from there. A ts is
/// exact up to 2^53 ms (JS reads the same doubles); one at or past 2^64, a relay's nonsense rounded
/// up, is the largest uint64 rather than undefined behaviour.
inline event_numbers event_numbers_at(std::string_view columns, std::size_t at) {
    double row[4];
    std::memcpy(row, columns.data() + at, sizeof row);
    const double ts = row[0];
    return {!(ts >= 0) ? 0 : ts >= 18446744073709551616.0 ? UINT64_MAX : static_cast<std::uint64_t>(ts),
            static_cast<std::size_t>(row[1]), static_cast<std::size_t>(row[2]), static_cast<std::size_t>(row[3])};
}

class client_core {
public:
    explicit client_core(client_config config);
    ~client_core();
    client_core(const client_core&) = delete;
    client_core& operator=(const client_core&) = delete;

    // ---- app calls ----------------------------------------------------------------------------
    /// Starts following a session (attaches now if connected, else on connect). Idempotent.
    result<ok_t> open_session(std::string_view session_id);
    void close_session(std::string_view session_id);
    /// Whether take_updates_json lists the session's events (on after open_session). A host with
    /// no one listening for them turns it off: the events are still applied (messages, agents,
    /// history, lastSerial), only not rendered. Turned on, it lists the events delivered from then on.
    void render_events(std::string_view session_id, bool on);
    /// Stops following the session and deletes its local history (privacy).
    void clear_session(std::string_view session_id);
    /// The host's storage refused a write (QuotaExceededError): evict the least recently used
    /// session not in use. Returns false when nothing could be evicted.
    bool on_storage_full();

    /// Queues a publish in the outbox and sends it when connected. Returns the request id that
    /// its ack or rejection will carry in the updates (call order; producer sequences are per
    /// session and internal).
    result<std::uint64_t> publish(std::string_view session_id, std::string_view kind,
                                  std::string_view msg_id, std::string_view payload_json) {
        return write(false, session_id, kind, msg_id, payload_json);
    }
    result<std::uint64_t> control(std::string_view session_id, std::string_view action,
                                  std::string_view target, std::string_view payload_json) {
        return write(true, session_id, action, target, payload_json);
    }
    /// A publish (kind, msg_id) or, with `control`, a control (action, target): one path, as the
    /// two differ only in three key names and in a control's outcome being reported.
    result<std::uint64_t> write(bool control, std::string_view session_id, std::string_view verb,
                                std::string_view target, std::string_view payload_json);

    // ---- transport ----------------------------------------------------------------------------
    void on_transport_open();

    /// Replaces the token sent in hello (capability tokens, docs/security.md). On a live link it
    /// is sent at once in a second hello, which the relay takes as a renewal: the connection,
    /// its sessions and their positions stay as they are. Otherwise the next connect uses it.
    void set_token(std::string token);

    /// How long the host should wait before fetching a fresh token: 30 s before the current
    /// token's `exp` (half its remaining life when that is shorter, at least 1 s); nullopt when
    /// the token is not a JWT with a numeric exp. The claims are read, not verified (the relay
    /// verifies).
    std::optional<std::uint64_t> token_refresh_delay_ms(std::uint64_t now_ms) const;
    /// The link is gone (closed, failed, or declared dead). The updates then carry a retry
    /// {attempt, delayMs}: the host reconnects after that delay.
    void on_transport_closed();
    /// One received binary message. Bad frames are reported in the updates' errors; never throws.
    void on_frame(std::string_view bytes);

    // ---- time and environment -----------------------------------------------------------------
    /// The host's periodic timer (any period ≤ the heartbeat's; lateness is tolerated). Drives
    /// pings and dead-link detection. A dead link yields "closeLink" in the updates: the host
    /// drops the socket without reporting it closed (the core already counts it closed, and a
    /// second report would schedule a second reconnect).
    void on_tick(std::uint64_t now_ms);
    /// The page became visible or was restored from the back/forward cache: the link may have
    /// died unnoticed (iOS kills background sockets silently). Checks it now, or reconnects now.
    void on_wake(std::uint64_t now_ms);
    /// The browser reports the network gone / back.
    void on_network_offline();
    void on_network_online(std::uint64_t now_ms);

    // ---- outputs, drained once per turn -------------------------------------------------------
    std::vector<std::string> take_frames();
    /// Frames about to go to the relay, grouped into bundles when the relay takes them (its
    /// welcome said so): pipelined publishes then leave in one message, the relay appends them in
    /// one turn and answers with one message of acks and fan-out. Whoever owns the socket calls it
    /// (the host, or the tab coordinator for the frames of every tab it carries).
    std::vector<std::string> bundle_for_relay(std::vector<std::string> frames) const;
    /// JSON: {"sessions":[{id,state,lastSerial,epoch,reset,continuityLost,events:[...],
    ///        producers:[...],messages:[...]}], "acks":[{request,serial,count?}] (count: a run,
    ///        request + i settled with serial + i),
    ///        "rejects":[{request,code,name,message}], "errors":[{code,name,message}],
    ///        "retry":{attempt,delayMs}, "closeLink":true, "connectNow":true, "persist":true,
    ///        "evicted":[ids], "controls":[{request,outcome,reason}]}; "" when nothing changed.
    ///        Only id, state, lastSerial and epoch are always in a session entry; every other key,
    ///        here and at the top, is left out when it would be empty or false.
    ///        A session entry may carry "agents":[{name,state,messageId}] (when they changed) and
    ///        "incoming":[{serial,action,target,messageId,payload}] (controls aimed at this
    ///        client's own messages).
    ///        connectNow: skip the retry delay. persist: local files changed, sync them.
    ///        A session entry may carry "corrupt":[what its history open had to cut].
    ///        It has no "events" while render_events is off for it. "events" holds the events'
    ///        payloads: the events are consecutive from the entry's "serialFrom", and their
    ///        numbers are in event_columns(), whose kind and msgId index the session's string
    ///        table and producer its producer table. Those tables last from take to take: an
    ///        entry carries what was added to them, "strings": [text, ...] from index
    ///        "stringBase" and "producers": [[producerId, agent], ...] from "producerBase" (a base
    ///        left out is 0; the reader cuts its table at the base, then appends). Either key is
    ///        left out when nothing was added; either table may repeat an entry.
    /// With storage, the persisted producer (see stored_producer) is rewritten here, at most once
    /// per call and only when publishes or acks changed it, before "persist" is reported: the host
    /// syncs storage only after that report, so writing once per drain loses nothing a write per
    /// publish would have kept, and an agent pipelining thousands of publishes no longer re-encodes
    /// the whole outbox for each one.
    std::string take_updates_json();
    /// The numbers of the events of the last take_updates_json, four per event [ts, kind,
    /// msgId, producer] (ts in ms, the others indexes into the session's string and producer
    /// tables, see take_updates_json), the entries' events one after the other in the order of "sessions", as the
    /// bytes of doubles in the machine's order: the browser reads them as numbers from its heap, so
    /// neither the core nor JSON.parse handles a number per event. Valid until the next
    /// take_updates_json.
    std::string_view event_columns() const noexcept { return event_columns_; }
    /// Whether take_updates_json would return anything now (a producer still to write counts:
    /// writing it reports "persist").
    bool has_updates() const;

    // ---- queries ------------------------------------------------------------------------------
    bool connected() const noexcept { return connected_; }
    /// The producer id of this client's publishes (resent adopted ones keep their own).
    const std::string& client_id() const noexcept { return config_.client_id; }
    const session* find_session(std::string_view id) const;
    const conversation* find_conversation(std::string_view id) const;
    std::size_t pending_publishes() const noexcept { return outbox_.size(); }

private:
    struct followed;
    class event_feed;
    struct pending_publish {
        std::uint32_t stream;  // index into streams_: (producer id, session)
        std::uint64_t producer_seq;
        std::string frame;  // encoded once; resent unchanged so the relay can deduplicate
    };
    struct reject {
        std::uint64_t request;
        error err;
    };
    struct control_settled {
        std::uint64_t request;
        control_result result;
    };

    /// What an ack or a publish error names, (producer id, session, producer sequence), with the
    /// (producer id, session) pair interned as a stream number: the outbox is looked up once per
    /// ack, and comparing integers there instead of two strings per map node was a tenth of a
    /// publisher's CPU. Ordered so that one stream's pending sequences are adjacent.
    using sequence_key = std::pair<std::uint32_t, std::uint64_t>;
    struct stream_name {
        std::string producer_id;
        std::string session;
    };
    /// A control's place in the log: (session, serial). Serials are per session.
    using control_key = std::pair<std::string, std::uint64_t>;

    followed* find(std::string_view id);
    bool any_session_updates() const;
    /// Anything for the batch beyond the session entries (acks, errors, flags...).
    bool batch_updates() const;
    void send(std::string frame);
    void handle(proto::frame&& f);
    void on_attached(const proto::attached& f);
    void on_event_batch(std::string_view session_id, std::vector<proto::event_view>&& events);
    /// The hello this client sends on a new link and to renew its token.
    std::string encoded_hello() const;
    void on_ack(const proto::ack& f);
    void on_acked(std::string_view session_id, std::uint64_t request, std::uint64_t serial);
    /// Forgets the request at `it` (answered) and moves `it` past it; returns the request.
    std::uint64_t take_request(std::map<sequence_key, std::uint64_t>::iterator& it);
    void on_error(const proto::error_frame& f);
    void report(error err);
    /// Whether an error answering a pending publish (producer, session, seq) leaves it in the outbox.
    bool keep_for_resend(errc code, std::string_view producer_id, std::string_view session_id,
                         std::uint64_t producer_seq) const;
    std::uint64_t enqueue(std::uint32_t stream, std::uint64_t producer_seq, std::string frame);
    /// The stream number of (producer, session), made on first use (own and adopted producers).
    std::uint32_t intern_stream(std::string_view producer_id, std::string_view session_id);
    /// The stream number, or nullopt when this client never published on it (another tab's).
    std::optional<std::uint32_t> find_stream(std::string_view producer_id, std::string_view session_id) const;
    void take_control_outcomes(followed& entry);
    std::optional<std::uint64_t> settle(std::string_view producer_id, std::string_view session_id,
                                        std::uint64_t producer_seq);
    void load_producer();
    void save_producer();
    void enforce_retention();
    void send_ping(std::uint64_t now_ms);
    void declare_link_dead();

    client_config config_;
    backoff backoff_;
    bool connected_ = false;
    std::uint64_t next_request_ = 1;
    std::map<std::string, std::unique_ptr<followed>, std::less<>> sessions_;
    std::map<std::uint64_t, pending_publish> outbox_;  // by request id: call order, so resends keep it
    std::map<sequence_key, std::uint64_t> request_by_seq_;  // own and adopted producers
    std::vector<stream_name> streams_;                      // by stream number; never shrinks (a few)
    std::map<std::string, std::map<std::string, std::uint32_t, std::less<>>, std::less<>> stream_ids_;
    /// The outbox or the sequences changed since the producer was last written (take_updates_json).
    bool producer_dirty_ = false;
    std::map<std::string, std::uint64_t, std::less<>> last_seq_by_session_;
    std::string written_session_;          // the last write's session, and its entries below
    std::uint64_t* written_seq_ = nullptr;  // in last_seq_by_session_
    std::uint32_t written_stream_ = 0;

    // heartbeat: only times seen at ticks are compared (see heartbeat_config)
    std::uint64_t last_rx_ms_ = 0;
    bool rx_since_tick_ = false;
    std::optional<std::uint64_t> ping_sent_ms_;
    std::uint64_t next_ping_nonce_ = 1;

    std::vector<std::string> frames_out_;
    std::size_t bundle_frames_max_ = 0;  // from the relay's welcome: 0 = send frames one by one
    std::size_t bundle_bytes_max_ = 256u << 10;
    std::size_t max_frame_bytes_ = 1u << 20;  // the relay's, from its welcome
    /// Acks to report: runs of consecutive requests with consecutive serials (a bundle's), one
    /// entry each, so JS parses one object per run rather than per publish.
    struct ack_run {
        std::uint64_t request, serial, count;
    };
    std::vector<ack_run> acks_out_;
    std::vector<reject> rejects_out_;
    // Controls resolve twice: the ack gives the control's serial in its session, then the
    // relay's control.outcome event naming that serial, in that session, gives the result. An
    // outcome seen before the ack (or before a reload) is in the session's conversation.
    std::set<std::uint64_t> control_requests_;
    std::map<control_key, std::uint64_t> control_by_serial_;  // acked, outcome not seen yet -> request
    std::vector<control_settled> controls_out_;
    std::vector<error> errors_out_;
    std::uint32_t retry_delay_ms_ = 0;
    bool retry_pending_ = false;
    bool close_link_out_ = false;
    bool connect_now_out_ = false;
    bool persist_out_ = false;
    std::vector<std::string> evicted_out_;
    std::string event_columns_;  // of the last take (event_columns())
    std::uint64_t now_ms_ = 0;
    /// Nonzero: resend the outbox at the first tick at or after this time (a publish was refused
    /// with a retryable store_failure).
    std::uint64_t resend_at_ms_ = 0;
    static constexpr std::uint64_t resend_delay_ms = 250;  // the last tick's time: history's "last used"
};

} // namespace holdfast::client
