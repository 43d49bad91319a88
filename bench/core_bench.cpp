// Core micro-benchmarks: codec encode/decode of token-sized events and Conversation apply.
// Run: build/native/bench/holdfast_core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "holdfast/codec.hpp"
#include "holdfast/client.hpp"
#include "holdfast/conversation.hpp"
#include "holdfast/json.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace holdfast;

proto::event token_event(std::uint64_t serial) {
    return proto::event{serial, 1700000000000 + serial, "agent-1", "message.delta", "reply-1", "demo-agent",
                        proto::raw_value{json::to_msgpack(R"({"text":"token "})").value()}};
}

void encode_token_event_frame(benchmark::State& state) {
    const proto::event_batch batch{"chat-1", {token_event(42)}};
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto out = proto::encode(batch);
        bytes += out.size();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_token_event_frame);

void decode_token_event_frame(benchmark::State& state) {
    const std::string bytes = proto::encode(proto::event_batch{"chat-1", {token_event(42)}});
    for (auto _ : state) {
        auto decoded = proto::decode(bytes);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes.size() * state.iterations()));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_token_event_frame);

void decode_batch_of_256_events(benchmark::State& state) {
    proto::event_batch batch{"chat-1", {}};
    for (std::uint64_t i = 1; i <= 256; ++i) batch.events.push_back(token_event(i));
    const std::string bytes = proto::encode(batch);
    for (auto _ : state) {
        auto decoded = proto::decode(bytes);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(decode_batch_of_256_events);

void conversation_apply_delta(benchmark::State& state) {
    client::conversation c;
    std::uint64_t serial = 1;
    c.apply(proto::event{serial++, 0, "a", "message.start", "reply-1", "demo-agent", {}});
    const auto delta = token_event(0);
    for (auto _ : state) {
        auto e = delta;
        e.serial = serial++;
        benchmark::DoNotOptimize(c.apply(e));
        if (serial % 2000 == 0) {  // keep the answer at a realistic length
            state.PauseTiming();
            c.clear();
            c.apply(proto::event{serial++, 0, "a", "message.start", "reply-1", "demo-agent", {}});
            state.ResumeTiming();
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(conversation_apply_delta);

/// The whole receive path of one live token in the client: decode, serial check, assemble, JSON.
void client_receive_token_frame(benchmark::State& state) {
    client::client_core core(client::client_config{"c", "", "", 1, {}});
    (void)core.open_session("chat-1");
    core.on_transport_open();
    core.on_frame(proto::encode(proto::attached{"chat-1", 1, 0}));
    core.on_frame(proto::encode(proto::event_batch{"chat-1", {proto::event{1, 0, "a", "message.start", "reply-1", "demo-agent", {}}}}));
    (void)core.take_updates_json();
    std::uint64_t serial = 2;
    for (auto _ : state) {
        state.PauseTiming();
        const std::string frame = proto::encode(proto::event_batch{"chat-1", {token_event(serial++)}});
        state.ResumeTiming();
        core.on_frame(frame);
        benchmark::DoNotOptimize(core.take_updates_json());
    }
    state.SetItemsProcessed(state.iterations());
}
// 2,000 iterations = one long answer: the message JSON grows with it, as in real use.
BENCHMARK(client_receive_token_frame)->Iterations(2000);

/// A replayed batch as scenario C's catch-up gets it: 2,048 bench events ({seq, t, tok} with a
/// fractional monotonic-clock t) in one frame, applied and rendered for an 'event' listener.
void client_receive_replay_batch(benchmark::State& state) {
    constexpr std::uint64_t batch_size = 2048;
    client::client_core core(client::client_config{"c", "", "", 1, {}});
    (void)core.open_session("c-1");
    core.render_events("c-1", true);
    core.on_transport_open();
    core.on_frame(proto::encode(proto::attached{"c-1", 1, 0}));
    (void)core.take_updates_json();
    std::uint64_t serial = 1;
    std::size_t json_bytes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        proto::event_batch batch{"c-1", {}};
        for (std::uint64_t i = 0; i < batch_size; ++i, ++serial) {
            const std::string payload = R"({"seq":)" + std::to_string(serial) + R"(,"t":)" +
                                        std::to_string(1234567 + serial) + "." + std::to_string(100 + serial % 900) +
                                        R"(,"tok":"x"})";
            batch.events.push_back(proto::event{serial, 1795490674505, "220deb40-aa99-46de-99dd-0d6aab68a959", "bench", "",
                                                "bench-publisher", proto::raw_value{json::to_msgpack(payload).value()}});
        }
        const std::string frame = proto::encode(batch);
        state.ResumeTiming();
        core.on_frame(frame);
        const std::string updates = core.take_updates_json();
        json_bytes += updates.size();
        benchmark::DoNotOptimize(updates);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_size));
    state.counters["json_bytes_per_event"] = static_cast<double>(json_bytes) / static_cast<double>(state.iterations() * batch_size);
}
BENCHMARK(client_receive_replay_batch)->Iterations(100);

/// One live bench event, scenario D's delivery: the frame in, the update JSON out (rendered for an
/// 'event' listener). The frames are encoded beforehand, so no timer pauses weigh on 0.7 us;
/// bench/peers/live-event.mjs times the same calls through the SDK's WASM in Node.
void client_receive_live_event(benchmark::State& state) {
    constexpr std::uint64_t events = 200'000;
    const std::string session = "pipe-1795490674505-abcdef";
    client::client_core core(client::client_config{"c", "", "", 1, {}});
    (void)core.open_session(session);
    core.render_events(session, true);
    core.on_transport_open();
    core.on_frame(proto::encode(proto::attached{session, 123456789, 0}));
    (void)core.take_updates_json();
    std::vector<std::string> frames;
    frames.reserve(events);
    for (std::uint64_t serial = 1; serial <= events; ++serial) {
        const std::string payload = R"({"seq":)" + std::to_string(serial) + R"(,"t":1234567.891,"tok":"token-)" +
                                    std::to_string(serial % 1000) + R"("})";
        frames.push_back(proto::encode(proto::event_batch{
            session, {proto::event{serial, 1795490674505 + (serial >> 9), "220deb40-aa99-46de-99dd-0d6aab68a959", "bench",
                                   "", "bench-publisher", proto::raw_value{json::to_msgpack(payload).value()}}}}));
    }
    std::size_t next = 0;
    for (auto _ : state) {
        core.on_frame(frames[next++]);
        benchmark::DoNotOptimize(core.take_updates_json());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(client_receive_live_event)->Iterations(200'000);

void json_payload_to_msgpack(benchmark::State& state) {
    const std::string text = R"({"seq":12345,"t":1234567.891,"tok":"hello world token"})";
    for (auto _ : state) benchmark::DoNotOptimize(json::to_msgpack(text));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(json_payload_to_msgpack);

/// An agent pipelining publishes, as bench/peers/pipeline.mjs does: `window` publishes per drain
/// (one take of frames and updates), the previous window acked meanwhile, with the history store
/// (the persisted outbox) on or off. Per publish: validate, encode, outbox, ack, producer write.
void client_pipelined_publishes(benchmark::State& state) {
    const auto window = static_cast<std::uint64_t>(state.range(0));
    memory_file_system files;
    client::history_store store(files, "/holdfast");
    client::client_config config;
    config.client_id = "agent-1";
    config.agent = "bench-agent";
    if (state.range(1) != 0) config.storage = &store;
    client::client_core core(config);
    core.on_transport_open();
    (void)core.take_frames();
    std::uint64_t seq = 0;
    std::vector<std::string> acks;
    for (auto _ : state) {
        for (auto& ack : acks) core.on_frame(ack);
        for (std::uint64_t i = 0; i < window; ++i) {
            (void)core.publish("chat-1", "bench", "", R"({"seq":12345,"t":1234567.891,"tok":"token-17"})");
        }
        benchmark::DoNotOptimize(core.take_frames());
        benchmark::DoNotOptimize(core.take_updates_json());
        state.PauseTiming();
        acks.clear();  // the relay answers this window while the agent writes the next
        for (std::uint64_t i = 0; i < window; ++i) {
            ++seq;
            acks.push_back(proto::encode(proto::ack{"chat-1", "agent-1", seq, seq}));
        }
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(window));
}
BENCHMARK(client_pipelined_publishes)->Args({500, 0})->Args({500, 1})->Args({2000, 1});

} // namespace

BENCHMARK_MAIN();
