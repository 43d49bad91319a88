// ws_link: one WebSocket connection to the relay — resolve, connect, handshake, a read loop and a
// write queue with one async_write in flight (Beast's chat example pattern). Layer: native host.
// It reports open, each binary message and its single end; it knows nothing of the protocol.
#pragma once
#include "holdfast/native/client_host.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace holdfast::native {

class ws_link : public std::enable_shared_from_this<ws_link> {
public:
    struct handlers {
        std::function<void()> on_open;
        std::function<void(std::string_view)> on_message;
        /// Exactly once per link that was started, unless abandon() came first.
        std::function<void(boost::beast::error_code)> on_closed;
    };

    ws_link(boost::asio::io_context& ioc, link_options options, handlers h);

    void start(const std::string& host, std::uint16_t port);
    /// Queues one binary message; dropped if the link is not open.
    void send(std::string frame);
    /// Closes politely (WebSocket close after the queued writes) and reports nothing more.
    void abandon();
    /// Closes the socket at once (a link declared dead may never answer a close) and reports
    /// nothing more.
    void drop();

private:
    using tcp = boost::asio::ip::tcp;
    void on_resolve(boost::beast::error_code ec, tcp::resolver::results_type results);
    void on_connect(boost::beast::error_code ec, tcp::endpoint endpoint);
    void on_handshake(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void do_write();
    void on_write(boost::beast::error_code ec, std::size_t bytes);
    void start_close();
    void fail(boost::beast::error_code ec);

    link_options options_;
    handlers handlers_;
    tcp::resolver resolver_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::deque<std::string> queue_;
    std::string host_header_;
    bool open_ = false;
    bool writing_ = false;
    bool abandoned_ = false;
    bool closing_ = false;
    bool finished_ = false;
};

} // namespace holdfast::native
