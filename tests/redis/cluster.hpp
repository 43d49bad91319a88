// cluster: several real holdfast-relay processes sharing one Redis, and native clients each
// reaching "its" node through a TCP forwarder (fault_proxy with cuts off) that plays the load
// balancer: when a node dies the test points that node's forwarders at a live node and cuts their
// links, as a health-checking balancer would. Everything runs on one io_context driven by the
// test thread, bounded in time. Layer: tests (redis).
#pragma once
#include "redis_fixture.hpp"

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
#include <string>
#include <vector>

namespace holdfast::redis_tests {

struct cluster_client {
    std::string name;
    std::size_t node = 0;  // where its balancer points now
    std::unique_ptr<faults::fault_proxy> balancer;
    std::unique_ptr<native::client_host> host;
    std::unique_ptr<boost::asio::steady_timer> pacer;
    // As a subscriber (every client follows the session):
    std::vector<std::uint64_t> serials;             // in delivery order
    std::map<std::uint64_t, std::string> payloads;  // serial -> payload JSON
    std::size_t resets = 0;
    std::size_t continuity_losses = 0;  // resets that said the relay's retention dropped events
    std::vector<std::string> errors;
    // As a publisher:
    std::size_t to_publish = 0;
    std::size_t published = 0;
    std::map<std::uint64_t, std::string> payload_of_request;
    std::map<std::uint64_t, std::vector<std::uint64_t>> acks;  // request -> serials acked
    std::vector<std::string> rejects;
};

class cluster {
public:
    /// Starts Redis and `nodes` relays on it. `store_query` is appended to the redis URL.
    cluster(std::size_t nodes, const std::string& name, const std::string& store_query = {},
            std::vector<std::string> relay_args = {});
    ~cluster();

    static const std::string session_id;

    redis_fixture& redis() { return *redis_; }
    faults::relay_process& node(std::size_t i) { return *nodes_.at(i); }
    std::size_t node_count() const { return nodes_.size(); }

    /// A client following session_id through node `node`; `agent` non-empty for an agent.
    cluster_client& add_client(const std::string& name, std::size_t node, const std::string& agent = {});
    /// Starts every client (follow the session, connect).
    void start();
    /// `c` publishes `count` message.delta events, `per_tick` every 2 ms.
    void publish(cluster_client& c, std::size_t count, std::size_t per_tick);

    /// Runs the io_context until `done` or the deadline; false on timeout.
    bool run_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline);
    /// Every publish of every client acked (or rejected).
    bool all_answered() const;
    std::size_t acked() const;
    /// Every client holds serial `head`.
    bool caught_up(std::uint64_t head) const;

    /// SIGKILLs node `i` and sends its clients (through their balancers) to the next live node.
    void kill_node(std::size_t i);
    /// Cuts `c` off (its balancer forwards nowhere) and, later, lets it reach its node again.
    void take_offline(cluster_client& c);
    void bring_online(cluster_client& c);

    /// The session's log as node `i` serves it over HTTP.
    faults::relay_log log_from(std::size_t i) const;

    /// Runs to the end (every publish answered, every client at the head) and asserts exact
    /// delivery: the log holds serials 1..expected_events without a hole, each published payload
    /// once; each publish acked once with its payload's serial; each client delivered 1..head once,
    /// in order, with the log's payloads and no reset.
    void finish_and_check(std::size_t expected_events, std::chrono::seconds limit);

    std::string report() const;

private:
    void pace(cluster_client& c, std::size_t per_tick);

    std::filesystem::path dir_;
    boost::asio::io_context ioc_;
    std::unique_ptr<redis_fixture> redis_;
    std::vector<std::unique_ptr<faults::relay_process>> nodes_;
    std::vector<std::unique_ptr<cluster_client>> clients_;
    std::vector<std::string> notes_;
};

} // namespace holdfast::redis_tests
