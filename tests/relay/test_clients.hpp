// Minimal Beast clients for the loopback test: a WebSocket client speaking Holdfast frames and a
// one-shot HTTP request, both with bounded timeouts so a relay bug fails a test instead of hanging
// it. Layer: tests (relay). Each client owns its io_context and runs it per operation.
#pragma once
#include "holdfast/codec.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace holdfast::relay::testing {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

inline constexpr auto io_timeout = std::chrono::seconds(5);

/// Starts one async operation, runs the io_context until it completes, returns its error code.
template <class Start>
beast::error_code run_op(net::io_context& ioc, Start&& start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result.value_or(beast::error_code(net::error::timed_out));
}

class ws_client {
public:
    explicit ws_client(std::uint16_t port) {
        auto& tcp_layer = beast::get_lowest_layer(ws_);
        tcp_layer.expires_after(io_timeout);
        check(run_op(ioc_, [&](auto h) { tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), h); }),
              "connect");
        tcp_layer.socket().set_option(tcp::no_delay(true));  // as the relay: no 40 ms Nagle pauses
        tcp_layer.expires_after(io_timeout);
        check(run_op(ioc_, [&](auto h) { ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/v1/ws", h); }),
              "handshake");
        ws_.binary(true);
    }

    template <class Frame>
    void send(const Frame& f) {
        const std::string bytes = proto::encode(f);
        beast::get_lowest_layer(ws_).expires_after(io_timeout);
        check(run_op(ioc_, [&](auto h) { ws_.async_write(net::buffer(bytes), h); }), "write");
    }

    /// Sends bytes as one binary message, unchecked (hostile-input tests).
    void send_raw(const std::string& bytes) {
        beast::get_lowest_layer(ws_).expires_after(io_timeout);
        check(run_op(ioc_, [&](auto h) { ws_.async_write(net::buffer(bytes), h); }), "write");
    }

    /// read() with a longer timeout, for a connection the relay is throttling.
    proto::frame read_slow() { return read(std::chrono::seconds(30)); }

    proto::frame read(std::chrono::steady_clock::duration timeout = io_timeout) {
        beast::flat_buffer buffer;
        beast::get_lowest_layer(ws_).expires_after(timeout);
        check(run_op(ioc_, [&](auto h) { ws_.async_read(buffer, h); }), "read");
        const auto data = buffer.cdata();
        auto decoded = proto::decode(std::string_view(static_cast<const char*>(data.data()), data.size()));
        if (!decoded) throw std::runtime_error("undecodable frame from the relay: " + decoded.err().detail);
        return std::move(decoded).value();
    }

    /// Reads until a frame of type T arrives; frames of other types are kept in `skipped`.
    template <class T>
    T read_until(std::vector<proto::frame>* skipped = nullptr) {
        for (int i = 0; i < 10'000; ++i) {
            proto::frame f = read();
            if (auto* t = std::get_if<T>(&f)) return std::move(*t);
            if (skipped) skipped->push_back(std::move(f));
        }
        throw std::runtime_error("expected frame never arrived");
    }

    void close() {
        beast::get_lowest_layer(ws_).expires_after(io_timeout);
        run_op(ioc_, [&](auto h) { ws_.async_close(websocket::close_code::normal, h); });
    }

    /// The close frame the relay sent, once a read has failed because of it.
    websocket::close_reason close_reason() const { return ws_.reason(); }

private:
    static void check(beast::error_code ec, const char* what) {
        if (ec) throw std::runtime_error(std::string(what) + ": " + ec.message());
    }

    net::io_context ioc_;
    websocket::stream<beast::tcp_stream> ws_{ioc_};
};

struct http_result {
    unsigned status = 0;
    std::string content_type;
    std::string body;
    std::string etag;
    std::string cache_control;
};

inline http_result http_call(std::uint16_t port, http::verb method, const std::string& target,
                             const std::string& body = {}, const std::string& if_none_match = {}) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(io_timeout);
    auto fail = [](beast::error_code ec, const char* what) {
        if (ec) throw std::runtime_error(std::string("http ") + what + ": " + ec.message());
    };
    fail(run_op(ioc, [&](auto h) { stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), h); }),
         "connect");
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(false);
    if (!if_none_match.empty()) req.set(http::field::if_none_match, if_none_match);
    req.body() = body;
    req.prepare_payload();
    fail(run_op(ioc, [&](auto h) { http::async_write(stream, req, h); }), "write");
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    fail(run_op(ioc, [&](auto h) { http::async_read(stream, buffer, res, h); }), "read");
    return http_result{res.result_int(), std::string(res[http::field::content_type]), res.body(),
                       std::string(res[http::field::etag]), std::string(res[http::field::cache_control])};
}

} // namespace holdfast::relay::testing
