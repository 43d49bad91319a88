// client_host: runs holdfast::client::client_core natively — a Boost.Beast WebSocket client on an
// Asio io_context feeds the core's transport inputs, sends what it queues, drains its updates once
// per turn and honours its reconnect delays. Layer: native host (what js-bindings/ is to the
// browser), meant to serve as the C++ agent API too. No protocol decision is made here.
#pragma once
#include "holdfast/client.hpp"
#include "holdfast/native/update_batch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace holdfast::native {

class ws_link;

/// Transport settings; the protocol's own settings live in client::client_config.
struct link_options {
    std::string target = "/v1/ws";
    std::chrono::milliseconds connect_timeout{5000};  // TCP connect + WebSocket handshake
    /// How often the core's on_tick runs (pings and dead-link detection, per the core's
    /// heartbeat_config); keep it well under the heartbeat's interval and timeout.
    std::chrono::milliseconds tick_period{1000};
};

enum class link_state { idle, connecting, open, waiting_retry, closed };
std::string_view to_string(link_state state) noexcept;

/// Callbacks, all invoked on the io_context's thread; any may be empty. A callback may call back
/// into the host (publish from on_event, close from on_ack...) but must not destroy it (post that).
struct client_handlers {
    /// Once per session per batch, before that batch's events (so `reset` comes first).
    std::function<void(const session_status&)> on_session;
    std::function<void(const delivered_event&)> on_event;
    std::function<void(std::uint64_t request, std::uint64_t serial)> on_ack;
    std::function<void(std::uint64_t request, const error&)> on_reject;
    std::function<void(const error&)> on_error;
    /// After the batch's events: controls users aimed at this client's own messages.
    std::function<void(const incoming_control_update&)> on_incoming_control;
    /// The relay's outcome for one of this client's control() requests.
    std::function<void(const control_outcome_update&)> on_control_outcome;
    std::function<void(link_state)> on_link;
};

/// Single-threaded: construct, call and destroy it on the thread that runs the io_context (or
/// post to it). Destroying it drops the link without a close handshake.
class client_host {
public:
    client_host(boost::asio::io_context& ioc, client::client_config config, std::string host, std::uint16_t port,
                link_options options = {});
    ~client_host();
    client_host(const client_host&) = delete;
    client_host& operator=(const client_host&) = delete;

    void set_handlers(client_handlers handlers) { handlers_ = std::move(handlers); }

    /// Connects (and keeps reconnecting after every loss until close()).
    void start();
    /// Follows a session from what this client holds (nothing: serial 0). Idempotent.
    result<ok_t> open_session(std::string_view session_id);
    void close_session(std::string_view session_id);
    /// Queues a publish in the core's outbox; returns the request id its ack or reject carries.
    result<std::uint64_t> publish(std::string_view session_id, std::string_view kind, std::string_view msg_id,
                                  std::string_view payload_json);
    result<std::uint64_t> control(std::string_view session_id, std::string_view action, std::string_view target,
                                  std::string_view payload_json);
    /// The process woke up (resume from sleep, network back): check the link now or reconnect.
    void wake();
    /// Stops reconnecting and closes the link politely. Unacknowledged publishes stay unsent.
    void close();

    link_state state() const noexcept { return state_; }
    std::uint64_t connects() const noexcept { return connects_; }  // links opened so far
    const client::client_core& core() const noexcept { return core_; }

private:
    void connect();
    void on_link_open(std::uint64_t generation);
    void on_link_message(std::uint64_t generation, std::string_view bytes);
    void on_link_closed(std::uint64_t generation);
    void schedule_retry(std::uint32_t delay_ms);
    void schedule_tick();
    void drop_link();
    void set_state(link_state next);
    /// One turn's output: frames to the link, then one update batch to the handlers.
    void pump();
    /// pump() once the current handler returns (publish and control coalesce into one turn).
    void pump_soon();
    void dispatch(update_batch& batch);

    boost::asio::io_context& ioc_;
    client::client_core core_;
    event_tables event_tables_;  // the core's event tables as of its last take
    std::string host_;
    std::uint16_t port_;
    link_options options_;
    client_handlers handlers_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer tick_timer_;
    std::shared_ptr<ws_link> link_;
    std::uint64_t generation_ = 0;  // tells a dead link's late callbacks from the current one's
    std::uint64_t connects_ = 0;
    link_state state_ = link_state::idle;
    bool pumping_ = false;
    bool pump_again_ = false;
    bool pump_posted_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // timer handlers check it
};

} // namespace holdfast::native
