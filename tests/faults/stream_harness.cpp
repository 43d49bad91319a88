// stream_harness: wiring, the publish pacer, the relay crash, the wait loop and the exactness
// checks. Layer: tests (faults).
#include "stream_harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <unistd.h>

namespace holdfast::faults {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

const std::string stream_harness::session_id = "faults-chat";

namespace {

fs::path fresh_dir(std::uint64_t seed) {
    static std::atomic<int> counter{0};
    fs::path dir = fs::temp_directory_path() / ("holdfast-faults-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(counter++) + "-seed" + std::to_string(seed));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::size_t payload_index(const std::string& payload_json) {
    return static_cast<std::size_t>(boost::json::parse(payload_json).at("i").to_number<std::uint64_t>());
}

std::string describe(const error& err) {
    return std::string(to_string(err.code)) + ": " + err.detail;
}

} // namespace

stream_harness::stream_harness(scenario s)
    : scenario_(s), dir_(fresh_dir(s.seed)), relay_(relay_process::default_binary(), "sqlite:" + (dir_ / "relay.db").string(), dir_),
      publish_timer_(ioc_), restart_timer_(ioc_) {
    relay_.start();
    cut_config cuts;
    cuts.seed = s.seed;
    cuts.max_cuts = s.max_cuts;
    proxy_ = std::make_unique<fault_proxy>(ioc_, relay_.port(), cuts);

    publisher_.host = make_host("agent-" + std::to_string(s.seed), "agent-1", proxy_->port());
    native::client_handlers handlers;
    handlers.on_ack = [this](std::uint64_t request, std::uint64_t serial) {
        auto& serials = publisher_.acks[request];
        serials.push_back(serial);
        if (serials.size() == 1) ++acked_;
        maybe_kill_relay();
    };
    handlers.on_reject = [this](std::uint64_t request, const error& err) {
        publisher_.rejects.push_back("request " + std::to_string(request) + " " + describe(err));
    };
    handlers.on_error = [this](const error& err) { publisher_.errors.push_back(describe(err)); };
    publisher_.host->set_handlers(std::move(handlers));

    subscribers_.resize(s.subscribers);
    for (std::size_t i = 0; i < s.subscribers; ++i) {
        auto& sub = subscribers_[i];
        sub.host = make_host("sub-" + std::to_string(i) + "-" + std::to_string(s.seed), "", proxy_->port());
        native::client_handlers h;
        h.on_session = [&sub](const native::session_status& status) {
            if (!status.reset) return;
            ++sub.resets;  // the sqlite log keeps its epoch: a reset would be a bug
            sub.serials.clear();
            sub.payloads.clear();
        };
        h.on_event = [&sub](const native::delivered_event& e) {
            sub.serials.push_back(e.serial);
            sub.payloads[e.serial] = e.payload_json;
        };
        h.on_error = [&sub](const error& err) { sub.errors.push_back(describe(err)); };
        sub.host->set_handlers(std::move(h));
    }
}

stream_harness::~stream_harness() {
    publish_timer_.cancel();
    restart_timer_.cancel();
    subscribers_.clear();
    publisher_.host.reset();
    proxy_.reset();
    relay_.stop();
    if (!::testing::Test::HasFailure()) {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
}

std::unique_ptr<native::client_host> stream_harness::make_host(const std::string& id, const std::string& agent, std::uint16_t port) {
    client::client_config config;
    config.client_id = id;
    config.agent = agent;
    config.producer_epoch = 1;
    config.random_seed = scenario_.seed * 1'000'003 + std::hash<std::string>{}(id);
    // Short delays: a test rides through ~20 losses in seconds (the defaults are for the web).
    config.backoff = client::backoff_config{20, 250, 5};
    native::link_options options;
    options.tick_period = std::chrono::milliseconds(100);
    return std::make_unique<native::client_host>(ioc_, std::move(config), "127.0.0.1", port, options);
}

void stream_harness::publish_tick() {
    for (std::size_t n = 0; n < scenario_.publish_per_tick && publisher_.published < scenario_.events; ++n) {
        const std::size_t i = publisher_.published++;
        const std::string payload = R"({"i":)" + std::to_string(i) + R"(,"text":"t)" + std::to_string(i) + R"( "})";
        auto request = publisher_.host->publish(session_id, "message.delta", "m" + std::to_string(i / 100), payload);
        if (!request) {
            publisher_.errors.push_back("publish " + std::to_string(i) + ": " + describe(request.err()));
            continue;
        }
        publisher_.index_of_request[request.value()] = i;
    }
    if (publisher_.published >= scenario_.events) return;
    publish_timer_.expires_after(std::chrono::milliseconds(2));
    publish_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) publish_tick();
    });
}

void stream_harness::maybe_kill_relay() {
    if (killed_ || !scenario_.kill_relay_after_acks || acked_ < *scenario_.kill_relay_after_acks) return;
    killed_ = true;
    relay_.kill_hard();
    notes_.push_back("relay SIGKILLed after " + std::to_string(acked_) + " acks");
    restart_timer_.expires_after(scenario_.relay_down_for);
    restart_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        try {
            relay_.start();  // same port, same sqlite file
            restarted_ = true;
            notes_.push_back("relay restarted on port " + std::to_string(relay_.port()));
        } catch (const std::exception& e) {
            notes_.push_back(std::string("relay restart failed: ") + e.what());
        }
    });
}

bool stream_harness::caught_up(std::uint64_t head) const {
    for (const auto& sub : subscribers_) {
        const auto* s = sub.host->core().find_session(session_id);
        if (!s || s->last_serial() < head) return false;
    }
    return true;
}

