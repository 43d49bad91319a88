// holdfast_redis_bench: relay nodes sharing one Redis (AOF, appendfsync always, loopback), with
// the real relay binary and client_host clients. Layer: benchmarks; figures go to
// docs/benchmarks.md ("Several nodes on Redis").
//   throughput: with N = 1, 2, 3 nodes, one writer and one reader per node, under appendfsync
//     always and everysec; the writers publish 1,000 events each (at most 256 unacknowledged at a time) into one session; events/s = all
//     events / time until every reader holds them all (append through Redis + fan-out to every
//     node's reader). Redis commands per event: INFO commandstats deltas / events (commands run inside the append
//     script count too; evalsha + hmget + xrange are the relay's round trips).
//   cross-node latency: a writer on node 0 publishes 50 events/s, a reader on node 1 measures
//     publish -> delivery with the same process clock; p50/p99 over 500 events.
// Usage: holdfast_redis_bench ($HOLDFAST_RELAY_BINARY picks another relay build).
#include "redis_fixture.hpp"
#include "relay_process.hpp"

#include "holdfast/native/client_host.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace holdfast;
using clock_type = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

/// Calls per command name so far (INFO commandstats; commands run inside scripts count too).
std::map<std::string, std::uint64_t> command_calls(const redis_tests::redis_fixture& redis) {
    std::map<std::string, std::uint64_t> calls;
    std::istringstream in(redis.cli("INFO commandstats"));
    for (std::string line; std::getline(in, line);) {
        // cmdstat_evalsha:calls=12,usec=...
        if (!line.starts_with("cmdstat_")) continue;
        const auto colon = line.find(':');
        const auto at = line.find("calls=");
        if (colon == std::string::npos || at == std::string::npos) continue;
        calls[line.substr(8, colon - 8)] = std::stoull(line.substr(at + 6));
    }
    return calls;
}

std::string per_event(const std::map<std::string, std::uint64_t>& before, const std::map<std::string, std::uint64_t>& after,
                      std::uint64_t events) {
    std::string out;
    double total = 0;
    for (const auto& [name, calls] : after) {
        const auto it = before.find(name);
        const double n = static_cast<double>(calls - (it == before.end() ? 0 : it->second)) / static_cast<double>(events);
        if (n < 0.005) continue;
        total += n;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", name.c_str(), n);
        out += buf;
    }
    char head[64];
    std::snprintf(head, sizeof head, "%.2f (", total);
    return head + out + ")";
}

struct setup {
    fs::path dir;
    std::unique_ptr<redis_tests::redis_fixture> redis;
    std::vector<std::unique_ptr<faults::relay_process>> nodes;
    boost::asio::io_context ioc;

    explicit setup(std::size_t node_count, const std::string& name) {
        dir = fs::temp_directory_path() / ("holdfast-redis-bench-" + std::to_string(::getpid()) + "-" + name);
        fs::remove_all(dir);
        redis = std::make_unique<redis_tests::redis_fixture>(dir / "redis");
        for (std::size_t i = 0; i < node_count; ++i) {
            nodes.push_back(std::make_unique<faults::relay_process>(faults::relay_process::default_binary(), redis->url(),
                                                                    dir / ("node" + std::to_string(i))));
            nodes.back()->start();
        }
    }
    ~setup() {
        for (auto& n : nodes) n->stop();
        redis.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }

    std::unique_ptr<native::client_host> client(const std::string& id, std::size_t node) {
        client::client_config config;
        config.client_id = id;
        config.producer_epoch = 1;
        native::link_options options;
        options.tick_period = std::chrono::milliseconds(100);
        return std::make_unique<native::client_host>(ioc, std::move(config), "127.0.0.1", nodes.at(node)->port(), options);
    }

    void run_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120)) {
        const auto deadline = clock_type::now() + limit;
        while (!done()) {
            if (clock_type::now() > deadline) throw std::runtime_error("benchmark step timed out");
            if (ioc.stopped()) ioc.restart();
            ioc.run_one_for(std::chrono::milliseconds(5));
        }
    }
};

const std::string session = "bench";

