// ws_session: upgrade, read loop, write queue and close handshake. Layer: relay network shell.
#include "ws_session.hpp"

#include "relay_shell.hpp"

#include <algorithm>
#include <iostream>

namespace holdfast::relay {

namespace {
// Time for a peer to take its last frames and answer a close the relay started. A slow consumer
// whose current write never completes (it stopped reading) is cut off after this.
constexpr auto close_grace = std::chrono::seconds(10);
} // namespace

ws_session::ws_session(relay_shell& shell, tcp::socket&& socket)
    : shell_(shell), ws_(std::move(socket)), close_deadline_(ws_.get_executor()), read_pause_(ws_.get_executor()) {}

void ws_session::run(http::request<http::string_body> req, std::string peer_ip) {
    peer_ip_ = std::move(peer_ip);
    ip_held_ = true;
    // Each write is one whole frame, often a single token: Nagle would hold it back until the
    // previous one is acknowledged (up to the peer's 40 ms delayed ACK).
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "holdfast-relay"); }));
    ws_.read_message_max(shell_.config().relay.max_frame_bytes);
    ws_.binary(true);
    // A bundle of acks and fan-out can be hundreds of KiB: Beast would cut it into 4 KiB frames,
    // one send each. Whole messages go out in one write.
    ws_.auto_fragment(false);
    ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(beast::error_code ec) {
    if (ec) return release_ip();  // never registered: nothing else to undo
    if (shell_.stopping()) {
        release_ip();
        return abort();
    }
    id_ = shell_.add_ws(shared_from_this());
    registered_ = true;
    shell_.core().on_open(id_);
    shell_.flush();
    do_read();
}

void ws_session::do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec, std::size_t) {
    if (ec == websocket::error::message_too_big) {
        // Beast has already failed the connection with close code 1009; the core counts it.
        shell_.core().on_frame_too_large(id_);
        return finish();
    }
    if (ec) return finish();
    // Text messages are not part of the protocol: they reach the core and fail to decode like any
    // other bad frame, so the client gets a typed error instead of a silent drop.
    const auto data = buffer_.cdata();
    shell_.core().on_frame(id_, std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(buffer_.size());
    shell_.flush();
    // Throttle: a connection over its frames/s or bytes/s budget is read later, so TCP slows
    // the sender down and nothing it sent is dropped.
    if (const std::uint64_t pause = shell_.core().read_pause_ms(id_); pause > 0 && !finished_) {
        read_pause_.expires_after(std::chrono::milliseconds(pause));
        read_pause_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
            if (!wait_ec && !self->finished_) self->do_read();
        });
        return;
    }
    do_read();
}

void ws_session::send(std::shared_ptr<const std::string> frame) {
    // No limit here: the core bounds what it sends (max_queued_bytes, the replay window).
    if (close_requested_ || closing_ || finished_) return;
    queue_.push_back(std::move(frame));
    if (!writing_) do_write();
}

void ws_session::do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(*queue_.front()), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
}

void ws_session::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return abort();
    const std::size_t written = queue_.front()->size();
    queue_.pop_front();
    // Start the next write before telling the core: its outputs (more replay) may queue more.
    if (!queue_.empty()) {
        do_write();
    } else if (close_requested_) {
        do_close();
    }
    if (registered_ && !finished_) {
        shell_.core().on_sent(id_, written);
        shell_.flush();
    }
}

void ws_session::close_after(std::shared_ptr<const std::string> last_frame, const close_directive& how) {
    if (close_requested_ || closing_ || finished_) return;
    if (how.drop_unsent) {
        // Keep the frame being written: its buffer is in use until the write completes.
        queue_.erase(writing_ ? std::next(queue_.begin()) : queue_.begin(), queue_.end());
    }
    if (last_frame) queue_.push_back(std::move(last_frame));
    close_reason_ = websocket::close_reason(how.code);
    close_reason_.reason = websocket::reason_string(how.reason.data(), std::min<std::size_t>(how.reason.size(), 123));
    close_after_flush();
}

void ws_session::close_after_flush() {
    if (close_requested_) return;
    close_requested_ = true;
    close_deadline_.expires_after(close_grace);
    close_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->abort();
    });
    if (!writing_) queue_.empty() ? do_close() : do_write();
}

void ws_session::shutdown() {
    if (close_requested_) return;  // already closing for the core's reason
    close_reason_ = websocket::close_reason(websocket::close_code::going_away);
    close_after_flush();
}

void ws_session::do_close() {
    if (closing_ || finished_) return;
    closing_ = true;
    // The read loop keeps running and ends when the peer answers the close (or the timeout hits).
    ws_.async_close(close_reason_, beast::bind_front_handler(&ws_session::on_close, shared_from_this()));
}

void ws_session::on_close(beast::error_code ec) {
    if (ec) abort();
}

void ws_session::release_ip() {
    if (!ip_held_) return;
    ip_held_ = false;
    shell_.release_ip(peer_ip_);
}

void ws_session::abort() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

void ws_session::finish() {
    if (finished_) return;
    finished_ = true;
    close_deadline_.cancel();  // a pending wait would keep run() from returning on stop
    read_pause_.cancel();
    release_ip();
    // The queue stays: an async_write in flight still points into its front buffer.
    if (registered_) shell_.remove_ws(id_);
}

} // namespace holdfast::relay
