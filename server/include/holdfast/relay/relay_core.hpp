// The sans-I/O relay: WebSocket frames and HTTP-level calls go in; frames to send and close
// directives come out (take_outputs). Layer: relay (sans-I/O), no sockets, no clock of its own
// (injected), single-threaded. The Beast shell and the deterministic simulator both drive this
// class; every protocol decision lives here or in session_table, never in a shell.
#pragma once
#include "holdfast/relay/outbox.hpp"
#include "holdfast/relay/relay_types.hpp"
#include "holdfast/relay/session_table.hpp"
#include "holdfast/relay/store.hpp"

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

    /// The connection is gone (closed by either side or failed): stop delivering to it.
    void on_close(connection_id connection);

    /// HTTP POST of one event: validates, applies the producer rules, appends durably, fans out.
    /// Errors: invalid_session_id, forbidden (reserved session), missing_field (empty kind, or a
    /// producer id without a sequence), limit_exceeded (producer epoch or sequence >= 2^63),
    /// stale_epoch, sequence_gap, store_failure.
    result<append_reply> append_http(append_input input);

    /// HTTP GET of a range: events with serial > after_serial, at most `limit`. Never creates.
    result<read_reply> read_events(std::string_view session, std::uint64_t after_serial, std::size_t limit);

    /// Drains the outputs produced since the last call, in the order they must be performed.
    std::vector<outbound> take_outputs() { return out_.take(); }

    const relay_metrics& metrics() const noexcept { return metrics_; }
    const relay_config& config() const noexcept { return config_; }

private:
    struct connection_state {
        bool greeted = false;              // hello accepted
        std::string agent;                 // stamped on this connection's appends
        std::set<std::string> sessions;    // attached
    };

    void handle(connection_id id, connection_state& conn, proto::frame&& frame);
    void on_hello(connection_id id, connection_state& conn, const proto::hello& f);
    void on_attach(connection_id id, connection_state& conn, const proto::attach& f);
    void on_detach(connection_id id, connection_state& conn, const proto::detach& f);
    void on_append(connection_id id, append_input&& input);
    void reject(connection_id id, errc code, std::string message);
    void send_error(connection_id id, errc code, std::string message, std::optional<std::string> session = {},
                    std::optional<std::uint64_t> producer_seq = {});
    /// Checks shared by WebSocket and HTTP appends.
    static std::optional<error> validate(const append_input& input);

    relay_config config_;
    relay_metrics metrics_;
    outbox out_;
    session_table sessions_;
    std::map<connection_id, connection_state> connections_;
};

} // namespace holdfast::relay
