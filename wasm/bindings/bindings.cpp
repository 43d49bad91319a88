// The embind surface of the client: the class `Core` wraps holdfast::client::client_core, and a few
// free functions expose the error-code table and codec helpers for tests. Layer: bindings — the
// only Emscripten code. It translates bytes, strings and codes and decides nothing: every protocol
// decision is the core's. No C++ exception escapes a bound function; failures become
// {code, name, message} objects.
#include "holdfast/client.hpp"
#include "holdfast/codec.hpp"
#include "holdfast/errc.hpp"
#include "holdfast/tab_coordinator.hpp"

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

using emscripten::val;

/// A fresh Uint8Array holding a copy of `bytes`: a view into the heap would be detached by the
/// next memory growth, so JS must never keep one.
val copy_bytes(const std::string& bytes) {
    val view(emscripten::typed_memory_view(bytes.size(), reinterpret_cast<const unsigned char*>(bytes.data())));
    return val::global("Uint8Array").new_(view);
}

val error_object(holdfast::errc code, const std::string& detail) {
    val out = val::object();
    out.set("code", static_cast<int>(code));
    out.set("name", std::string(holdfast::to_string(code)));
    out.set("message", detail.empty() ? std::string(holdfast::to_string(code)) : detail);
    return out;
}

val error_object(const holdfast::error& err) { return error_object(err.code, err.detail); }

/// {request} or {code, name, message}: the shape publish/control return to JS.
val request_or_error(const holdfast::result<std::uint64_t>& r) {
    if (!r) return error_object(r.err());
    val out = val::object();
    out.set("request", static_cast<double>(r.value()));
    return out;
}

/// Runs `body`; anything thrown (msgpack, bad_alloc) becomes an error object instead of unwinding
/// into JS, where the C++ frames' destructors would never run.
template <class Body>
val guarded(Body&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        return error_object(holdfast::errc::malformed_frame, e.what());
    } catch (...) {
        return error_object(holdfast::errc::malformed_frame, "unexpected exception");
    }
}

/// A whole number from a JS options object, or `fallback` when absent or not a finite number
/// >= 0. JS numbers are doubles: integers below 2^53 convert exactly.
std::uint64_t option_u64(const val& options, const char* name, std::uint64_t fallback) {
    const val v = options[name];
    if (!v.isNumber()) return fallback;
    const double d = v.as<double>();
    return (std::isfinite(d) && d >= 0) ? static_cast<std::uint64_t>(d) : fallback;
}

std::string option_string(const val& options, const char* name) {
    const val v = options[name];
    return v.isString() ? v.as<std::string>() : std::string();
}

/// {clientId, token, agent, seed, producerEpoch, heartbeatIntervalMs, heartbeatTimeoutMs,
///  maxSessions, maxBytes} (storage is attached by core_binding)
holdfast::client::client_config make_config(const val& options) {
    holdfast::client::client_config config;
    config.client_id = option_string(options, "clientId");
    config.token = option_string(options, "token");
    config.agent = option_string(options, "agent");
    config.random_seed = std::max<std::uint64_t>(1, option_u64(options, "seed", 1));
    config.producer_epoch = option_u64(options, "producerEpoch", 0);
    config.heartbeat.interval_ms = static_cast<std::uint32_t>(
        option_u64(options, "heartbeatIntervalMs", config.heartbeat.interval_ms));
    config.heartbeat.timeout_ms = static_cast<std::uint32_t>(
        option_u64(options, "heartbeatTimeoutMs", config.heartbeat.timeout_ms));
    config.retention_limits.max_sessions = option_u64(options, "maxSessions", config.retention_limits.max_sessions);
    config.retention_limits.max_bytes = option_u64(options, "maxBytes", config.retention_limits.max_bytes);
    config.adopt_stored_producer = options["adoptStoredProducer"].isTrue();
    return config;
}

/// {tabId, sharedTabs, beatMs, leaderTimeoutMs, now}
holdfast::client::tab_config make_tab_config(const val& options) {
    holdfast::client::tab_config config;
    config.tab_id = option_string(options, "tabId");
    if (config.tab_id.empty()) config.tab_id = option_string(options, "clientId");
    config.shared = options["sharedTabs"].isTrue();
    config.beat_ms = static_cast<std::uint32_t>(option_u64(options, "beatMs", config.beat_ms));
    config.leader_timeout_ms = static_cast<std::uint32_t>(option_u64(options, "leaderTimeoutMs", config.leader_timeout_ms));
    return config;
}

