// cluster: relay nodes on one Redis, balanced clients, exactness checks. Layer: tests (redis).
#include "cluster.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <sstream>

namespace holdfast::redis_tests {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

const std::string cluster::session_id = "redis-chat";

namespace {

fs::path fresh_dir(const std::string& name) {
    static std::atomic<int> counter{0};
    fs::path dir = fs::temp_directory_path() /
                   ("holdfast-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string describe(const error& err) { return std::string(to_string(err.code)) + ": " + err.detail; }

} // namespace

cluster::cluster(std::size_t nodes, const std::string& name, const std::string& store_query,
                 std::vector<std::string> relay_args)
    : dir_(fresh_dir(name)) {
    redis_ = std::make_unique<redis_fixture>(dir_ / "redis");
    for (std::size_t i = 0; i < nodes; ++i) {
        nodes_.push_back(std::make_unique<faults::relay_process>(faults::relay_process::default_binary(),
                                                                 redis_->url(0, store_query),
                                                                 dir_ / ("node" + std::to_string(i)), relay_args));
        nodes_.back()->start();
    }
}

cluster::~cluster() {
    for (auto& c : clients_) {
        if (c->pacer) c->pacer->cancel();
    }
    clients_.clear();
    for (auto& n : nodes_) n->stop();
    redis_.reset();
    if (!::testing::Test::HasFailure()) {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
}

cluster_client& cluster::add_client(const std::string& name, std::size_t node, const std::string& agent) {
    auto c = std::make_unique<cluster_client>();
    c->name = name;
    c->node = node;
    c->balancer = std::make_unique<faults::fault_proxy>(ioc_, nodes_.at(node)->port(), faults::cut_config{1, 0});
    client::client_config config;
    config.client_id = name;
    config.agent = agent;
    config.producer_epoch = 1;
    config.random_seed = std::hash<std::string>{}(name);
    config.backoff = client::backoff_config{20, 250, 5};  // short: the test rides through failovers
    native::link_options options;
    options.tick_period = std::chrono::milliseconds(100);
    c->host = std::make_unique<native::client_host>(ioc_, std::move(config), "127.0.0.1", c->balancer->port(), options);
    cluster_client& ref = *c;
    native::client_handlers h;
    h.on_session = [&ref](const native::session_status& status) {
        if (!status.reset) return;
        ++ref.resets;
        if (status.continuity_lost) ++ref.continuity_losses;
        ref.serials.clear();
        ref.payloads.clear();
    };
    h.on_event = [&ref](const native::delivered_event& e) {
        ref.serials.push_back(e.serial);
        ref.payloads[e.serial] = e.payload_json;
    };
    h.on_ack = [&ref](std::uint64_t request, std::uint64_t serial) { ref.acks[request].push_back(serial); };
    h.on_reject = [&ref](std::uint64_t request, const error& err) {
        ref.rejects.push_back("request " + std::to_string(request) + " " + describe(err));
    };
    h.on_error = [&ref](const error& err) { ref.errors.push_back(describe(err)); };
    c->host->set_handlers(std::move(h));
    clients_.push_back(std::move(c));
    return ref;
}

void cluster::start() {
    for (auto& c : clients_) {
        (void)c->host->open_session(session_id);
        c->host->start();
    }
}

void cluster::publish(cluster_client& c, std::size_t count, std::size_t per_tick) {
    c.to_publish += count;
    if (!c.pacer) c.pacer = std::make_unique<boost::asio::steady_timer>(ioc_);
    pace(c, per_tick);
}

void cluster::pace(cluster_client& c, std::size_t per_tick) {
    for (std::size_t n = 0; n < per_tick && c.published < c.to_publish; ++n) {
        const std::size_t i = c.published++;
        const std::string payload = R"({"c":")" + c.name + R"(","i":)" + std::to_string(i) + "}";
        auto request = c.host->publish(session_id, "message.delta", "m-" + c.name, payload);
        if (!request) {
            c.errors.push_back("publish " + std::to_string(i) + ": " + describe(request.err()));
            continue;
        }
        c.payload_of_request[request.value()] = payload;
    }
    if (c.published >= c.to_publish) return;
    c.pacer->expires_after(std::chrono::milliseconds(2));
    c.pacer->async_wait([this, &c, per_tick](boost::system::error_code ec) {
        if (!ec) pace(c, per_tick);
    });
}

bool cluster::run_until(const std::function<bool()>& done, clock_type::time_point deadline) {
    while (!done()) {
        if (clock_type::now() > deadline) return false;
        if (ioc_.stopped()) ioc_.restart();
        ioc_.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
}

bool cluster::all_answered() const {
    for (const auto& c : clients_) {
        if (c->published < c->to_publish) return false;
        std::size_t answered = c->rejects.size();
        for (const auto& [request, serials] : c->acks) answered += serials.empty() ? 0 : 1;
        if (answered < c->payload_of_request.size()) return false;
    }
    return true;
}

std::size_t cluster::acked() const {
    std::size_t n = 0;
    for (const auto& c : clients_) n += c->acks.size();
    return n;
}

bool cluster::caught_up(std::uint64_t head) const {
    for (const auto& c : clients_) {
        const auto* s = c->host->core().find_session(session_id);
        if (!s || s->last_serial() < head) return false;
    }
    return true;
}

void cluster::kill_node(std::size_t i) {
    nodes_.at(i)->kill_hard();
    std::size_t target = i;
    for (std::size_t step = 1; step < nodes_.size(); ++step) {
        const std::size_t candidate = (i + step) % nodes_.size();
        if (nodes_[candidate]->running()) {
            target = candidate;
            break;
        }
    }
    notes_.push_back("node " + std::to_string(i) + " SIGKILLed after " + std::to_string(acked()) +
                     " acks; its clients go to node " + std::to_string(target));
    for (auto& c : clients_) {
        if (c->node != i) continue;
        c->node = target;
        c->balancer->set_upstream_port(nodes_[target]->port());
        c->balancer->cut_all();  // the dead node's links are gone anyway; do not wait for timeouts
    }
}

void cluster::take_offline(cluster_client& c) {
    // Port 1 on loopback refuses: every reconnect fails until bring_online.
    c.balancer->set_upstream_port(1);
    c.balancer->cut_all();
}

void cluster::bring_online(cluster_client& c) { c.balancer->set_upstream_port(nodes_.at(c.node)->port()); }

faults::relay_log cluster::log_from(std::size_t i) const { return faults::read_relay_log(nodes_.at(i)->port(), session_id); }

void cluster::finish_and_check(std::size_t expected_events, std::chrono::seconds limit) {
    const auto deadline = clock_type::now() + limit;
    ASSERT_TRUE(run_until([&] { return all_answered() && caught_up(expected_events); }, deadline))
        << "publishes not all answered or clients not caught up within " << limit.count() << " s\n"
        << report();
    std::size_t live = 0;
    while (!nodes_.at(live)->running()) ++live;
    const faults::relay_log log = log_from(live);
    // The log's head, not the expected count, is the target: a duplicate append would raise it.
    ASSERT_TRUE(run_until([&] { return caught_up(log.head_serial); }, deadline)) << report();

    // The log: serials 1..head without holes, each published payload exactly once (besides them
    // only the relay's own events, e.g. agent.attached).
    ASSERT_EQ(log.events.size(), log.head_serial);
    std::map<std::string, std::uint64_t> serial_of_payload;
    std::size_t from_clients = 0;
    for (std::size_t k = 0; k < log.events.size(); ++k) {
        const auto& e = log.events[k];
        EXPECT_EQ(e.serial, k + 1) << "hole or disorder in the log";
        if (e.producer_id == "relay") continue;
        ++from_clients;
        EXPECT_TRUE(serial_of_payload.emplace(e.payload_json, e.serial).second)
            << "payload " << e.payload_json << " stored twice";
    }
    EXPECT_EQ(from_clients, expected_events);
    EXPECT_LE(log.head_serial - from_clients, 2u) << "more relay events than the agent's presence";
    // Every node serves the same log.
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (i == live || !nodes_[i]->running()) continue;
        const faults::relay_log other = log_from(i);
        EXPECT_EQ(other.epoch, log.epoch) << "node " << i;
        ASSERT_EQ(other.events.size(), log.events.size()) << "node " << i;
        for (std::size_t k = 0; k < log.events.size(); ++k) {
            EXPECT_EQ(other.events[k].payload_json, log.events[k].payload_json) << "node " << i << " serial " << k + 1;
        }
    }

    std::size_t published = 0;
    for (const auto& c : clients_) {
        SCOPED_TRACE("client " + c->name);
        published += c->payload_of_request.size();
        EXPECT_TRUE(c->rejects.empty()) << c->rejects.front();
        // Every publish answered by exactly one ack, with the serial its payload sits at.
        for (const auto& [request, payload] : c->payload_of_request) {
            auto acked = c->acks.find(request);
            auto stored = serial_of_payload.find(payload);
            if (acked == c->acks.end()) {
                ADD_FAILURE() << "request " << request << " never acked";
                continue;
            }
            EXPECT_EQ(acked->second.size(), 1u) << "request " << request << " acked " << acked->second.size() << " times";
            if (stored == serial_of_payload.end()) {
                ADD_FAILURE() << "payload " << payload << " acked but not in the log";
                continue;
            }
            EXPECT_EQ(acked->second.front(), stored->second) << "request " << request << " acked with a wrong serial";
        }
        // Every client: serials 1..head exactly once, in order, with the log's payloads.
        EXPECT_EQ(c->resets, 0u);
        ASSERT_EQ(c->serials.size(), log.head_serial);
        for (std::size_t k = 0; k < c->serials.size(); ++k) {
            if (c->serials[k] != k + 1) {
                ADD_FAILURE() << "delivery " << k << " has serial " << c->serials[k] << ", want " << k + 1;
                break;
            }
        }
        for (const auto& e : log.events) {
            auto it = c->payloads.find(e.serial);
            if (it == c->payloads.end() || it->second != e.payload_json) {
                ADD_FAILURE() << "serial " << e.serial << " payload differs from the log";
                break;
            }
        }
    }
    EXPECT_EQ(published, expected_events);
    if (::testing::Test::HasFailure()) std::cerr << report();
}

std::string cluster::report() const {
    std::ostringstream out;
    out << "files in " << dir_.string() << "\n";
    for (const auto& c : clients_) {
        const auto* state = c->host->core().find_session(session_id);
        out << "client " << c->name << " (node " << c->node << "): " << c->host->connects() << " links, published "
            << c->published << "/" << c->to_publish << ", acks " << c->acks.size() << ", rejects " << c->rejects.size()
            << ", delivered " << c->serials.size() << ", lastSerial " << (state ? state->last_serial() : 0)
            << ", resets " << c->resets << ", unacked " << c->host->core().pending_publishes() << "\n";
        for (std::size_t k = 0; k < c->errors.size() && k < 5; ++k) out << "  error: " << c->errors[k] << "\n";
        for (std::size_t k = 0; k < c->rejects.size() && k < 5; ++k) out << "  reject: " << c->rejects[k] << "\n";
    }
    for (const auto& note : notes_) out << "  harness: " << note << "\n";
    for (std::size_t i = 0; i < nodes_.size(); ++i) out << "node " << i << " log:\n" << nodes_[i]->log_text();
    return out.str();
}

} // namespace holdfast::redis_tests
