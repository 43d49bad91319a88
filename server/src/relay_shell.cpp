// relay_shell: binding, the run loop, graceful stop and output routing. Layer: relay network shell.
#include "relay_shell.hpp"

#include "http_session.hpp"
#include "listener.hpp"
#include "ws_session.hpp"
#ifdef HOLDFAST_WITH_REDIS
#include "node_bus.hpp"
#endif

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>

namespace holdfast::relay {

namespace {
constexpr auto stop_grace = std::chrono::seconds(2);
// Lease deadlines are met within this much; the core decides, the timer only reports time.
constexpr auto tick_interval = std::chrono::milliseconds(250);
}

relay_shell::relay_shell(server_config config, std::unique_ptr<store> backing)
    : config_(std::move(config)),
      store_(std::move(backing)),
      core_(*store_, config_.relay),
      api_(core_),
      files_(config_.static_dir, config_.sdk_dir) {}

relay_shell::~relay_shell() = default;

result<std::uint16_t> relay_shell::start() {
    beast::error_code ec;
    std::vector<net::ip::address> addresses;
    if (auto literal = net::ip::make_address(config_.host, ec); !ec) {
        addresses.push_back(literal);
    } else {
        // A host name: listen on every address it names, so "localhost" serves clients that
        // resolve it to ::1 as well as those that resolve it to 127.0.0.1.
        tcp::resolver resolver(ioc_);
        auto results = resolver.resolve(config_.host, std::to_string(config_.port), ec);
        if (ec || results.empty()) return make_error(errc::closed, "cannot resolve " + config_.host + ": " + ec.message());
        for (const auto& entry : results) {
            const auto address = entry.endpoint().address();
            if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) addresses.push_back(address);
        }
    }
    std::uint16_t port = config_.port;
    for (const auto& address : addresses) {
        auto next = std::make_shared<listener>(*this);
        // With port 0 the first bind picks the port; the others reuse it.
        auto bound = next->open(tcp::endpoint(address, port));
        if (!bound) return bound;
        port = bound.value();
        listeners_.push_back(std::move(next));
    }
    for (auto& each : listeners_) each->run();
#ifdef HOLDFAST_WITH_REDIS
    if (auto* shared = dynamic_cast<redis_store*>(store_.get())) {
        bus_ = std::make_unique<node_bus>(ioc_, shared->address(), core_, [this] { flush(); });
        bus_->start();
    }
#endif
    schedule_tick();
    if (config_.handle_signals) {
        signals_.emplace(ioc_, SIGINT, SIGTERM);
        signals_->async_wait([this](beast::error_code wait_ec, int signal) {
            if (wait_ec) return;
            std::cerr << "holdfast-relay: signal " << signal << ", stopping\n";
            begin_stop();
        });
    }
    return port;
}

void relay_shell::run() { ioc_.run(); }

void relay_shell::schedule_tick() {
    tick_timer_.expires_after(tick_interval);
    tick_timer_.async_wait([this](beast::error_code ec) {
        if (ec || stopping_) return;
        core_.on_tick(system_clock_ms());
        flush();
        schedule_tick();
    });
}

void relay_shell::stop() {
    net::post(ioc_, [this] { begin_stop(); });
}

void relay_shell::begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    for (auto& each : listeners_) each->close();
    if (signals_) signals_->cancel();
    tick_timer_.cancel();  // so run() can return once the connections are gone
#ifdef HOLDFAST_WITH_REDIS
    if (bus_) bus_->stop();
#endif
    // Copy first: shutting a session down may remove it from the registry.
    std::vector<std::shared_ptr<ws_session>> websockets;
    for (auto& [id, weak] : ws_) {
        if (auto s = weak.lock()) websockets.push_back(std::move(s));
    }
    std::vector<std::shared_ptr<http_session>> requests;
    for (auto& [id, weak] : http_) {
        if (auto s = weak.lock()) requests.push_back(std::move(s));
    }
    for (auto& s : websockets) s->shutdown();
    for (auto& s : requests) s->shutdown();
    stop_deadline_.expires_after(stop_grace);
    stop_deadline_.async_wait([this](beast::error_code ec) {
        if (!ec) ioc_.stop();  // a peer did not finish its close handshake in time
    });
    maybe_finish_stop();
}

void relay_shell::maybe_finish_stop() {
    // With no session left, cancelling the deadline leaves no work, so run() returns now.
    if (stopping_ && ws_.empty() && http_.empty()) stop_deadline_.cancel();
}

connection_id relay_shell::add_ws(const std::shared_ptr<ws_session>& session) {
    const connection_id id = next_ws_id_++;
    ws_.emplace(id, session);
    return id;
}

void relay_shell::remove_ws(connection_id id) {
    if (ws_.erase(id) == 0) return;
    core_.on_close(id);
    flush();
    maybe_finish_stop();
}

std::uint64_t relay_shell::add_http(const std::shared_ptr<http_session>& session) {
    const std::uint64_t id = next_http_id_++;
    http_.emplace(id, session);
    return id;
}

void relay_shell::remove_http(std::uint64_t id) {
    http_.erase(id);
    maybe_finish_stop();
}

bool relay_shell::hold_ip(const std::string& ip) {
    std::uint32_t& count = connections_per_ip_[ip];
    if (config_.max_connections_per_ip != 0 && count >= config_.max_connections_per_ip) {
        if (count == 0) connections_per_ip_.erase(ip);
        return false;
    }
    ++count;
    return true;
}

void relay_shell::release_ip(const std::string& ip) {
    auto it = connections_per_ip_.find(ip);
    if (it == connections_per_ip_.end()) return;
    if (--it->second == 0) connections_per_ip_.erase(it);
}

bool relay_shell::origin_allowed(std::string_view origin) const {
    if (config_.allowed_origins.empty() || origin.empty()) return true;
    return std::find(config_.allowed_origins.begin(), config_.allowed_origins.end(), origin) !=
           config_.allowed_origins.end();
}

void relay_shell::flush() {
    for (outbound& out : core_.take_outputs()) {
        auto it = ws_.find(out.connection);
        if (it == ws_.end()) continue;
        auto session = it->second.lock();
        if (!session) continue;
        if (out.close) {
            session->close_after(std::move(out.frame), *out.close);
        } else {
            session->send(std::move(out.frame));
        }
    }
}

} // namespace holdfast::relay
