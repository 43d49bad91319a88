// The C ABI of the client for the browser: plain extern "C" functions over
// holdfast::client::client_core and its tab coordinator, wrapped by core_api.js (linked as
// --post-js) into the `Core` class and the free functions the JS SDK uses. Layer: bindings — the
// only Emscripten code. It translates bytes, strings and codes and decides nothing: every protocol
// decision is the core's. No C++ exception escapes an exported function: failures become an
// error code plus a message in the output buffer.
//
// Why not embind: its JS runtime (type registry, handle table, invokers) and the RTTI it needs were
// about a third of the SDK's gzipped bytes; this surface is a handful of calls taking strings and
// numbers, which a C ABI carries with no runtime at all.
//
// Calling convention (core_api.js is the one caller):
//  - Inputs: JS writes every string/byte argument of a call back to back into the scratch buffer
//    (hf_scratch) and passes their lengths; `arguments_reader` slices them in the same order.
//  - Outputs: a string or byte result goes into the output buffer; the function returns its length
//    and JS reads it at hf_out() and copies it before the next call.
//  - Errors: functions that can fail return a negative number (or -1 as a request id); the code is
//    then hf_error_code() and the message is in the output buffer.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/errc.hpp"
#include "holdfast/json.hpp"
#include "holdfast/tab_coordinator.hpp"

#include <emscripten/em_macros.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

std::string scratch;      // inputs of the current call, written by JS
std::string output;       // the result of the last call, read by JS
int last_error = 0;       // holdfast::errc of the last failure
int live_cores = 0;       // cores created minus cores deleted: the Node tests check for leaks

/// Consecutive arguments in the scratch buffer, in the order JS wrote them.
class arguments_reader {
public:
    explicit arguments_reader(const char* at) : at_(at) {}
    std::string next(std::uint32_t length) { return std::string(next_view(length)); }
    /// Without a copy: valid until JS writes the scratch buffer again (the next call).
    std::string_view next_view(std::uint32_t length) {
        std::string_view value(at_, length);
        at_ += length;
        return value;
    }

private:
    const char* at_;
};

/// Records a failure for JS: the code in last_error, the message in the output buffer.
void fail(holdfast::errc code, const std::string& detail) {
    last_error = static_cast<int>(code);
    output = detail.empty() ? std::string(holdfast::to_string(code)) : detail;
}

int output_length(std::string value) {
    output = std::move(value);
    return static_cast<int>(output.size());
}

/// Every frame into the output buffer, each behind its length as 4 bytes little-endian.
int output_frames(const std::vector<std::string>& frames) {
    output.clear();
    for (const std::string& frame : frames) {
        const auto n = static_cast<std::uint32_t>(frame.size());
        const char prefix[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                                static_cast<char>(n >> 24)};
        output.append(prefix, 4);
        output.append(frame);
    }
    return static_cast<int>(output.size());
}

/// Runs `body`, which returns >= 0 on success; anything thrown (msgpack, bad_alloc) becomes a
/// malformed_frame failure instead of unwinding into JS, where C++ destructors would never run.
template <class Body>
double guarded(Body&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        fail(holdfast::errc::malformed_frame, e.what());
    } catch (...) {
        fail(holdfast::errc::malformed_frame, "unexpected exception");
    }
    return -1;
}

/// The core reports its own failures as values; a throw here must not reach JS.
template <class Body>
void quietly(Body&& body) {
    try { body(); } catch (...) {}
}

/// A whole number from JS, or `fallback` when JS passed NaN (absent) or not a finite number >= 0.
/// JS numbers are doubles: integers below 2^53 convert exactly.
std::uint64_t whole_or(double value, std::uint64_t fallback) {
    return (std::isfinite(value) && value >= 0) ? static_cast<std::uint64_t>(value) : fallback;
}

std::uint64_t to_ms(double now_ms) { return whole_or(now_ms, 0); }

double request_or_fail(const holdfast::result<std::uint64_t>& r) {
    if (!r) {
        fail(r.err().code, r.err().detail);
        return -1;
    }
    return static_cast<double>(r.value());
}

/// The core's options, as core_api.js passes them (numbers NaN when absent).
struct core_options {
    std::string client_id, token, agent, storage_root, tab_id;
    double seed, producer_epoch, heartbeat_interval_ms, heartbeat_timeout_ms, max_sessions, max_bytes;
    double beat_ms, leader_timeout_ms, now;
    bool adopt_stored_producer, shared_tabs;
};

