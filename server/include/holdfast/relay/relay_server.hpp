// The relay process as a library: the Boost.Beast shell (listener, HTTP sessions, WebSocket
// sessions) around relay_core, on one io_context run by one thread. Layer: relay network shell.
// Tests start it on port 0 in-process; main.cpp adds flags. Beast stays out of this header.
#pragma once
#include "holdfast/relay/relay_types.hpp"
#include "holdfast/relay/store.hpp"
#include "holdfast/result.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace holdfast::relay {

struct server_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: an ephemeral port, reported by start()
    std::filesystem::path static_dir;
    std::filesystem::path sdk_dir;
    relay_config relay;
    /// Browser Origins allowed to open a WebSocket (exact "scheme://host[:port]" strings); others
    /// get 403. Empty: every origin (development). Requests without an Origin header are not
    /// from a browser page and are let through.
    std::vector<std::string> allowed_origins;
    /// WebSocket connections open at once from one IP address; more get 429. 0: unlimited.
    std::uint32_t max_connections_per_ip = 256;
    bool handle_signals = false;  // stop on SIGINT/SIGTERM (the executable sets this)
};

class relay_shell;

class relay_server {
public:
    relay_server(server_config config, std::unique_ptr<store> backing);
    ~relay_server();
    relay_server(const relay_server&) = delete;
    relay_server& operator=(const relay_server&) = delete;

    /// Binds and listens. Returns the bound port (useful with port 0). Errors: closed (with detail).
    result<std::uint16_t> start();

    /// Serves on the calling thread until stop() (or a signal) and every connection has ended.
    void run();

    /// Thread-safe: stops accepting, closes WebSockets with "going away", ends HTTP sessions, and
    /// makes run() return (at the latest after a short grace period).
    void stop();

private:
    std::unique_ptr<relay_shell> shell_;
};

} // namespace holdfast::relay
