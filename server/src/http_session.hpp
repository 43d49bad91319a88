// One TCP connection speaking HTTP/1.1: reads requests one at a time (keep-alive), answers them
// through http_api and static_files, and hands `/v1/ws` upgrades to a ws_session.
// Layer: relay network shell: it decides nothing about the protocol.
#pragma once
#include "beast_fwd.hpp"
#include "holdfast/relay/http_api.hpp"

#include <memory>
#include <optional>

namespace holdfast::relay {

class relay_shell;

class http_session : public std::enable_shared_from_this<http_session> {
public:
    http_session(relay_shell& shell, tcp::socket&& socket);

    void run();
    /// Ends the session (relay stopping): pending reads fail and the session unregisters.
    void shutdown();

private:
    using request = http::request<http::string_body>;
    using response = http::response<http::string_body>;

    void do_read();
    void on_read(beast::error_code ec, std::size_t bytes);
    void answer(const request& req);
    void send(http_reply reply, unsigned version, bool keep_alive, bool head, bool cacheable);
    void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
    void drain();
    void finish();

    relay_shell& shell_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<response> response_;  // alive until its async_write completes
    std::uint64_t id_ = 0;
    bool finished_ = false;
};

} // namespace holdfast::relay
