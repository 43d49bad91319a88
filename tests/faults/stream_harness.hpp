// stream_harness: one resilience scenario end to end — a real relay child process, the fault
// proxy in front of it, one publishing agent and several subscribers (client_host each) on one
// io_context driven by the test thread, and the checks that delivery was exact. Layer: tests
// (faults). Everything is bounded in time: a stuck scenario fails, it never hangs.
#pragma once
#include "fault_proxy.hpp"
#include "relay_log.hpp"
#include "relay_process.hpp"

#include "holdfast/native/client_host.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace holdfast::faults {

struct scenario {
    std::uint64_t seed = 1;
    std::size_t events = 2000;            // message.delta events the agent publishes
    std::size_t subscribers = 3;
    std::size_t max_cuts = 20;
    std::size_t publish_per_tick = 8;     // every 2 ms, so cuts land mid-stream
    std::optional<std::size_t> kill_relay_after_acks;  // SIGKILL once this many publishes are acked
    std::chrono::milliseconds relay_down_for{300};
    std::chrono::seconds time_limit{30};
};

struct subscriber_record {
    std::unique_ptr<native::client_host> host;
    std::vector<std::uint64_t> serials;              // in delivery order
    std::map<std::uint64_t, std::string> payloads;   // serial -> payload JSON
    std::size_t resets = 0;
    std::vector<std::string> errors;
};

struct publisher_record {
    std::unique_ptr<native::client_host> host;
    std::map<std::uint64_t, std::size_t> index_of_request;            // request -> payload index
    std::map<std::uint64_t, std::vector<std::uint64_t>> acks;         // request -> serials acked
    std::vector<std::string> rejects;
    std::vector<std::string> errors;
    std::size_t published = 0;
};

class stream_harness {
public:
    explicit stream_harness(scenario s);
    ~stream_harness();

    /// Runs the scenario to completion or time limit; true when every client caught up.
    bool run();
    /// Asserts exact delivery (GoogleTest EXPECT/ADD_FAILURE); call after run().
    void check();
    /// One line: seed, cuts, links, acks.
    std::string summary() const;
    /// summary() plus per-client counters, the proxy trace and the relay log: printed on failure.
    std::string report() const;

    static const std::string session_id;

private:
    std::unique_ptr<native::client_host> make_host(const std::string& id, const std::string& agent, std::uint16_t port);
    void publish_tick();
    void maybe_kill_relay();
    bool caught_up(std::uint64_t head) const;
    bool run_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline);

    scenario scenario_;
    std::filesystem::path dir_;
    boost::asio::io_context ioc_;
    relay_process relay_;
    std::unique_ptr<fault_proxy> proxy_;
    boost::asio::steady_timer publish_timer_;
    boost::asio::steady_timer restart_timer_;
    publisher_record publisher_;
    std::vector<subscriber_record> subscribers_;
    std::size_t acked_ = 0;
    bool killed_ = false;
    bool restarted_ = false;
    std::optional<relay_log> final_log_;
    std::vector<std::string> notes_;
};

} // namespace holdfast::faults
