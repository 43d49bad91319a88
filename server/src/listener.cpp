// listener: the accept loop. Layer: relay network shell.
#include "listener.hpp"

#include "http_session.hpp"
#include "relay_shell.hpp"

#include <iostream>

namespace holdfast::relay {

listener::listener(relay_shell& shell) : shell_(shell), acceptor_(shell.io()) {}

result<std::uint16_t> listener::open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    auto fail = [&](const char* what) {
        return make_error(errc::closed, std::string(what) + " " + endpoint.address().to_string() + ":" +
                                            std::to_string(endpoint.port()) + ": " + ec.message());
    };
    if (acceptor_.open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("set_option");
    if (acceptor_.bind(endpoint, ec); ec) return fail("bind");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    return acceptor_.local_endpoint().port();
}

void listener::run() { do_accept(); }

void listener::close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
}

void listener::do_accept() {
    acceptor_.async_accept(beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open() || shell_.stopping()) return;
    if (ec) {
        std::cerr << "holdfast-relay: accept: " << ec.message() << '\n';
    } else {
        auto session = std::make_shared<http_session>(shell_, std::move(socket));
        session->run();
    }
    do_accept();
}

} // namespace holdfast::relay