holdfast::client::client_config make_config(const core_options& o) {
    holdfast::client::client_config config;
    config.client_id = o.client_id;
    config.token = o.token;
    config.agent = o.agent;
    config.random_seed = std::max<std::uint64_t>(1, whole_or(o.seed, 1));
    config.producer_epoch = whole_or(o.producer_epoch, 0);
    config.heartbeat.interval_ms =
        static_cast<std::uint32_t>(whole_or(o.heartbeat_interval_ms, config.heartbeat.interval_ms));
    config.heartbeat.timeout_ms =
        static_cast<std::uint32_t>(whole_or(o.heartbeat_timeout_ms, config.heartbeat.timeout_ms));
    config.retention_limits.max_sessions = whole_or(o.max_sessions, config.retention_limits.max_sessions);
    config.retention_limits.max_bytes = whole_or(o.max_bytes, config.retention_limits.max_bytes);
    config.adopt_stored_producer = o.adopt_stored_producer;
    return config;
}

holdfast::client::tab_config make_tab_config(const core_options& o) {
    holdfast::client::tab_config config;
    config.tab_id = o.tab_id.empty() ? o.client_id : o.tab_id;
    config.shared = o.shared_tabs;
    config.beat_ms = static_cast<std::uint32_t>(whole_or(o.beat_ms, config.beat_ms));
    config.leader_timeout_ms = static_cast<std::uint32_t>(whole_or(o.leader_timeout_ms, config.leader_timeout_ms));
    return config;
}

/// The client core and its tab coordinator. The coordinator is the way in for everything about the
/// link (socket, tab channel, lock, time); app calls go to the core. With a storage root it owns
/// the history store, over Emscripten's FS (where the JS glue has mounted IDBFS); the store must
/// outlive the core and the core the coordinator, hence the member order.
class core_binding {
public:
    explicit core_binding(const core_options& o)
        : store_(o.storage_root.empty() ? nullptr
                                        : std::make_unique<holdfast::client::history_store>(files_, o.storage_root)),
          core_(with_store(make_config(o))),
          tabs_(core_, make_tab_config(o), to_ms(o.now)) {
        files_.track_changes(store_ != nullptr);
    }

    holdfast::client::client_core& core() { return core_; }
    holdfast::client::tab_coordinator& tabs() { return tabs_; }
    holdfast::posix_file_system& files() { return files_; }

private:
    holdfast::client::client_config with_store(holdfast::client::client_config config) {
        config.storage = store_.get();
        return config;
    }

    holdfast::posix_file_system files_;
    std::unique_ptr<holdfast::client::history_store> store_;
    holdfast::client::client_core core_;
    holdfast::client::tab_coordinator tabs_;
};

} // namespace

