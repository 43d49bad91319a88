// The sans-I/O relay: WebSocket frames, write completions and HTTP-level calls go in; frames to
// send and close directives come out (take_outputs). Layer: relay (sans-I/O), no sockets, no clock
// of its own (injected), single-threaded. The Beast shell and the deterministic simulator both
// drive this class; every protocol decision lives here or in session_table, never in a shell:
// including backpressure. The core knows each connection's queued bytes (what it emitted minus
// what on_sent reported written), paces replays by them, and closes a connection whose queue a
// live event or reply would take past relay_config::max_queued_bytes (error slow_consumer, close
// status 4008), leaving every other connection alone. It also keeps agents' presence and leases
// (lease_table): a closed agent connection's open messages are ended with error/agent_lost only
// when its producer has not come back by the deadline, checked by on_tick.
#pragma once
#include "holdfast/relay/access_token.hpp"
#include "holdfast/relay/lease_table.hpp"
#include "holdfast/relay/outbox.hpp"
#include "holdfast/relay/relay_types.hpp"
#include "holdfast/relay/session_table.hpp"
#include "holdfast/relay/store.hpp"
#include "holdfast/relay/token_bucket.hpp"

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::relay {

class relay_core {
public:
    /// `backing` must outlive the core. `clock` stamps events (ms since the Unix epoch).
    explicit relay_core(store& backing, relay_config config = {}, clock_ms clock = system_clock_ms);
    relay_core(const relay_core&) = delete;
    relay_core& operator=(const relay_core&) = delete;

    /// A WebSocket connection was accepted; it must send `hello` first.
    void on_open(connection_id connection);

    /// One complete binary WebSocket message from `connection`.
    void on_frame(connection_id connection, std::string_view bytes);

    /// The transport refused a message over max_frame_bytes before it was read whole (Beast fails
    /// the read): counted and answered like an oversized on_frame, then closed.
    void on_frame_too_large(connection_id connection);

    /// The connection is gone (closed by either side or failed): stop delivering to it. An agent's
    /// producer keeps its open messages for relay_config::agent_lease_ms from now.
    void on_close(connection_id connection);

    /// Time passed (`now`: ms since the Unix epoch, the clock's scale); the shell calls it every
    /// 250 ms. Expires agent leases whose deadline is <= now: their open messages get
    /// message.end{status: "error", reason: "agent_lost"}, their pending controls too_late, and
    /// the sessions the agent had attached agent.detached{reason: "lease_expired"}.
    void on_tick(std::uint64_t now);

    /// The shell finished writing `bytes` (whole frames, in output order) to `connection`: called
    /// from its write-completion handler. Releases more replay once the queue is below the low-water
    /// mark.
    void on_sent(connection_id connection, std::uint64_t bytes);

    /// HTTP POST of one event: validates, applies the producer rules, appends durably, fans out.
    /// Errors: invalid_session_id, forbidden (reserved session), missing_field (empty kind, or a
    /// producer id without a sequence), limit_exceeded (producer epoch or sequence >= 2^63),
    /// stale_epoch, sequence_gap, store_failure.
    result<append_reply> append_http(append_input input);

    /// HTTP GET of a range: events with serial > after_serial, at most `limit`. Never creates.
    result<read_reply> read_events(std::string_view session, std::uint64_t after_serial, std::size_t limit);

    /// Drains the outputs produced since the last call, in the order they must be performed.
    std::vector<outbound> take_outputs() { return out_.take(); }

    /// How long the shell should wait before reading `connection`'s next frame: the time its
    /// frames/s and bytes/s budgets need to get out of debt (0: read now). Pausing the read is
    /// the throttle: TCP backpressure slows the sender and nothing it sent is lost.
    std::uint64_t read_pause_ms(connection_id connection);

    /// HTTP requests: nullopt when `authorization` (the Authorization header's value, "Bearer
    /// <token>") allows `what` on `session`, or when auth is off; else unauthorized,
    /// token_expired or forbidden.
    std::optional<error> authorize_http(std::string_view authorization, std::string_view session, capability what);

    /// Bytes queued for `connection` and not yet reported written (for tests and diagnostics).
    std::uint64_t queued_bytes(connection_id connection) const { return out_.queued_bytes(connection); }

    /// A session's open messages, pending controls and presence (null: not loaded). For tests.
    const session_controls* controls(const std::string& session) const { return sessions_.controls(session); }

    // ---- shared store (several relay nodes; the shell's node_bus drives these) ---------------
    /// See session_table::set_live_listener.
    void set_live_listener(std::function<void(const std::string&, bool)> listener) {
        sessions_.set_live_listener(std::move(listener));
    }
    /// A notification that `session` got `serial` in the shared store (0: look): fans out what
    /// this node has not delivered yet.
    void on_store_appended(const std::string& session, std::uint64_t serial, std::uint64_t epoch = 0);
    std::vector<std::string> live_sessions() const { return sessions_.live_sessions(); }
    /// The store can serve requests (GET /healthz); `extra` is the shell's own verdict (the
    /// node bus's connection), false making the relay unhealthy too.
    bool healthy() { return store_healthy_extra_ && store_.healthy(); }
    void set_shell_healthy(bool healthy) { store_healthy_extra_ = healthy; }

    const relay_metrics& metrics() const noexcept { return metrics_; }
    const relay_config& config() const noexcept { return config_; }

private:
    struct connection_state {
        bool greeted = false;              // hello accepted
        bool closing = false;              // a close directive is out: ignore its frames
        std::string agent;                 // stamped on this connection's appends; non-empty: an agent
        bool packed = false;               // its hello asked for packed events frames
        bool ack_ranges = false;           // its hello reads an ack's count
        std::set<std::string> agent_sessions;  // attached as an agent (kept through close_connection)
        std::set<std::string> sessions;    // attached
        std::deque<std::string> replaying;  // attached sessions not yet live, in release order
        /// outbox::queued_total after each replay batch still unwritten: the window in flight.
        std::deque<std::uint64_t> replay_batch_ends;
        std::optional<token_claims> claims;  // from hello's token, when auth is on
        token_bucket frame_budget;           // frames per second
        token_bucket byte_budget;            // bytes per second
        bool throttle_reported = false;      // error{rate_limited} sent in this episode
    };

    void handle(connection_id id, connection_state& conn, proto::frame&& frame);
    void on_hello(connection_id id, connection_state& conn, const proto::hello& f);
    void on_attach(connection_id id, connection_state& conn, const proto::attach& f);
    void on_detach(connection_id id, connection_state& conn, const proto::detach& f);
    void on_append(connection_id id, const connection_state& conn, append_input&& input);
    /// Sends what a bundle's publishes held back: their fan-out, then their acks (one ack per run
    /// of consecutive producer_seq and serials, to a connection that reads ranges).
    void send_held();
    /// Charges one frame of `bytes` to the connection's budgets; false when it was closed for
    /// flooding past rate_debt_seconds.
    bool meter(connection_id id, connection_state& conn, std::size_t bytes, std::size_t frames);
    /// The answer to a hello (also to a renewing one): limits, and that bundles are taken.
    proto::welcome welcome_for(connection_id id) const;
    /// Verifies hello's token (auth on): false when the connection was refused and is closing.
    bool admit(connection_id id, connection_state& conn, const proto::hello& f);
    /// True when the token allows `what` on `session` (or auth is off); else error{forbidden}.
    bool permitted(connection_id id, const connection_state& conn, const std::string& session, capability what,
                   const append_input* append = nullptr);
    /// Closes `conn` with error{code} and 4401 (token missing, invalid or expired).
    void refuse_token(connection_id id, connection_state& conn, const error& why);
    /// Closes every connection whose token expired by `now` (they must renew: re-hello).
    void expire_tokens(std::uint64_t now);
    /// After every input: leases for owners found by session rebuilds, the lease gauge, and
    /// closing connections a fan-out overfilled.
    void settle();
    /// Releases replay batches while the connection's window and queue allow.
    void pump_replay(connection_id id, connection_state& conn);
    /// Closes every connection the outbox found over its bound during the last input.
    void shed_slow_consumers();
    /// Detaches everything and queues `last_frame` + the close; the connection stays known
    /// until on_close.
    void close_connection(connection_id id, connection_state& conn, close_directive how,
                          std::shared_ptr<const std::string> last_frame = nullptr);
    void reject(connection_id id, errc code, std::string message);
    void send_error(connection_id id, errc code, std::string message, std::optional<std::string> session = {},
                    std::optional<std::uint64_t> producer_seq = {}, std::optional<std::string> producer_id = {});
    /// Checks shared by WebSocket and HTTP appends.
    std::optional<error> validate(const append_input& input) const;

    /// Presence keys outlive the lease by this much: renewals every 250 ms tick must not let
    /// a live node's keys lapse between two ticks.
    static constexpr std::uint64_t presence_slack_ms = 1000;
    store& store_;
    bool store_healthy_extra_ = true;
    relay_config config_;
    relay_metrics metrics_;
    clock_ms clock_;
    outbox out_;
    session_table sessions_;
    /// Within a bundle (while sessions_ holds fan-out): acks not yet sent, runs merged (count) for
    /// connections that read ranges.
    std::vector<std::pair<connection_id, proto::ack>> held_acks_;
    lease_table leases_;
    std::map<connection_id, connection_state> connections_;
};

} // namespace holdfast::relay
