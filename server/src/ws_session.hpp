// One WebSocket connection on /v1/ws: binary messages in go to relay_core::on_frame; frames out
// go through a write queue with exactly one async_write in flight (Beast's chat example), and
// each completed write is reported to relay_core::on_sent, which is how the core paces replays
// and bounds the queue. Layer: relay network shell: it moves bytes and obeys the core's close
// directives; it has no queue limit of its own.
#pragma once
#include "beast_fwd.hpp"
#include "holdfast/relay/relay_types.hpp"

#include <deque>
#include <memory>
#include <string>

namespace holdfast::relay {

class relay_shell;

class ws_session : public std::enable_shared_from_this<ws_session> {
public:
    ws_session(relay_shell& shell, tcp::socket&& socket);

    /// Completes the upgrade for `req`, then starts reading.
    /// `peer_ip` was counted with relay_shell::hold_ip; released when the session ends.
    void run(http::request<http::string_body> req, std::string peer_ip);

    /// Queues one frame (shared with every other subscriber of a fan-out).
    void send(std::shared_ptr<const std::string> frame);

    /// Obeys a core close directive: optionally drops the frames not yet being written, queues
    /// `last_frame` (if any), and closes with `how.code` once the queue is written.
    void close_after(std::shared_ptr<const std::string> last_frame, const close_directive& how);

    /// Relay stopping: close with "going away" once the queue drains.
    void shutdown();

private:
    void on_accept(beast::error_code ec);
    void do_read();
    void on_read(beast::error_code ec, std::size_t bytes);
    void close_after_flush();
    void do_write();
    void on_write(beast::error_code ec, std::size_t bytes);
    void do_close();
    void on_close(beast::error_code ec);
    void abort();
    void finish();
    void release_ip();

    relay_shell& shell_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    net::steady_timer close_deadline_;  // a peer that stops reading cannot hold a close forever
    net::steady_timer read_pause_;      // the core's rate limit: the next read waits this long
    std::string peer_ip_;
    connection_id id_ = 0;
    websocket::close_reason close_reason_{websocket::close_code::policy_error};
    bool writing_ = false;
    bool close_requested_ = false;
    bool closing_ = false;
    bool registered_ = false;
    bool finished_ = false;
    bool ip_held_ = false;
};

} // namespace holdfast::relay
