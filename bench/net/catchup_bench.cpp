// holdfast_catchup_bench: what a reconnecting reader waits for, measured end to end on loopback
// with the real relay binary (memory store) and client_host (client_core over Beast).
//   cold catch-up: a fresh client attaches from serial 0 to a 10,000-event session; time from
//     start() until it holds all 10,000 (connect, handshake, relay replay, decode, apply, JSON).
//   resume: a client holding serial 5,000 was cut off while 5,000 more were appended; time from
//     its new link opening until it holds all 10,000.
//   live latency: an agent publishes 1,000 events/s, a subscriber measures publish -> delivery
//     with the same process clock; p50/p99 over 5,000 events.
// Layer: benchmarks. Figures go to docs/benchmarks.md. Usage: holdfast_catchup_bench [runs]
// ($HOLDFAST_RELAY_BINARY picks another relay build).
#include "fault_proxy.hpp"
#include "relay_process.hpp"

#include "holdfast/native/client_host.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <unistd.h>

namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;
using namespace holdfast;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t total_events = 10'000;
constexpr std::size_t resume_from = 5'000;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

class bench {
public:
    explicit bench(std::uint16_t relay_port) : relay_port_(relay_port) {}

    void run_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
        const auto deadline = clock_type::now() + limit;
        while (!done()) {
            if (clock_type::now() > deadline) throw std::runtime_error("benchmark step timed out");
            if (ioc_.stopped()) ioc_.restart();
            ioc_.run_one_for(std::chrono::milliseconds(20));
        }
    }

    std::unique_ptr<native::client_host> client(const std::string& id, const std::string& agent, std::uint16_t port) {
        client::client_config config;
        config.client_id = id;
        config.agent = agent;
        config.backoff = client::backoff_config{20, 100, 5};
        return std::make_unique<native::client_host>(ioc_, std::move(config), "127.0.0.1", port);
    }

    /// Appends `count` message deltas (100 per message, as a streamed answer) and waits for acks.
    void append(native::client_host& agent, const std::string& session, std::size_t first, std::size_t count) {
        std::size_t acked = 0;
        native::client_handlers h;
        h.on_ack = [&](std::uint64_t, std::uint64_t) { ++acked; };
        agent.set_handlers(h);
        for (std::size_t i = first; i < first + count; ++i) {
            (void)agent.publish(session, "message.delta", "m" + std::to_string(i / 100),
                                R"({"text":"token-)" + std::to_string(i) + R"( "})");
        }
        run_until([&] { return acked == count; });
        agent.set_handlers({});
    }

    /// A fresh client follows `session` until it holds `head`; returns ms from start().
    double cold_catch_up(const std::string& session, std::uint64_t head, int run) {
        auto reader = client("cold-" + std::to_string(run), "", relay_port_);
        std::uint64_t last = 0;
        native::client_handlers h;
        h.on_session = [&](const native::session_status& s) { last = s.last_serial; };
        reader->set_handlers(h);
        (void)reader->open_session(session);
        const auto t0 = clock_type::now();
        reader->start();
        run_until([&] { return last >= head; });
        const double ms = ms_since(t0);
        reader->close();
        return ms;
    }

    /// A reader holding resume_from events is cut off while the rest is appended; returns ms from
    /// its new link opening to holding them all.
    double resume(int run) {
        const std::string session = "bench-resume-" + std::to_string(run);
        holdfast::faults::cut_config no_cuts;
        no_cuts.max_cuts = 0;
        holdfast::faults::fault_proxy proxy(ioc_, relay_port_, no_cuts);
        auto agent = client("resume-agent-" + std::to_string(run), "agent", relay_port_);
        agent->start();
        auto reader = client("resume-reader-" + std::to_string(run), "", proxy.port());
        std::uint64_t last = 0;
        std::optional<clock_type::time_point> reopened;
        bool cut = false;
        native::client_handlers h;
        h.on_session = [&](const native::session_status& s) { last = s.last_serial; };
        h.on_link = [&](native::link_state state) {
            if (cut && state == native::link_state::open && !reopened) reopened = clock_type::now();
        };
        reader->set_handlers(h);
        (void)reader->open_session(session);
        reader->start();
        append(*agent, session, 0, resume_from);
        run_until([&] { return last >= resume_from; });
        proxy.set_upstream_port(1);  // reconnects now fail until the rest is appended
        cut = true;
        proxy.cut_all();
        append(*agent, session, resume_from, total_events - resume_from);
        proxy.set_upstream_port(relay_port_);
        run_until([&] { return last >= total_events && reopened; });
        const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - *reopened).count();
        reader->close();
        agent->close();
        return ms;
    }

    /// Publish -> delivery latency at `rate` events/s over `count` events (after 100 warm-up).
    std::vector<double> live_latency(std::size_t rate, std::size_t count, int run) {
        const std::string session = "bench-live-" + std::to_string(run);
        auto agent = client("live-agent-" + std::to_string(run), "agent", relay_port_);
        auto reader = client("live-reader-" + std::to_string(run), "", relay_port_);
        std::vector<double> latencies_ms;
        const std::size_t warm_up = 100, total = warm_up + count;
        const auto origin = clock_type::now();
        native::client_handlers h;
        h.on_event = [&](const native::delivered_event& e) {
            const auto sent_ns = boost::json::parse(e.payload_json).at("t").to_number<std::int64_t>();
            const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - origin).count();
            if (e.serial > warm_up) latencies_ms.push_back(static_cast<double>(now_ns - sent_ns) / 1e6);
        };
        bool live = false;
        h.on_session = [&](const native::session_status& s) { live = s.state == "live"; };
        reader->set_handlers(h);
        (void)reader->open_session(session);
        reader->start();
        agent->start();
        run_until([&] { return live && agent->state() == native::link_state::open; });

        std::size_t published = 0;
        net::steady_timer pacer(ioc_);
        const auto start = clock_type::now();
        std::function<void()> tick = [&] {
            const auto due = std::min<std::size_t>(
                total, static_cast<std::size_t>(ms_since(start) * static_cast<double>(rate) / 1000.0) + 1);
            for (; published < due; ++published) {
                const auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - origin).count();
                (void)agent->publish(session, "message.delta", "live-" + std::to_string(published / 100),
                                     R"({"text":"token ","t":)" + std::to_string(t) + "}");
            }
            if (published >= total) return;
            pacer.expires_after(std::chrono::microseconds(500));
            pacer.async_wait([&](boost::system::error_code ec) {
                if (!ec) tick();
            });
        };
        tick();
        run_until([&] { return latencies_ms.size() >= count; }, std::chrono::seconds(120));
        reader->close();
        agent->close();
        return latencies_ms;
    }

