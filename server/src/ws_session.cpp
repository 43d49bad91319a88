// ws_session: upgrade, read loop, write queue and close handshake. Layer: relay network shell.
#include "ws_session.hpp"

#include "relay_shell.hpp"

#include <algorithm>
#include <iostream>

namespace holdfast::relay {

namespace {
// A subscriber this far behind is not reading: drop it rather than hold unbounded memory. It
// resumes from its last serial when it reconnects, so nothing is lost.
constexpr std::size_t min_queue_limit = 64u << 20;
} // namespace

ws_session::ws_session(relay_shell& shell, tcp::socket&& socket) : shell_(shell), ws_(std::move(socket)) {}

void ws_session::run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "holdfast-relay"); }));
    ws_.read_message_max(shell_.config().relay.max_frame_bytes);
    ws_.binary(true);
    ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(beast::error_code ec) {
    if (ec) return;  // never registered: nothing to undo
    if (shell_.stopping()) return abort();
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
    do_read();
}

void ws_session::send(std::shared_ptr<const std::string> frame) {
    if (close_requested_ || closing_ || finished_) return;
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    const std::size_t limit = std::max<std::size_t>(min_queue_limit, 64u * shell_.config().relay.max_frame_bytes);
    if (queued_bytes_ > limit) {
        std::cerr << "holdfast-relay: connection " << id_ << " is too slow (" << queued_bytes_
                  << " bytes queued), dropping it\n";
        return abort();
    }
    if (!writing_) do_write();
}

void ws_session::do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(*queue_.front()), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
}

void ws_session::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return abort();
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (close_requested_) do_close();
}

void ws_session::close_after_flush() {
    if (close_requested_) return;
    close_requested_ = true;
    if (!writing_) do_close();
}

void ws_session::shutdown() {
    close_code_ = websocket::close_code::going_away;
    close_after_flush();
}

void ws_session::do_close() {
    if (closing_ || finished_) return;
    closing_ = true;
    // The read loop keeps running and ends when the peer answers the close (or the timeout hits).
    ws_.async_close(websocket::close_reason(close_code_),
                    beast::bind_front_handler(&ws_session::on_close, shared_from_this()));
}

void ws_session::on_close(beast::error_code ec) {
    if (ec) abort();
}

void ws_session::abort() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

void ws_session::finish() {
    if (finished_) return;
    finished_ = true;
    // The queue stays: an async_write in flight still points into its front buffer.
    if (registered_) shell_.remove_ws(id_);
}

} // namespace holdfast::relay
