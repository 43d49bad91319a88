// relay_log: a one-shot Beast HTTP client and the events page parser. Layer: tests (faults).
#include "relay_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <optional>
#include <stdexcept>

namespace holdfast::faults {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

std::string http_get(std::uint16_t port, const std::string& target) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    http::response<http::string_body> res;
    std::optional<beast::error_code> failure;
    auto fail = [&](beast::error_code ec) { failure = ec; };

    stream.expires_after(std::chrono::seconds(5));
    stream.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port), [&](beast::error_code ec) {
        if (ec) return fail(ec);
        http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
            if (ec) return fail(ec);
            http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
                if (ec) return fail(ec);
                failure = beast::error_code{};
            });
        });
    });
    ioc.run();
    if (!failure) throw std::runtime_error("GET " + target + ": no answer");
    if (*failure) throw std::runtime_error("GET " + target + ": " + failure->message());
    if (res.result_int() != 200) {
        throw std::runtime_error("GET " + target + ": status " + std::to_string(res.result_int()) + " " + res.body());
    }
    return res.body();
}

relay_log read_relay_log(std::uint16_t port, const std::string& session) {
    relay_log log;
    std::uint64_t from = 0;
    for (;;) {
        const auto page = boost::json::parse(http_get(
            port, "/v1/sessions/" + session + "/events?from=" + std::to_string(from) + "&limit=10000"));
        log.epoch = page.at("epoch").to_number<std::uint64_t>();
        log.head_serial = page.at("headSerial").to_number<std::uint64_t>();
        const auto& events = page.at("events").as_array();
        for (const auto& item : events) {
            logged_event e;
            e.serial = item.at("serial").to_number<std::uint64_t>();
            e.kind = std::string(item.at("kind").as_string());
            e.producer_id = std::string(item.at("producerId").as_string());
            e.payload_json = boost::json::serialize(item.at("payload"));
            log.events.push_back(std::move(e));
        }
        if (events.empty() || log.events.back().serial >= log.head_serial) return log;
        from = log.events.back().serial;
    }
}

} // namespace holdfast::faults
