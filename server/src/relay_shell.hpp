// The Beast shell's shared state: the io_context, the relay core and HTTP API it drives, the
// registry of live sessions, and the routing of the core's outputs to WebSocket sessions.
// Layer: relay network shell. Everything here runs on the one io_context thread, except stop().
// Sessions never call into the shell from their destructors: the io_context (declared first) is
// destroyed last and may destroy pending handlers after the rest of the shell is gone.
#pragma once
#include "beast_fwd.hpp"
#include "holdfast/relay/http_api.hpp"
#include "holdfast/relay/relay_core.hpp"
#include "holdfast/relay/relay_server.hpp"
#include "holdfast/relay/static_files.hpp"

#include <memory>
#include <vector>
#include <optional>
#include <unordered_map>

namespace holdfast::relay {

class listener;
class ws_session;
class http_session;
class node_bus;

class relay_shell {
public:
    relay_shell(server_config config, std::unique_ptr<store> backing);
    ~relay_shell();

    result<std::uint16_t> start();
    void run();
    void stop();

    net::io_context& io() noexcept { return ioc_; }
    relay_core& core() noexcept { return core_; }
    http_api& api() noexcept { return api_; }
    const static_files& files() const noexcept { return files_; }
    const server_config& config() const noexcept { return config_; }
    bool stopping() const noexcept { return stopping_; }

    /// Registers an accepted WebSocket; returns its connection id (core.on_open is the caller's).
    connection_id add_ws(const std::shared_ptr<ws_session>& session);
    /// The WebSocket ended: tells the core and forgets it.
    void remove_ws(connection_id id);
    std::uint64_t add_http(const std::shared_ptr<http_session>& session);
    void remove_http(std::uint64_t id);

    /// Counts a WebSocket from `ip` against max_connections_per_ip; false when it is over.
    bool hold_ip(const std::string& ip);
    void release_ip(const std::string& ip);
    /// The Origin header's value is on the allow-list (or there is no list, or no header).
    bool origin_allowed(std::string_view origin) const;

    /// Performs the core's pending outputs: sends frames, closes connections.
    void flush();

private:
    void begin_stop();
    void maybe_finish_stop();
    /// Drives relay_core::on_tick every tick_interval until the shell stops.
    void schedule_tick();

    net::io_context ioc_{1};  // first member: destroyed last (see the file comment)
    server_config config_;
    std::unique_ptr<store> store_;
    relay_core core_;
    http_api api_;
    static_files files_;
    std::vector<std::shared_ptr<listener>> listeners_;
    std::unique_ptr<node_bus> bus_;  // with a shared (redis) store: other nodes' appends
    std::optional<net::signal_set> signals_;
    net::steady_timer stop_deadline_{ioc_};
    net::steady_timer tick_timer_{ioc_};
    std::unordered_map<connection_id, std::weak_ptr<ws_session>> ws_;
    std::unordered_map<std::uint64_t, std::weak_ptr<http_session>> http_;
    std::unordered_map<std::string, std::uint32_t> connections_per_ip_;
    connection_id next_ws_id_ = 1;
    std::uint64_t next_http_id_ = 1;
    bool stopping_ = false;
};

} // namespace holdfast::relay