/// JS-facing wrapper: the client core and its tab coordinator, with JS-friendly types. The
/// coordinator is the way in for everything about the link (socket, tab channel, lock, time);
/// app calls go to the core. With a `storageRoot` option it owns the history store, over
/// Emscripten's FS (where the JS glue has mounted IDBFS); the store must outlive the core and the
/// core the coordinator, hence the member order.
class core_binding {
public:
    explicit core_binding(val options)
        : store_(make_store(options)),
          core_(with_store(make_config(options))),
          tabs_(core_, make_tab_config(options), option_u64(options, "now", 0)) {}

    val open_session(const std::string& id) {
        return guarded([&] {
            auto r = core_.open_session(id);
            return r ? val::object() : error_object(r.err());
        });
    }
    void close_session(const std::string& id) {
        try { core_.close_session(id); } catch (...) {}
    }
    val publish(const std::string& session, const std::string& kind, const std::string& msg_id,
                const std::string& payload_json) {
        return guarded([&] { return request_or_error(core_.publish(session, kind, msg_id, payload_json)); });
    }
    val control(const std::string& session, const std::string& action, const std::string& target,
                const std::string& payload_json) {
        return guarded([&] { return request_or_error(core_.control(session, action, target, payload_json)); });
    }

    // ---- the link, through the tab coordinator ----
    void lock_acquired(double now_ms) { guard([&] { tabs_.on_lock_acquired(to_ms(now_ms)); }); }
    void lock_lost() { guard([&] { tabs_.on_lock_lost(); }); }
    void socket_open() { guard([&] { tabs_.on_socket_open(); }); }
    void socket_closed() { guard([&] { tabs_.on_socket_closed(); }); }
    void socket_frame(const std::string& bytes) { guard([&] { tabs_.on_socket_frame(bytes); }); }
    void reconnect_due() { guard([&] { tabs_.on_reconnect_due(); }); }
    void link_dead() { guard([&] { tabs_.on_link_dead(); }); }
    void channel_message(const std::string& bytes, double now_ms) {
        guard([&] { tabs_.on_channel_message(bytes, to_ms(now_ms)); });
    }
    void tick(double now_ms) { guard([&] { tabs_.on_tick(to_ms(now_ms)); }); }
    void set_token(const std::string& token) { guard([&] { core_.set_token(token); }); }
    /// ms until the token should be renewed, or -1 when it has no readable exp.
    double token_refresh_delay_ms(double now_ms) {
        try {
            auto delay = core_.token_refresh_delay_ms(to_ms(now_ms));
            return delay ? static_cast<double>(*delay) : -1.0;
        } catch (...) {
            return -1.0;
        }
    }
    val take_socket_frames() { return copy_all([&] { return tabs_.take_socket_frames(); }); }
    val take_channel_messages() { return copy_all([&] { return tabs_.take_channel_messages(); }); }
    std::string take_directives() {
        try { return tabs_.take_directives_json(); } catch (...) { return {}; }
    }

    // ---- environment signals the core interprets ----
    void on_wake(double now_ms) { guard([&] { core_.on_wake(to_ms(now_ms)); }); }
    void on_network_offline() { guard([&] { core_.on_network_offline(); }); }
    void on_network_online(double now_ms) { guard([&] { core_.on_network_online(to_ms(now_ms)); }); }

    /// One JSON batch of everything that changed since the last call, or "".
    std::string take_updates() {
        try {
            return core_.take_updates_json();
        } catch (...) {
            return {};
        }
    }

    void clear_session(const std::string& id) {
        try { core_.clear_session(id); } catch (...) {}
    }
    bool on_storage_full() {
        try { return core_.on_storage_full(); } catch (...) { return false; }
    }
    std::string client_id() const { return core_.client_id(); }

private:
    template <class Body>
    static void guard(Body&& body) {
        try { body(); } catch (...) {}  // the core reports its own failures as values
    }
    /// Every frame, each as its own Uint8Array copy.
    template <class Take>
    static val copy_all(Take&& take) {
        val out = val::array();
        try {
            for (const std::string& frame : take()) out.call<void>("push", copy_bytes(frame));
        } catch (...) {}
        return out;
    }