extern "C" {

// ---- buffers ----
EMSCRIPTEN_KEEPALIVE char* hf_scratch(std::uint32_t size) {
    if (scratch.size() < size) scratch.resize(size);
    return scratch.data();
}
EMSCRIPTEN_KEEPALIVE const char* hf_out() { return output.data(); }
EMSCRIPTEN_KEEPALIVE int hf_out_length() { return static_cast<int>(output.size()); }
EMSCRIPTEN_KEEPALIVE int hf_error_code() { return last_error; }

// ---- the core's lifetime: strings clientId, token, agent, storageRoot, tabId in scratch ----
EMSCRIPTEN_KEEPALIVE core_binding* hf_core_new(std::uint32_t client_id_len, std::uint32_t token_len,
                                               std::uint32_t agent_len, std::uint32_t storage_root_len,
                                               std::uint32_t tab_id_len, double seed, double producer_epoch,
                                               double heartbeat_interval_ms, double heartbeat_timeout_ms,
                                               double max_sessions, double max_bytes, double beat_ms,
                                               double leader_timeout_ms, double now, int adopt_stored_producer,
                                               int shared_tabs) {
    arguments_reader in(scratch.data());
    core_options o;
    o.client_id = in.next(client_id_len);
    o.token = in.next(token_len);
    o.agent = in.next(agent_len);
    o.storage_root = in.next(storage_root_len);
    o.tab_id = in.next(tab_id_len);
    o.seed = seed;
    o.producer_epoch = producer_epoch;
    o.heartbeat_interval_ms = heartbeat_interval_ms;
    o.heartbeat_timeout_ms = heartbeat_timeout_ms;
    o.max_sessions = max_sessions;
    o.max_bytes = max_bytes;
    o.beat_ms = beat_ms;
    o.leader_timeout_ms = leader_timeout_ms;
    o.now = now;
    o.adopt_stored_producer = adopt_stored_producer != 0;
    o.shared_tabs = shared_tabs != 0;
    try {
        auto* made = new core_binding(o);
        ++live_cores;
        return made;
    } catch (const std::exception& e) {
        fail(holdfast::errc::store_failure, e.what());
    } catch (...) {
        fail(holdfast::errc::store_failure, "unexpected exception");
    }
    return nullptr;
}
EMSCRIPTEN_KEEPALIVE void hf_core_delete(core_binding* c) {
    if (c == nullptr) return;
    delete c;
    --live_cores;
}
EMSCRIPTEN_KEEPALIVE int hf_live_cores() { return live_cores; }

// ---- app calls ----
EMSCRIPTEN_KEEPALIVE int hf_open_session(core_binding* c, std::uint32_t id_len) {
    return static_cast<int>(guarded([&] {
        auto r = c->core().open_session(arguments_reader(scratch.data()).next(id_len));
        if (r) return 0;
        fail(r.err().code, r.err().detail);
        return -1;
    }));
}
EMSCRIPTEN_KEEPALIVE void hf_close_session(core_binding* c, std::uint32_t id_len) {
    quietly([&] { c->core().close_session(arguments_reader(scratch.data()).next(id_len)); });
}
/// Whether the session's events are rendered in the updates (the JS Session has an 'event' listener).
EMSCRIPTEN_KEEPALIVE void hf_render_events(core_binding* c, std::uint32_t id_len, int on) {
    quietly([&] { c->core().render_events(arguments_reader(scratch.data()).next_view(id_len), on != 0); });
}
EMSCRIPTEN_KEEPALIVE void hf_clear_session(core_binding* c, std::uint32_t id_len) {
    quietly([&] { c->core().clear_session(arguments_reader(scratch.data()).next(id_len)); });
}
/// A publish (control 0) or a control (1). Returns the request id, or -1 (see hf_error_code).
EMSCRIPTEN_KEEPALIVE double hf_write(core_binding* c, int control, std::uint32_t session_len, std::uint32_t verb_len,
                                     std::uint32_t target_len, std::uint32_t payload_len) {
    return guarded([&] {
        arguments_reader in(scratch.data());
        const std::string_view session = in.next_view(session_len), verb = in.next_view(verb_len);
        const std::string_view target = in.next_view(target_len), payload = in.next_view(payload_len);
        return request_or_fail(c->core().write(control != 0, session, verb, target, payload));
    });
}
/// One JSON batch of everything that changed since the last call, or "".
EMSCRIPTEN_KEEPALIVE int hf_take_updates(core_binding* c) {
    try { return output_length(c->core().take_updates_json()); } catch (...) { return output_length({}); }
}
/// The numbers of the last take's events (client_core::event_columns), doubles as bytes: their
/// byte length, and their address in hf_event_columns_at (valid until the next hf_take_updates).
EMSCRIPTEN_KEEPALIVE int hf_event_columns_length(core_binding* c) { return static_cast<int>(c->core().event_columns().size()); }
EMSCRIPTEN_KEEPALIVE const char* hf_event_columns_at(core_binding* c) { return c->core().event_columns().data(); }
/// The files the history created, changed or removed since the last call: a JSON array of paths,
/// for the glue to copy to IndexedDB (IdbStorage.js).
EMSCRIPTEN_KEEPALIVE int hf_take_changed_files(core_binding* c) {
    try {
        std::string json = "[";
        for (const auto& path : c->files().take_changed_paths()) {
            if (json.size() > 1) json += ',';
            holdfast::json::append_string(path, json);
        }
        return output_length(json + "]");
    } catch (...) {
        return output_length("[]");
    }
}
EMSCRIPTEN_KEEPALIVE int hf_on_storage_full(core_binding* c) {
    try { return c->core().on_storage_full() ? 1 : 0; } catch (...) { return 0; }
}
EMSCRIPTEN_KEEPALIVE int hf_client_id(core_binding* c) { return output_length(c->core().client_id()); }
/// A renewed token: the core sends a second hello on a live link (no reconnect, no replay).
EMSCRIPTEN_KEEPALIVE void hf_set_token(core_binding* c, std::uint32_t token_len) {
    quietly([&] { c->core().set_token(arguments_reader(scratch.data()).next(token_len)); });
}
/// ms until the token should be renewed, or -1 when it has no readable exp.
EMSCRIPTEN_KEEPALIVE double hf_token_refresh_delay_ms(core_binding* c, double now_ms) {
    try {
        auto delay = c->core().token_refresh_delay_ms(to_ms(now_ms));
        return delay ? static_cast<double>(*delay) : -1.0;
    } catch (...) {
        return -1.0;
    }
}

// ---- environment signals the core interprets ----
EMSCRIPTEN_KEEPALIVE void hf_on_wake(core_binding* c, double now_ms) { quietly([&] { c->core().on_wake(to_ms(now_ms)); }); }
EMSCRIPTEN_KEEPALIVE void hf_on_network_offline(core_binding* c) { quietly([&] { c->core().on_network_offline(); }); }
EMSCRIPTEN_KEEPALIVE void hf_on_network_online(core_binding* c, double now_ms) {
    quietly([&] { c->core().on_network_online(to_ms(now_ms)); });
}

// ---- the link, through the tab coordinator ----
EMSCRIPTEN_KEEPALIVE void hf_lock_acquired(core_binding* c, double now_ms) {
    quietly([&] { c->tabs().on_lock_acquired(to_ms(now_ms)); });
}
EMSCRIPTEN_KEEPALIVE void hf_lock_lost(core_binding* c) { quietly([&] { c->tabs().on_lock_lost(); }); }
EMSCRIPTEN_KEEPALIVE void hf_socket_open(core_binding* c) { quietly([&] { c->tabs().on_socket_open(); }); }
EMSCRIPTEN_KEEPALIVE void hf_socket_closed(core_binding* c) { quietly([&] { c->tabs().on_socket_closed(); }); }
EMSCRIPTEN_KEEPALIVE void hf_socket_frame(core_binding* c, std::uint32_t length) {
    quietly([&] { c->tabs().on_socket_frame(arguments_reader(scratch.data()).next(length)); });
}
EMSCRIPTEN_KEEPALIVE void hf_reconnect_due(core_binding* c) { quietly([&] { c->tabs().on_reconnect_due(); }); }
EMSCRIPTEN_KEEPALIVE void hf_link_dead(core_binding* c) { quietly([&] { c->tabs().on_link_dead(); }); }
EMSCRIPTEN_KEEPALIVE void hf_channel_message(core_binding* c, std::uint32_t length, double now_ms) {
    quietly([&] { c->tabs().on_channel_message(arguments_reader(scratch.data()).next(length), to_ms(now_ms)); });
}
EMSCRIPTEN_KEEPALIVE void hf_tick(core_binding* c, double now_ms) { quietly([&] { c->tabs().on_tick(to_ms(now_ms)); }); }
EMSCRIPTEN_KEEPALIVE int hf_take_socket_frames(core_binding* c) {
    try { return output_frames(c->tabs().take_socket_frames()); } catch (...) { return output_length({}); }
}
EMSCRIPTEN_KEEPALIVE int hf_take_channel_messages(core_binding* c) {
    try { return output_frames(c->tabs().take_channel_messages()); } catch (...) { return output_length({}); }
}
/// tab_coordinator::pending's bits: which of the takes below have something.
EMSCRIPTEN_KEEPALIVE int hf_pending(core_binding* c) {
    try { return static_cast<int>(c->tabs().pending()); } catch (...) { return 15; }
}
EMSCRIPTEN_KEEPALIVE int hf_take_directives(core_binding* c) {
    try { return output_length(c->tabs().take_directives_json()); } catch (...) { return output_length({}); }
}

// ---- free functions ----
/// The name of error code `code` (0..hf_last_errc()), so JS never holds a hand-copied table.
EMSCRIPTEN_KEEPALIVE int hf_error_name(int code) {
    return output_length(std::string(holdfast::to_string(static_cast<holdfast::errc>(code))));
}
EMSCRIPTEN_KEEPALIVE int hf_last_errc() { return static_cast<int>(holdfast::last_errc); }
EMSCRIPTEN_KEEPALIVE int hf_protocol_version() { return static_cast<int>(holdfast::proto::protocol_version); }

// The codec's test helpers: only in holdfast_core_testing (the Node tests' module), so the SDK
// ships neither the encoders of relay-to-client frames nor the debug rendering of frames.
#ifdef HOLDFAST_TESTING_EXPORTS
/// Test helper: decode then encode again (equal bytes prove both codecs agree). Returns the
/// length of the re-encoded frame in the output buffer, or -1.
EMSCRIPTEN_KEEPALIVE int hf_reencode_frame(std::uint32_t length) {
    return static_cast<int>(guarded([&] {
        auto decoded = holdfast::proto::decode(arguments_reader(scratch.data()).next(length));
        if (!decoded) {
            fail(decoded.err().code, decoded.err().detail);
            return -1;
        }
        return output_length(holdfast::proto::encode(decoded.value()));
    }));
}

/// Test helper: a debug rendering of a frame, or "error <name>: <detail>".
EMSCRIPTEN_KEEPALIVE int hf_describe_frame(std::uint32_t length) {
    try {
        auto decoded = holdfast::proto::decode(arguments_reader(scratch.data()).next(length));
        if (!decoded) {
            return output_length("error " + std::string(holdfast::to_string(decoded.err().code)) + ": " +
                                 decoded.err().detail);
        }
        return output_length(holdfast::proto::describe(decoded.value()));
    } catch (const std::exception& e) {
        return output_length(std::string("error malformed_frame: ") + e.what());
    }
}
#endif

} // extern "C"
