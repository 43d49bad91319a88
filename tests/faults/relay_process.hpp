// relay_process: the real holdfast-relay binary as a child process — started on 127.0.0.1 (port 0
// picks one; a restart reuses it), killed with SIGKILL or stopped with SIGTERM. Its stdout and
// stderr go to a log file, read back for the bound port and for failure reports. Layer: tests
// (faults); the catch-up benchmark uses it too.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace holdfast::faults {

/// Starts `args[0]` with `args` as its argv, stdout and stderr appended to `log`; throws
/// std::runtime_error if it cannot be started. For the relay and the agents the tests kill.
pid_t spawn_logged(const std::vector<std::string>& args, const std::filesystem::path& log);

class relay_process {
public:
    /// `store` is the relay's --store value (sqlite:PATH or memory:); `dir` holds the log and
    /// the empty static/sdk folders the relay is pointed at.
    relay_process(std::filesystem::path binary, std::string store, std::filesystem::path dir,
                  std::vector<std::string> extra_args = {});
    ~relay_process();

    /// $HOLDFAST_RELAY_BINARY if set (test another relay build without reconfiguring), else the
    /// binary CMake named at build time.
    static std::filesystem::path default_binary();
    relay_process(const relay_process&) = delete;
    relay_process& operator=(const relay_process&) = delete;

    /// Starts it and waits for its "listening on" line; throws std::runtime_error on failure.
    /// The first start binds `port` (0: any free port); later starts reuse the bound port.
    void start(std::uint16_t port = 0, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// SIGKILL and reap: a crash, no chance to flush or close anything.
    void kill_hard();
    /// SIGTERM and reap (the relay's clean stop).
    void stop();

    bool running() const noexcept { return pid_ > 0; }
    std::uint16_t port() const noexcept { return port_; }
    std::string log_text() const;

private:
    std::filesystem::path binary_;
    std::string store_;
    std::filesystem::path dir_;
    std::filesystem::path log_path_;
    std::vector<std::string> extra_args_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace holdfast::faults
