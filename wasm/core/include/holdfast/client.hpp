// client_core: the whole client as a sans-I/O state machine — one connection to the relay, the
// sessions followed over it, their conversations, the outbox of unacknowledged publishes and the
// reconnect policy. Layer: portable core. The host (JS glue in the browser, a test natively)
// moves bytes in (on_frame), tells it about the link (on_transport_open/closed) and drains its
// outputs once per turn: frames to send and one JSON batch of updates for the app.
#pragma once
#include "holdfast/backoff.hpp"
#include "holdfast/conversation.hpp"
#include "holdfast/result.hpp"
#include "holdfast/session.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::client {

struct client_config {
    std::string client_id;  // unique per client instance; also its producer id
    std::string token;
    std::string agent;      // non-empty for agents
    std::uint64_t random_seed = 1;
    backoff_config backoff;
};

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

    /// Queues a publish in the outbox and sends it when connected. Returns the request id
    /// (the producer sequence) that its ack or rejection will carry in the updates.
    result<std::uint64_t> publish(std::string_view session_id, std::string_view kind,
                                  std::string_view msg_id, std::string_view payload_json);
    result<std::uint64_t> control(std::string_view session_id, std::string_view action,
                                  std::string_view target, std::string_view payload_json);

    // ---- transport ----------------------------------------------------------------------------
    void on_transport_open();
    /// The link is gone (closed, failed, or declared dead). The updates then carry a retry
    /// {attempt, delayMs}: the host reconnects after that delay.
    void on_transport_closed();
    /// One received binary message. Bad frames are reported in the updates' errors; never throws.
    void on_frame(std::string_view bytes);

    // ---- outputs, drained once per turn -------------------------------------------------------
    std::vector<std::string> take_frames();
    /// JSON: {"sessions":[{id,state,lastSerial,epoch,reset,events:[...],messages:[...]}],
    ///        "acks":[{request,serial}], "rejects":[{request,code,name,message}],
    ///        "errors":[{code,name,message}], "retry":{attempt,delayMs}}; "" when nothing changed.
    std::string take_updates_json();

    // ---- queries ------------------------------------------------------------------------------
    bool connected() const noexcept { return connected_; }
    const session* find_session(std::string_view id) const;
    const conversation* find_conversation(std::string_view id) const;
    std::size_t pending_publishes() const noexcept { return outbox_.size(); }

private:
    struct followed;
    struct pending_publish {
        std::string session;
        std::string frame;  // encoded once; resent unchanged so the relay can deduplicate
    };
    struct reject {
        std::uint64_t request;
        error err;
    };

    followed* find(std::string_view id);
    void send(std::string frame);
    void handle(const proto::frame& f);
    void on_attached(const proto::attached& f);
    void on_event_batch(proto::event_batch&& f);
    void on_ack(const proto::ack& f);
    void on_error(const proto::error_frame& f);
    void report(error err);
    result<std::uint64_t> enqueue(std::string session_id, std::string frame, std::uint64_t seq);

    client_config config_;
    backoff backoff_;
    bool connected_ = false;
    std::uint64_t next_producer_seq_ = 1;
    std::map<std::string, std::unique_ptr<followed>, std::less<>> sessions_;
    std::map<std::uint64_t, pending_publish> outbox_;  // ordered by producer sequence

    std::vector<std::string> frames_out_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> acks_out_;  // request, serial
    std::vector<reject> rejects_out_;
    std::vector<error> errors_out_;
    std::uint32_t retry_delay_ms_ = 0;
    bool retry_pending_ = false;
};

} // namespace holdfast::client
