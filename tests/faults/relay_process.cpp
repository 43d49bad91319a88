// relay_process: posix_spawn, log scraping for the bound port, signals. Layer: tests (faults).
#include "relay_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace holdfast::faults {

namespace fs = std::filesystem;

pid_t spawn_logged(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> owned = args;  // posix_spawn wants mutable strings
    std::vector<char*> argv;
    for (auto& a : owned) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, owned[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + owned[0] + " failed: " + std::to_string(rc));
    return pid;
}

relay_process::relay_process(fs::path binary, std::string store, fs::path dir, std::vector<std::string> extra_args)
    : binary_(std::move(binary)), store_(std::move(store)), dir_(std::move(dir)), log_path_(dir_ / "relay.log"),
      extra_args_(std::move(extra_args)) {
    fs::create_directories(dir_ / "web");
    fs::create_directories(dir_ / "sdk");
}

fs::path relay_process::default_binary() {
    if (const char* chosen = std::getenv("HOLDFAST_RELAY_BINARY"); chosen && *chosen) return chosen;
    return HOLDFAST_RELAY_BINARY;
}

relay_process::~relay_process() {
    if (running()) stop();
}

std::string relay_process::log_text() const {
    std::ifstream in(log_path_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void relay_process::start(std::uint16_t port, std::chrono::milliseconds timeout) {
    if (running()) throw std::runtime_error("relay already running");
    if (port_ != 0) port = port_;
    const std::size_t log_offset = fs::exists(log_path_) ? fs::file_size(log_path_) : 0;

    std::vector<std::string> args = {binary_.string(),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--store",
                                     store_,
                                     "--static-dir",
                                     (dir_ / "web").string(),
                                     "--sdk-dir",
                                     (dir_ / "sdk").string()};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = spawn_logged(args, log_path_);

    // The relay logs "holdfast-relay: listening on 127.0.0.1:PORT (ws /v1/ws), ..." once bound.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string marker = "listening on 127.0.0.1:";
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string log = log_text();
        const auto at = log.find(marker, log_offset);
        // Parse only a whole line: the relay may be caught halfway through writing it.
        if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
            port_ = static_cast<std::uint16_t>(std::stoul(log.substr(at + marker.size())));
            return;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("relay exited during start:\n" + log.substr(log_offset));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill_hard();
    throw std::runtime_error("relay did not report listening in time:\n" + log_text());
}

void relay_process::kill_hard() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

void relay_process::stop() {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    // The relay exits within ~2 s of SIGTERM; escalate rather than hang a test run.
    for (int i = 0; i < 500; ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_hard();
}

} // namespace holdfast::faults
