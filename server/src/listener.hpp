// Accepts TCP connections and hands each to an http_session. Layer: relay network shell.
#pragma once
#include "beast_fwd.hpp"
#include "holdfast/result.hpp"

#include <memory>

namespace holdfast::relay {

class relay_shell;

class listener : public std::enable_shared_from_this<listener> {
public:
    explicit listener(relay_shell& shell);

    /// Opens, binds and listens; returns the bound port.
    result<std::uint16_t> open(const tcp::endpoint& endpoint);
    void run();
    void close();

private:
    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);

    relay_shell& shell_;
    tcp::acceptor acceptor_;
};

} // namespace holdfast::relay