void throughput(std::size_t node_count, const char* fsync) {
    constexpr std::size_t per_writer = 1000;
    constexpr std::size_t window = 256;
    setup s(node_count, "tp" + std::to_string(node_count));
    s.redis->cli(std::string("CONFIG SET appendfsync ") + fsync);
    std::vector<std::unique_ptr<native::client_host>> writers, readers;
    std::vector<std::size_t> published(node_count, 0), acked(node_count, 0);
    for (std::size_t i = 0; i < node_count; ++i) {
        readers.push_back(s.client("reader-" + std::to_string(i), i));
        writers.push_back(s.client("writer-" + std::to_string(i), i));
    }
    auto top_up = [&](std::size_t i) {
        while (published[i] < per_writer && published[i] - acked[i] < window) {
            const std::string payload = R"({"text":"token )" + std::to_string(published[i]) + R"( "})";
            if (!writers[i]->publish(session, "message.delta", "m", payload)) throw std::runtime_error("publish");
            ++published[i];
        }
    };
    for (std::size_t i = 0; i < node_count; ++i) {
        native::client_handlers h;
        h.on_ack = [&, i](std::uint64_t, std::uint64_t) {
            ++acked[i];
            top_up(i);
        };
        writers[i]->set_handlers(std::move(h));
        (void)readers[i]->open_session(session);
        readers[i]->start();
        (void)writers[i]->open_session(session);
        writers[i]->start();
    }
    const std::uint64_t total = per_writer * node_count;
    auto all_hold = [&](std::uint64_t n) {
        for (auto& r : readers) {
            const auto* st = r->core().find_session(session);
            if (!st || st->last_serial() < n) return false;
        }
        return true;
    };
    // Warm up: every client connected and attached before the clock starts.
    s.run_until([&] {
        for (auto& c : readers) if (c->state() != native::link_state::open) return false;
        for (auto& c : writers) if (c->state() != native::link_state::open) return false;
        return true;
    });
    const auto commands_before = command_calls(*s.redis);
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < node_count; ++i) top_up(i);
    s.run_until([&] { return all_hold(total); });
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    const auto commands_after = command_calls(*s.redis);
    std::printf("throughput, %zu node(s), appendfsync %s: %llu events in %.2f s = %.0f events/s appended and fanned "
                "out to %zu reader(s); Redis commands per event %s\n",
                node_count, fsync, static_cast<unsigned long long>(total), seconds, static_cast<double>(total) / seconds,
                node_count, per_event(commands_before, commands_after, total).c_str());
}

void cross_node_latency() {
    constexpr std::size_t events = 500;
    setup s(2, "latency");
    auto writer = s.client("writer", 0);
    auto reader = s.client("reader", 1);
    std::vector<double> latencies;
    const auto origin = clock_type::now();
    native::client_handlers h;
    h.on_event = [&](const native::delivered_event& e) {
        const auto sent_us = boost::json::parse(e.payload_json).at("t").to_number<std::int64_t>();
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - origin).count();
        latencies.push_back(static_cast<double>(now_us - sent_us) / 1000.0);
    };
    reader->set_handlers(std::move(h));
    (void)reader->open_session(session);
    reader->start();
    (void)writer->open_session(session);
    writer->start();
    s.run_until([&] { return reader->state() == native::link_state::open && writer->state() == native::link_state::open; });
    boost::asio::steady_timer pacer(s.ioc);
    std::size_t sent = 0;
    std::function<void()> tick = [&] {
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - origin).count();
        (void)writer->publish(session, "message.delta", "m", R"({"t":)" + std::to_string(now_us) + "}");
        if (++sent == events) return;
        pacer.expires_after(std::chrono::microseconds(20'000));
        pacer.async_wait([&](boost::system::error_code ec) {
            if (!ec) tick();
        });
    };
    tick();
    s.run_until([&] { return latencies.size() >= events; });
    std::printf("cross-node latency (publish on node 0 -> delivery on node 1, 50 events/s, appendfsync always, %zu events): "
                "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                latencies.size(), percentile(latencies, 0.50), percentile(latencies, 0.99),
                *std::max_element(latencies.begin(), latencies.end()));
}

} // namespace

int main() {
    try {
        for (const char* fsync : {"always", "everysec"}) {
            for (std::size_t n = 1; n <= 3; ++n) throughput(n, fsync);
        }
        cross_node_latency();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "holdfast_redis_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
