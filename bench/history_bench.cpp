// Local-history micro-benchmarks (native, in-memory file system): appending one token event,
// opening a stored history of 100 / 1,000 / 10,000 messages, and the bytes the history hands to
// its file system per 1,000 streamed tokens — plus a model of what IDBFS's whole-file syncfs then
// stores in IndexedDB. Figures go to docs/benchmarks.md, never into pass/fail tests.
// Run: build/native/bench/holdfast_history_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "holdfast/conversation.hpp"
#include "holdfast/file_system.hpp"
#include "holdfast/history.hpp"
#include "holdfast/json.hpp"

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

namespace {

using namespace holdfast;

constexpr std::uint64_t base_ts = 1700000000000;
// Events as the relay stamps them for an agent of the SDK: a UUID producer id and the agent name.
const std::string producer = "5f0c6a1e-3b9d-4c2a-9e8f-7a6b5c4d3e2f";
const std::string agent = "demo-agent";

proto::raw_value payload(std::string_view json_text) { return proto::raw_value{json::to_msgpack(json_text).value()}; }

proto::event make_event(std::uint64_t serial, std::string kind, std::string msg_id, const proto::raw_value& body) {
    return proto::event{serial, base_ts + serial, producer, std::move(kind), std::move(msg_id), agent, body};
}

/// Appends one event at the history's next serial; aborts the benchmark on failure.
void append(benchmark::State& state, client::history& h, std::string kind, std::string msg_id, const proto::raw_value& body) {
    if (auto appended = h.append(make_event(h.last_serial() + 1, std::move(kind), std::move(msg_id), body)); !appended) {
        state.SkipWithError(appended.err().detail.c_str());
    }
}

std::unique_ptr<client::history> open_history(benchmark::State& state, memory_file_system& fs) {
    auto opened = client::history::open(fs, "/holdfast/bench/s_chat-1", "chat-1", base_ts);
    if (!opened) {
        state.SkipWithError(opened.err().detail.c_str());
        return nullptr;
    }
    auto h = std::move(opened).value();
    (void)h->set_epoch(1);
    return h;
}

/// One live token (message.delta with a 6-byte text) appended to the history, compaction
/// included when a segment seals. Answers are 2,000 tokens long, then a new one starts.
void history_append_token(benchmark::State& state) {
    memory_file_system fs;
    auto h = open_history(state, fs);
    if (!h) return;
    const auto start = payload(R"({"role":"assistant"})");
    const auto delta = payload(R"({"text":"token "})");
    const auto end = payload(R"({"status":"complete"})");
    std::uint64_t answer = 1;
    std::uint64_t tokens_in_answer = 0;
    std::string msg_id = "reply-1";
    append(state, *h, "message.start", msg_id, start);
    const std::size_t written_before = fs.bytes_written();
    for (auto _ : state) {
        append(state, *h, "message.delta", msg_id, delta);
        if (++tokens_in_answer == 2000) {
            state.PauseTiming();
            append(state, *h, "message.end", msg_id, end);
            msg_id = "reply-" + std::to_string(++answer);
            tokens_in_answer = 0;
            append(state, *h, "message.start", msg_id, start);
            state.ResumeTiming();
        }
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["fs_bytes_per_token"] = benchmark::Counter(
        static_cast<double>(fs.bytes_written() - written_before) / static_cast<double>(state.iterations()));
    // One stored token record: u32 length + u32 CRC + the msgpack event.
    state.counters["record_bytes"] = benchmark::Counter(static_cast<double>(
        client::history::frame_record(client::history_record{make_event(2, "message.delta", "reply-1", delta), std::nullopt, std::nullopt, std::nullopt}).size()));
}
BENCHMARK(history_append_token);

/// A conversation as the browser benchmark stores it: `messages` assistant answers (message.start,
/// three message.delta, message.end) with a user.prompt before every other answer.
struct stored_conversation {
    memory_file_system fs;
    std::size_t events = 0;
    std::size_t messages = 0;
    std::size_t bytes = 0;
};

const stored_conversation& conversation_of(benchmark::State& state, std::size_t answers) {
    static std::map<std::size_t, std::unique_ptr<stored_conversation>> built;
    auto& slot = built[answers];
    if (slot) return *slot;
    slot = std::make_unique<stored_conversation>();
    auto h = open_history(state, slot->fs);
    if (!h) return *slot;
    const auto start = payload(R"({"role":"assistant"})");
    const auto end = payload(R"({"status":"complete"})");
    for (std::size_t i = 0; i < answers; ++i) {
        if (i % 2 == 0) {
            append(state, *h, "user.prompt", "prompt-" + std::to_string(i),
                   payload(R"({"text":"Question number )" + std::to_string(i) + R"(: what happened next?"})"));
            ++slot->messages;
        }
        const std::string id = "reply-" + std::to_string(i);
        append(state, *h, "message.start", id, start);
        for (int d = 0; d < 3; ++d) append(state, *h, "message.delta", id, payload(R"({"text":"part of the answer, twenty-some bytes. "})"));
        append(state, *h, "message.end", id, end);
        ++slot->messages;
    }
    slot->events = h->last_serial();
    slot->bytes = h->bytes();
    return *slot;
}

/// Opening a stored history and rebuilding its conversation: what hf.session(id) does on a reload.
void history_open(benchmark::State& state) {
    const auto& stored = conversation_of(state, static_cast<std::size_t>(state.range(0)));
    // open() rewrites meta (last use), so each iteration works on its own copy of the files.
    memory_file_system fs;
    for (auto _ : state) {
        state.PauseTiming();
        fs.files() = const_cast<stored_conversation&>(stored).fs.files();
        state.ResumeTiming();
        auto opened = client::history::open(fs, "/holdfast/bench/s_chat-1", "chat-1", base_ts + 1);
        if (!opened) {
            state.SkipWithError(opened.err().detail.c_str());
            break;
        }
        client::conversation view;
        opened.value()->restore_into(view);
        if (view.messages().size() != stored.messages) {
            state.SkipWithError("restored message count differs");
            break;
        }
        benchmark::DoNotOptimize(view);
    }
    state.counters["messages"] = benchmark::Counter(static_cast<double>(stored.messages));
    state.counters["events"] = benchmark::Counter(static_cast<double>(stored.events));
    state.counters["stored_bytes"] = benchmark::Counter(static_cast<double>(stored.bytes));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(stored.messages));
}
BENCHMARK(history_open)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

/// Bytes handed to the file system while one 1,000-token answer (6 bytes of text per token)
/// streams into a new session's history, and — modelling IDBFS, whose
/// syncfs stores every file changed since the last sync whole — the bytes IndexedDB would receive
/// with a sync every `range(0)` tokens (≈ tokens/s × flushDelayMs: 15 at 50 tokens/s, 300 at
/// 1,000 tokens/s with the default 300 ms; 1 is a sync per token).
void history_bytes_per_1000_tokens(benchmark::State& state) {
    const auto tokens_per_sync = static_cast<std::size_t>(state.range(0));
    const auto delta = payload(R"({"text":"token "})");
    const auto start = payload(R"({"role":"assistant"})");
    const auto end = payload(R"({"status":"complete"})");
    constexpr std::size_t tokens = 1000;
    constexpr std::size_t raw_text_bytes = tokens * 6;
    std::size_t fs_bytes = 0;
    std::size_t synced_bytes = 0;
    std::size_t syncs = 0;
    for (auto _ : state) {
        memory_file_system fs;
        auto h = open_history(state, fs);
        if (!h) return;
        std::map<std::string, std::string> synced = fs.files();
        auto sync = [&] {
            // IDBFS compares timestamps: each file touched since the last sync is put whole.
            for (const auto& [path, content] : fs.files()) {
                auto it = synced.find(path);
                if (it == synced.end() || it->second != content) synced_bytes += content.size();
            }
            synced = fs.files();
            ++syncs;
        };
        const std::size_t before = fs.bytes_written();
        append(state, *h, "message.start", "reply-1", start);
        for (std::size_t t = 1; t <= tokens; ++t) {
            append(state, *h, "message.delta", "reply-1", delta);
            if (t % tokens_per_sync == 0) sync();
        }
        append(state, *h, "message.end", "reply-1", end);
        sync();
        fs_bytes += fs.bytes_written() - before;
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["fs_bytes_per_1000_tokens"] = benchmark::Counter(static_cast<double>(fs_bytes) / n);
    state.counters["fs_bytes_vs_text"] = benchmark::Counter(static_cast<double>(fs_bytes) / n / raw_text_bytes);
    state.counters["idbfs_bytes_per_1000_tokens"] = benchmark::Counter(static_cast<double>(synced_bytes) / n);
    state.counters["idbfs_bytes_vs_text"] = benchmark::Counter(static_cast<double>(synced_bytes) / n / raw_text_bytes);
    state.counters["syncs"] = benchmark::Counter(static_cast<double>(syncs) / n);
}
BENCHMARK(history_bytes_per_1000_tokens)->ArgName("tokens_per_sync")->Arg(1)->Arg(15)->Arg(300)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