    std::unique_ptr<holdfast::client::history_store> make_store(const val& options) {
        const std::string root = option_string(options, "storageRoot");
        if (root.empty()) return nullptr;
        return std::make_unique<holdfast::client::history_store>(files_, root);
    }
    holdfast::client::client_config with_store(holdfast::client::client_config config) {
        config.storage = store_.get();
        return config;
    }

    static std::uint64_t to_ms(double now_ms) {
        return (std::isfinite(now_ms) && now_ms > 0) ? static_cast<std::uint64_t>(now_ms) : 0;
    }

    holdfast::posix_file_system files_;
    std::unique_ptr<holdfast::client::history_store> store_;
    holdfast::client::client_core core_;
    holdfast::client::tab_coordinator tabs_;
};

/// {name: code} for every code, walked from the enum so JS never holds a hand-copied table.
val error_codes() {
    val out = val::object();
    for (unsigned i = 0; i <= static_cast<unsigned>(holdfast::last_errc); ++i) {
        const auto code = static_cast<holdfast::errc>(i);
        out.set(std::string(holdfast::to_string(code)), static_cast<int>(i));
    }
    return out;
}

int protocol_version() { return static_cast<int>(holdfast::proto::protocol_version); }

/// Test helper: decode then encode again. Equal bytes prove both codecs agree.
val reencode_frame(const std::string& bytes) {
    return guarded([&] {
        auto decoded = holdfast::proto::decode(bytes);
        if (!decoded) return error_object(decoded.err());
        val out = val::object();
        out.set("bytes", copy_bytes(holdfast::proto::encode(decoded.value())));
        return out;
    });
}

/// Test helper: a debug rendering of a frame, or "error <name>: <detail>".
std::string describe_frame(const std::string& bytes) {
    try {
        auto decoded = holdfast::proto::decode(bytes);
        if (!decoded) {
            return "error " + std::string(holdfast::to_string(decoded.err().code)) + ": " + decoded.err().detail;
        }
        return holdfast::proto::describe(decoded.value());
    } catch (const std::exception& e) {
        return std::string("error malformed_frame: ") + e.what();
    }
}

} // namespace

EMSCRIPTEN_BINDINGS(holdfast) {
    emscripten::class_<core_binding>("Core")
        .constructor<val>()
        .function("openSession", &core_binding::open_session)
        .function("closeSession", &core_binding::close_session)
        .function("publish", &core_binding::publish)
        .function("control", &core_binding::control)
        .function("lockAcquired", &core_binding::lock_acquired)
        .function("lockLost", &core_binding::lock_lost)
        .function("socketOpen", &core_binding::socket_open)
        .function("socketClosed", &core_binding::socket_closed)
        .function("socketFrame", &core_binding::socket_frame)
        .function("reconnectDue", &core_binding::reconnect_due)
        .function("linkDead", &core_binding::link_dead)
        .function("channelMessage", &core_binding::channel_message)
        .function("tick", &core_binding::tick)
        .function("setToken", &core_binding::set_token)
        .function("tokenRefreshDelayMs", &core_binding::token_refresh_delay_ms)
        .function("takeSocketFrames", &core_binding::take_socket_frames)
        .function("takeChannelMessages", &core_binding::take_channel_messages)
        .function("takeDirectives", &core_binding::take_directives)
        .function("onWake", &core_binding::on_wake)
        .function("onNetworkOffline", &core_binding::on_network_offline)
        .function("onNetworkOnline", &core_binding::on_network_online)
        .function("takeUpdates", &core_binding::take_updates)
        .function("clearSession", &core_binding::clear_session)
        .function("onStorageFull", &core_binding::on_storage_full)
        .function("clientId", &core_binding::client_id);

    emscripten::function("errorCodes", &error_codes);
    emscripten::function("protocolVersion", &protocol_version);
    emscripten::function("reencodeFrame", &reencode_frame);
    emscripten::function("describeFrame", &describe_frame);
}
