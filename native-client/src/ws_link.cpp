// ws_link: Beast WebSocket client plumbing for client_host. Layer: native host.
#include "ws_link.hpp"

#include <boost/asio/connect.hpp>

namespace holdfast::native {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

ws_link::ws_link(net::io_context& ioc, link_options options, handlers h)
    : options_(std::move(options)), handlers_(std::move(h)), resolver_(ioc), ws_(ioc) {}

void ws_link::start(const std::string& host, std::uint16_t port) {
    host_header_ = host + ":" + std::to_string(port);
    resolver_.async_resolve(host, std::to_string(port),
                            beast::bind_front_handler(&ws_link::on_resolve, shared_from_this()));
}

void ws_link::on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec);
    if (abandoned_) return;
    beast::get_lowest_layer(ws_).expires_after(options_.connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(results,
                                               beast::bind_front_handler(&ws_link::on_connect, shared_from_this()));
}

void ws_link::on_connect(beast::error_code ec, tcp::endpoint) {
    if (ec) return fail(ec);
    if (abandoned_) return;
    // Small frames (acks, single events) must not wait for Nagle's algorithm.
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    // From here the WebSocket stream runs its own timers: the tcp_stream's must be off.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = options_.connect_timeout;  // idle: none — the core's heartbeat decides
    ws_.set_option(timeouts);
    ws_.binary(true);
    ws_.auto_fragment(false);  // a bundle goes out in one write, not in 4 KiB frames
    ws_.async_handshake(host_header_, options_.target,
                        beast::bind_front_handler(&ws_link::on_handshake, shared_from_this()));
}

void ws_link::on_handshake(beast::error_code ec) {
    if (ec) return fail(ec);
    if (abandoned_) return start_close();
    open_ = true;
    do_read();
    if (handlers_.on_open) handlers_.on_open();
}

void ws_link::do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_link::on_read, shared_from_this()));
}

void ws_link::on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec);
    if (abandoned_) return;
    const auto data = buffer_.cdata();
    // Keep this link alive while the owner handles the message: it may abandon it meanwhile.
    auto self = shared_from_this();
    if (handlers_.on_message) {
        handlers_.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (!abandoned_ && !finished_) do_read();
}

void ws_link::send(std::string frame) {
    if (!open_ || abandoned_ || finished_) return;
    queue_.push_back(std::move(frame));
    if (!writing_) do_write();
}

void ws_link::do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&ws_link::on_write, shared_from_this()));
}

void ws_link::on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return fail(ec);
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (abandoned_) start_close();
}

void ws_link::abandon() {
    if (abandoned_) return;
    abandoned_ = true;
    handlers_ = {};
    if (!open_) {
        // Still resolving, connecting or handshaking: cancel; the pending handler sees the error.
        resolver_.cancel();
        beast::get_lowest_layer(ws_).cancel();
        return;
    }
    if (!writing_) start_close();  // otherwise on_write closes once the queue is flushed
}

void ws_link::drop() {
    abandoned_ = true;
    handlers_ = {};
    resolver_.cancel();
    fail(beast::error_code(net::error::operation_aborted));
}

void ws_link::start_close() {
    if (closing_ || finished_) return;
    closing_ = true;
    // A peer that never answers the close must not keep this object alive forever.
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = std::chrono::seconds(2);
    ws_.set_option(timeouts);
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
        self->finished_ = true;
    });
}

void ws_link::fail(beast::error_code ec) {
    if (finished_) return;
    finished_ = true;
    open_ = false;
    queue_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    auto on_closed = std::move(handlers_.on_closed);
    handlers_ = {};
    if (on_closed && !abandoned_) on_closed(ec);
}

} // namespace holdfast::native
