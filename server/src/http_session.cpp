// http_session: the HTTP read/answer/write loop and the WebSocket upgrade. Layer: relay shell.
#include "http_session.hpp"

#include "relay_shell.hpp"
#include "ws_session.hpp"

#include <chrono>

namespace holdfast::relay {

namespace {
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto drain_timeout = std::chrono::seconds(5);
constexpr std::uint32_t header_limit = 16 * 1024;
} // namespace

http_session::http_session(relay_shell& shell, tcp::socket&& socket) : shell_(shell), stream_(std::move(socket)) {}

void http_session::run() {
    id_ = shell_.add_http(shared_from_this());
    do_read();
}

void http_session::shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.cancel();
}

void http_session::do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(shell_.config().relay.max_frame_bytes);
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
        const auto& req = parser_->get();
        shell_.api().record(413);
        return send(http_api::error_reply(413, errc::frame_too_large,
                                          "body exceeds " + std::to_string(shell_.config().relay.max_frame_bytes) +
                                              " bytes"),
                    req.version(), false, false, false);
    }
    if (ec) return finish();  // end_of_stream, timeout, reset, or the relay stopping
    if (shell_.stopping()) return finish();

    request req = parser_->release();
    if (websocket::is_upgrade(req)) {
        const std::string_view target(req.target().data(), req.target().size());
        if (target.substr(0, target.find('?')) == "/v1/ws") {
            // Cross-site WebSocket hijacking: browsers send the page's Origin on the handshake.
            const auto origin = req[http::field::origin];
            if (!shell_.origin_allowed(std::string_view(origin.data(), origin.size()))) {
                shell_.api().record(403);
                return send(http_api::error_reply(403, errc::forbidden,
                                                  "origin '" + std::string(origin) + "' is not allowed"),
                            req.version(), false, false, false);
            }
            beast::error_code ec_ip;
            const std::string ip = stream_.socket().remote_endpoint(ec_ip).address().to_string();
            if (!shell_.hold_ip(ip)) {
                shell_.api().record(429);
                return send(http_api::error_reply(429, errc::limit_exceeded,
                                                  "more than " + std::to_string(shell_.config().max_connections_per_ip) +
                                                      " WebSocket connections from " + ip),
                            req.version(), false, false, false);
            }
            // The socket moves to the WebSocket session; this HTTP session ends here.
            stream_.expires_never();
            std::make_shared<ws_session>(shell_, stream_.release_socket())->run(std::move(req), ip);
            return finish();
        }
    }
    answer(req);
}

void http_session::answer(const request& req) {
    const std::string_view method(req.method_string().data(), req.method_string().size());
    const std::string_view target(req.target().data(), req.target().size());
    const bool head = req.method() == http::verb::head;
    const auto authorization = req[http::field::authorization];
    auto reply = shell_.api().handle(method, target, req.body(),
                                     std::string_view(authorization.data(), authorization.size()));
    // The API flushes fan-out from HTTP publishes to the WebSocket subscribers right away.
    shell_.flush();
    bool cacheable = false;
    if (!reply) {
        if (req.method() == http::verb::get || head) {
            if (auto file = shell_.files().lookup(target)) {
                const auto if_none_match = req[http::field::if_none_match];
                if (static_files::matches(std::string_view(if_none_match.data(), if_none_match.size()), file->etag)) {
                    reply = http_reply{304, {}, {}, {}};  // the browser's copy is current: no body
                } else {
                    reply = http_reply{200, std::move(file->content_type), std::move(file->body), {}};
                }
                if (!file->etag.empty()) reply->headers.emplace_back("ETag", file->etag);
                cacheable = true;
            }
        }
        if (!reply) reply = http_api::not_found(target.substr(0, target.find('?')));
    }
    shell_.api().record(reply->status);
    send(std::move(*reply), req.version(), req.keep_alive(), head, cacheable);
}

void http_session::send(http_reply reply, unsigned version, bool keep_alive, bool head, bool cacheable) {
    response_.emplace(static_cast<http::status>(reply.status), version);
    response& res = *response_;
    res.set(http::field::server, "holdfast-relay");
    res.set(http::field::access_control_allow_origin, "*");
    // Static files and the SDK change with every build: cached, but revalidated on every use
    // (their ETag makes that a 304); the API answers are never cacheable.
    res.set(http::field::cache_control, cacheable ? "no-cache" : "no-store");
    if (!reply.content_type.empty()) res.set(http::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(keep_alive && !shell_.stopping());
    const std::size_t length = reply.body.size();
    if (!head) res.body() = std::move(reply.body);
    res.prepare_payload();
    if (head && reply.status != 304) res.content_length(length);
    stream_.expires_after(request_timeout);
    http::async_write(stream_, res,
                      beast::bind_front_handler(&http_session::on_write, shared_from_this(), res.keep_alive()));
}

void http_session::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec) return finish();
    if (!keep_alive) {
        // Graceful close: send FIN, then discard input until the peer closes. Closing with unread
        // input (e.g. the rest of a refused 413 body) would send RST and could destroy the
        // response before the client reads it.
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        buffer_.clear();
        return drain();
    }
    do_read();
}

void http_session::drain() {
    stream_.expires_after(drain_timeout);
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->finish();
                                self->drain();
                            });
}

void http_session::finish() {
    if (finished_) return;
    finished_ = true;
    shell_.remove_http(id_);
}

} // namespace holdfast::relay
