// redis_fixture: drives tests/redis/redis-server.sh. Layer: tests (redis).
#include "redis_fixture.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>

namespace holdfast::redis_tests {

namespace {

std::string capture(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed: " + command);
    std::array<char, 4096> buffer;
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" + out);
    return out;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

} // namespace

redis_fixture::redis_fixture(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    port_ = static_cast<std::uint16_t>(std::stoul(run("start")));
}

redis_fixture::~redis_fixture() {
    try {
        stop();
    } catch (...) {
    }
}

std::string redis_fixture::run(const std::string& action) const {
    return capture(std::string("bash ") + quoted(HOLDFAST_REDIS_SCRIPT) + " " + action + " " + quoted(dir_.string()));
}

std::string redis_fixture::url(unsigned db, const std::string& query) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db) + query;
}

void redis_fixture::stop() { run("stop"); }

void redis_fixture::restart() { run("restart"); }

std::string redis_fixture::cli(const std::string& args) const {
    return capture("redis-cli -h 127.0.0.1 -p " + std::to_string(port_) + " " + args);
}

} // namespace holdfast::redis_tests
