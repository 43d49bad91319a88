// holdfast_ingest_bench: relay ingest + fan-out with the embedded durable store (SQLite, the
// default), on loopback with the real relay binary. One agent (client_host: outbox, producer
// sequences) publishes N message deltas pipelined (all queued at once) into one session followed
// by 10 subscribers; reports events/s appended (all acks in) and events/s delivered to every
// subscriber (the last one holding serial N), medians over runs. The subscribers are bare
// WebSocket readers that only decode frames (hello, attach, count events), so the figure is the
// relay's, not client cores' (a client_core per subscriber costs more CPU than the relay: its JSON
// updates). The relay and the clients share the 2 cores. Layer: benchmarks.
// Usage: holdfast_ingest_bench [events=20000] [runs=5] [store=sqlite]   (sqlite | memory)
#include "relay_process.hpp"

#include "holdfast/codec.hpp"
#include "holdfast/native/client_host.hpp"
#include "ws_link.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace holdfast;
using clock_type = std::chrono::steady_clock;

constexpr int subscriber_count = 10;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct run_result {
    double appended_per_s;
    double delivered_per_s;
};

run_result run_once(std::uint16_t port, std::size_t events, int run) {
    boost::asio::io_context ioc;
    auto run_until = [&](const std::function<bool()>& done) {
        const auto deadline = clock_type::now() + std::chrono::seconds(120);
        while (!done()) {
            if (clock_type::now() > deadline) throw std::runtime_error("ingest step timed out");
            if (ioc.stopped()) ioc.restart();
            ioc.run_one_for(std::chrono::milliseconds(20));
        }
    };
    auto make = [&](const std::string& id, const std::string& agent) {
        client::client_config config;
        config.client_id = id;
        config.agent = agent;
        config.producer_epoch = 1;
        return std::make_unique<native::client_host>(ioc, std::move(config), "127.0.0.1", port);
    };
    const std::string session = "ingest-" + std::to_string(run);
    std::vector<std::shared_ptr<native::ws_link>> subscribers;
    subscribers.reserve(subscriber_count);
    std::vector<std::uint64_t> held(subscriber_count, 0);
    int attached = 0;
    for (int i = 0; i < subscriber_count; ++i) {
        native::ws_link::handlers h;
        h.on_message = [&, i](std::string_view bytes) {
            auto message = proto::decode_message(bytes);
            if (!message) throw std::runtime_error("subscriber: undecodable message: " + message.err().detail);
            for (const auto& frame : message.value()) {
                if (!frame) throw std::runtime_error("subscriber: undecodable frame: " + frame.err().detail);
                if (std::holds_alternative<proto::attached>(frame.value())) ++attached;
                if (const auto* batch = std::get_if<proto::event_batch>(&frame.value()); batch && !batch->events.empty()) {
                    held[i] = batch->events.back().serial;
                }
            }
        };
        h.on_closed = [](boost::beast::error_code) {};
        h.on_open = [&, i] {
            proto::hello hello;
            hello.client_id = "ingest-sub-" + std::to_string(run) + "-" + std::to_string(i);
            hello.bundles = true;
            subscribers[i]->send(proto::encode(hello));
            subscribers[i]->send(proto::encode(proto::attach{session, 0, 0}));
        };
        subscribers.push_back(std::make_shared<native::ws_link>(ioc, native::link_options{}, std::move(h)));
        subscribers.back()->start("127.0.0.1", port);
    }
    run_until([&] { return attached == subscriber_count; });

    auto agent = make("ingest-agent-" + std::to_string(run), "agent");
    std::size_t acked = 0;
    native::client_handlers h;
    h.on_ack = [&](std::uint64_t, std::uint64_t) { ++acked; };
    agent->set_handlers(h);
    agent->start();
    run_until([&] { return agent->state() == native::link_state::open; });

    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < events; ++i) {
        (void)agent->publish(session, "message.delta", "m" + std::to_string(i / 100),
                             R"({"text":"token-)" + std::to_string(i) + R"( "})");
    }
    std::optional<double> appended_s;
    run_until([&] {
        if (!appended_s && acked == events) appended_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        return appended_s && std::all_of(held.begin(), held.end(), [&](std::uint64_t h) { return h >= events; });
    });
    const double delivered_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    agent->close();
    for (auto& sub : subscribers) sub->abandon();
    return {static_cast<double>(events) / *appended_s, static_cast<double>(events) / delivered_s};
}

} // namespace

int main(int argc, char** argv) {
    const std::size_t events = argc > 1 ? std::stoul(argv[1]) : 20'000;
    const int runs = argc > 2 ? std::stoi(argv[2]) : 5;
    const std::string store_kind = argc > 3 ? argv[3] : "sqlite";
    const fs::path dir = fs::temp_directory_path() / ("holdfast-ingest-bench-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string store = store_kind == "memory" ? "memory:" : "sqlite:" + (dir / "relay.db").string();
    holdfast::faults::relay_process relay(holdfast::faults::relay_process::default_binary(), store, dir);
    relay.start();
    std::vector<double> appended, delivered;
    for (int run = 0; run < runs; ++run) {
        const auto r = run_once(relay.port(), events, run);
        appended.push_back(r.appended_per_s);
        delivered.push_back(r.delivered_per_s);
        std::printf("run %d: appended %.0f ev/s, delivered to all %d subscribers %.0f ev/s\n", run, r.appended_per_s,
                    subscriber_count, r.delivered_per_s);
    }
    std::printf("ingest (%s store, %zu events, %d subscribers, medians of %d): appended %.0f ev/s, delivered %.0f ev/s "
                "(%.0f deliveries/s)\n",
                store_kind.c_str(), events, subscriber_count, runs, median(appended), median(delivered),
                median(delivered) * subscriber_count);
    relay.stop();
    fs::remove_all(dir);
    return 0;
}
