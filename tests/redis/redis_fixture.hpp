// redis_fixture: a throwaway redis-server for one test (tests/redis/redis-server.sh: loopback, a
// free port, AOF with appendfsync always, a temp dir), restartable on the same port and data.
// Layer: tests (redis).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace holdfast::redis_tests {

class redis_fixture {
public:
    explicit redis_fixture(std::filesystem::path dir);
    ~redis_fixture();
    redis_fixture(const redis_fixture&) = delete;
    redis_fixture& operator=(const redis_fixture&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// The relay's --store value for database `db`, with optional URL parameters ("?...").
    std::string url(unsigned db = 0, const std::string& query = {}) const;
    void stop();
    /// Stops and starts it again on the same port; the AOF brings the data back.
    void restart();
    /// Runs redis-cli with `args` against it; returns its stdout (throws when it fails).
    std::string cli(const std::string& args) const;

private:
    std::string run(const std::string& action) const;

    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
};

} // namespace holdfast::redis_tests