private:
    net::io_context ioc_;
    std::uint16_t relay_port_;
};

} // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
    const fs::path dir = fs::temp_directory_path() / ("holdfast-catchup-bench-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    try {
        holdfast::faults::relay_process relay(holdfast::faults::relay_process::default_binary(), "memory:", dir);
        relay.start();
        bench b(relay.port());
        std::printf("relay %s (memory store), %d runs each\n",
                    holdfast::faults::relay_process::default_binary().c_str(), runs);

        auto agent = b.client("catchup-agent", "agent", relay.port());
        agent->start();
        const auto t0 = clock_type::now();
        b.append(*agent, "bench-catchup", 0, total_events);
        std::printf("append %zu events through one client (acked): %.1f ms\n", total_events, ms_since(t0));
        agent->close();

        std::vector<double> cold, resumed;
        for (int r = 0; r < runs; ++r) cold.push_back(b.cold_catch_up("bench-catchup", total_events, r));
        for (int r = 0; r < runs; ++r) resumed.push_back(b.resume(r));
        std::printf("cold catch-up, serial 0 -> %zu: median %.1f ms (min %.1f, max %.1f)\n", total_events,
                    percentile(cold, 0.5), percentile(cold, 0.0), percentile(cold, 1.0));
        std::printf("resume, serial %zu -> %zu after a cut: median %.1f ms (min %.1f, max %.1f)\n", resume_from,
                    total_events, percentile(resumed, 0.5), percentile(resumed, 0.0), percentile(resumed, 1.0));

        // Latency tails are sensitive to whatever else the machine runs: three runs, each printed.
        std::vector<double> p50s, p99s;
        for (int r = 0; r < std::min(runs, 3); ++r) {
            auto latency = b.live_latency(1000, 5000, r);
            p50s.push_back(percentile(latency, 0.5));
            p99s.push_back(percentile(latency, 0.99));
            std::printf("live latency at 1,000 ev/s over %zu events: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                        latency.size(), p50s.back(), p99s.back(), percentile(latency, 1.0));
        }
        std::printf("live latency, median of %zu runs: p50 %.3f ms, p99 %.3f ms\n", p50s.size(), percentile(p50s, 0.5),
                    percentile(p99s, 0.5));
        relay.stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "holdfast_catchup_bench: %s\n", e.what());
        return 1;
    }
    fs::remove_all(dir);
    return 0;
}