bool stream_harness::run_until(const std::function<bool()>& done, clock_type::time_point deadline) {
    while (!done()) {
        if (clock_type::now() > deadline) return false;
        if (ioc_.stopped()) ioc_.restart();
        ioc_.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
}

bool stream_harness::run() {
    const auto deadline = clock_type::now() + scenario_.time_limit;
    for (auto& sub : subscribers_) {
        (void)sub.host->open_session(session_id);
        sub.host->start();
    }
    publisher_.host->start();
    publish_tick();
    const std::size_t n = scenario_.events;
    const bool acked = run_until(
        [&] {
            return publisher_.published == n && acked_ + publisher_.rejects.size() >= n &&
                   (!scenario_.kill_relay_after_acks || restarted_) && caught_up(n);
        },
        deadline);
    if (!acked || !relay_.running()) return false;
    // The relay's head, not n, is the target: a duplicate append would make it larger.
    final_log_ = read_relay_log(relay_.port(), session_id);
    const std::uint64_t head = final_log_->head_serial;
    return run_until([&] { return caught_up(head); }, deadline);
}

void stream_harness::check() {
    const std::size_t n = scenario_.events;
    ASSERT_TRUE(final_log_.has_value()) << "the scenario did not finish";
    const relay_log& log = *final_log_;

    // The relay's log: serials 1..n without holes, each published payload exactly once.
    EXPECT_EQ(log.head_serial, n);
    ASSERT_EQ(log.events.size(), log.head_serial);
    std::vector<std::size_t> copies(n, 0);
    std::map<std::size_t, std::uint64_t> serial_of_index;
    for (std::size_t k = 0; k < log.events.size(); ++k) {
        const auto& e = log.events[k];
        EXPECT_EQ(e.serial, k + 1) << "hole or disorder in the relay log";
        const std::size_t i = payload_index(e.payload_json);
        ASSERT_LT(i, n);
        if (++copies[i] == 1) serial_of_index[i] = e.serial;
    }
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(copies[i], 1u) << "payload " << i << " stored " << copies[i] << " times";

    // Every publish answered by exactly one ack, carrying the serial its payload sits at.
    EXPECT_TRUE(publisher_.rejects.empty()) << publisher_.rejects.front();
    EXPECT_TRUE(publisher_.errors.empty()) << publisher_.errors.front();
    EXPECT_EQ(publisher_.index_of_request.size(), n);
    for (const auto& [request, index] : publisher_.index_of_request) {
        auto it = publisher_.acks.find(request);
        if (it == publisher_.acks.end()) {
            ADD_FAILURE() << "request " << request << " (payload " << index << ") never acked";
            continue;
        }
        EXPECT_EQ(it->second.size(), 1u) << "request " << request << " acked " << it->second.size() << " times";
        EXPECT_EQ(it->second.front(), serial_of_index[index]) << "request " << request << " acked with a wrong serial";
    }
    EXPECT_EQ(publisher_.acks.size(), publisher_.index_of_request.size()) << "acks for unknown requests";

    // Every subscriber: serials 1..head exactly once, in order, with the relay's payloads.
    for (std::size_t s = 0; s < subscribers_.size(); ++s) {
        const auto& sub = subscribers_[s];
        SCOPED_TRACE("subscriber " + std::to_string(s));
        EXPECT_EQ(sub.resets, 0u);
        EXPECT_TRUE(sub.errors.empty()) << sub.errors.front();
        ASSERT_EQ(sub.serials.size(), log.head_serial);
        for (std::size_t k = 0; k < sub.serials.size(); ++k) {
            if (sub.serials[k] != k + 1) {
                ADD_FAILURE() << "delivery " << k << " has serial " << sub.serials[k] << ", want " << k + 1;
                break;
            }
        }
        for (const auto& e : log.events) {
            auto it = sub.payloads.find(e.serial);
            if (it == sub.payloads.end() || it->second != e.payload_json) {
                ADD_FAILURE() << "serial " << e.serial << " payload differs from the relay's";
                break;
            }
        }
    }
    // The run must actually have been faulty to prove anything.
    EXPECT_GT(proxy_->cuts_done(), 0u);
    if (scenario_.kill_relay_after_acks) {
        EXPECT_TRUE(restarted_);
    }
}

std::string stream_harness::summary() const {
    std::ostringstream out;
    out << "seed " << scenario_.seed << ": " << proxy_->cuts_done() << " cuts, " << proxy_->connections_accepted()
        << " proxied links (publisher " << publisher_.host->connects() << ", subscribers";
    for (const auto& sub : subscribers_) out << ' ' << sub.host->connects();
    out << "), published " << publisher_.published << ", acked " << acked_;
    if (killed_) out << ", relay killed" << (restarted_ ? " and restarted" : " (not restarted)");
    return out.str();
}

std::string stream_harness::report() const {
    std::ostringstream out;
    out << summary() << "\nrerun: HOLDFAST_FAULT_SEED=" << scenario_.seed << "; files in " << dir_.string() << "\n";
    out << "publisher: " << publisher_.host->connects() << " links, " << publisher_.host->core().pending_publishes()
        << " unacked\n";
    for (std::size_t s = 0; s < subscribers_.size(); ++s) {
        const auto& sub = subscribers_[s];
        const auto* state = sub.host->core().find_session(session_id);
        out << "subscriber " << s << ": " << sub.host->connects() << " links, " << sub.serials.size()
            << " delivered, lastSerial " << (state ? state->last_serial() : 0) << ", state "
            << (state ? to_string(state->state()) : "?") << ", resets " << sub.resets << "\n";
    }
    for (const auto& note : notes_) out << "  harness: " << note << "\n";
    out << proxy_->trace_text();
    out << "relay log:\n" << relay_.log_text();
    return out.str();
}

} // namespace holdfast::faults
