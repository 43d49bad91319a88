// holdfast-relay: command-line flags, store opening and the run loop around relay_server.
// Layer: relay executable. See docs/operations.md for every flag.
#include "holdfast/codec.hpp"
#include "holdfast/relay/access_token.hpp"
#include "holdfast/relay/relay_server.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace fs = std::filesystem;
using namespace holdfast::relay;

namespace {

constexpr const char* usage = R"(usage: holdfast-relay [options]

  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080; [::1]:8080 for IPv6;
                           port 0 picks a free port)
  --store URL              sqlite:PATH (default sqlite:holdfast.db), memory:, or
                           redis://HOST:PORT/DB[?retain_events=N] for several relay nodes
  --static-dir DIR         files served at / (default <repo>/demo/web)
  --sdk-dir DIR            files served at /sdk/ (default <repo>/build/sdk)
  --max-frame-bytes N      largest WebSocket message and HTTP body (default and most 1048576)
  --max-batch-events N     events per replay frame (default 2048)
  --max-queued-bytes N     send queue per WebSocket before it is closed as a slow consumer
                           (default 8388608)
  --agent-lease-ms N       how long a disconnected agent keeps its open messages before the
                           relay ends them with error/agent_lost (default 5000)
  --auth-secret-file PATH  HS256 secret for capability tokens (also env HOLDFAST_AUTH_SECRET);
                           without either the relay runs in development mode with NO auth
  --allowed-origins A,B    browser Origins allowed to open a WebSocket (others: 403);
                           default: every origin
  --max-frames-per-second N   per-connection frame budget before reads are paused (default 200000)
  --max-bytes-per-second N    per-connection byte budget (default 33554432)
  --max-sessions-per-connection N  sessions attached at once per connection (default 10000)
  --max-connections-per-ip N  WebSockets open at once from one IP (default 256; 0: unlimited)
  --group-commit on|off    commit the appends of one received bundle in one store transaction
                           (sqlite); a failed group commit stops the relay (default off)
  --help                   show this help
)";

/// The repository root: the nearest ancestor of the executable holding demo/ or server/, else
/// the working directory if it looks like the repository, else the source tree it was built from.
fs::path repo_root() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
            if (fs::exists(dir / "CMakeLists.txt", ec) && fs::is_directory(dir / "server", ec)) return dir;
        }
    }
    const fs::path cwd = fs::current_path(ec);
    if (!ec && fs::is_directory(cwd / "demo", ec)) return cwd;
    return fs::path(HOLDFAST_SOURCE_DIR);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

bool parse_listen(std::string_view text, server_config& config) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto port = parse_number(text.substr(colon + 1));
    if (!port || *port > 65535) return false;
    config.host = std::string(host);
    config.port = static_cast<std::uint16_t>(*port);
    return true;
}

int fail(const std::string& message) {
    std::cerr << "holdfast-relay: " << message << "\n(--help lists the options)\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    server_config config;
    config.handle_signals = true;
    std::string store_url = "sqlite:holdfast.db";
    std::optional<fs::path> static_dir, sdk_dir;
    std::optional<fs::path> secret_file;

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view value;
        bool has_value = false;
        if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        auto take = [&]() -> std::optional<std::string_view> {
            if (has_value) return value;
            if (i + 1 >= argc) return std::nullopt;
            return std::string_view(argv[++i]);
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        constexpr std::string_view known[] = {"--listen",          "--store",           "--static-dir",
                                              "--sdk-dir",         "--max-frame-bytes", "--max-batch-events",
                                              "--max-queued-bytes", "--agent-lease-ms",
                                              "--auth-secret-file", "--allowed-origins",
                                              "--max-frames-per-second", "--max-bytes-per-second",
                                              "--max-sessions-per-connection", "--max-connections-per-ip",
                                              "--group-commit"};
        if (std::find(std::begin(known), std::end(known), arg) == std::end(known)) {
            return fail("unknown option " + std::string(arg));
        }
        auto v = take();
        if (!v) return fail("missing value for " + std::string(arg));
        if (arg == "--listen") {
            if (!parse_listen(*v, config)) return fail("bad --listen '" + std::string(*v) + "' (want HOST:PORT)");
        } else if (arg == "--store") {
            store_url = std::string(*v);
        } else if (arg == "--static-dir") {
            static_dir = fs::path(*v);
        } else if (arg == "--sdk-dir") {
            sdk_dir = fs::path(*v);
        } else if (arg == "--max-frame-bytes" || arg == "--max-batch-events") {
            const auto n = parse_number(*v);
            if (!n || *n == 0 || *n > 0xFFFFFFFFu) return fail("bad " + std::string(arg) + " '" + std::string(*v) + "'");
            // Clients decode messages of at most 1 MiB: a larger frame could never be read back.
            if (arg == "--max-frame-bytes" && *n > holdfast::proto::decode_limits{}.max_frame_bytes) {
                return fail("--max-frame-bytes " + std::string(*v) + " is over 1048576, the most a client reads in one message");
            }
            (arg == "--max-frame-bytes" ? config.relay.max_frame_bytes : config.relay.max_batch_events) =
                static_cast<std::uint32_t>(*n);
        } else if (arg == "--max-queued-bytes") {
            const auto n = parse_number(*v);
            if (!n || *n == 0) return fail("bad --max-queued-bytes '" + std::string(*v) + "'");
            config.relay.max_queued_bytes = *n;
        } else if (arg == "--agent-lease-ms") {
            const auto n = parse_number(*v);
            if (!n || *n > (std::uint64_t{1} << 40)) return fail("bad --agent-lease-ms '" + std::string(*v) + "'");
            config.relay.agent_lease_ms = *n;
        } else if (arg == "--group-commit") {
            if (*v != "on" && *v != "off") return fail("bad --group-commit '" + std::string(*v) + "' (want on or off)");
            config.relay.group_commit = *v == "on";
        } else if (arg == "--auth-secret-file") {
            secret_file = fs::path(*v);
        } else if (arg == "--allowed-origins") {
            std::string_view list = *v;
            while (!list.empty()) {
                const auto comma = list.find(',');
                std::string_view origin = list.substr(0, comma);
                if (!origin.empty()) config.allowed_origins.emplace_back(origin);
                list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            }
            if (config.allowed_origins.empty()) return fail("bad --allowed-origins '" + std::string(*v) + "'");
        } else {  // the per-connection limits: 0 means unmetered / unlimited
            const auto n = parse_number(*v);
            if (!n || *n > 0xFFFFFFFFu) return fail("bad " + std::string(arg) + " '" + std::string(*v) + "'");
            if (arg == "--max-frames-per-second") config.relay.max_frames_per_second = static_cast<std::uint32_t>(*n);
            if (arg == "--max-bytes-per-second") config.relay.max_bytes_per_second = *n;
            if (arg == "--max-sessions-per-connection") {
                config.relay.max_sessions_per_connection = static_cast<std::uint32_t>(*n);
            }
            if (arg == "--max-connections-per-ip") config.max_connections_per_ip = static_cast<std::uint32_t>(*n);
        }
    }
    const fs::path root = repo_root();
    config.static_dir = static_dir.value_or(root / "demo" / "web");
    config.sdk_dir = sdk_dir.value_or(root / "build" / "sdk");

    // Capability tokens: a secret from the file wins over the environment.
    std::string secret;
    if (secret_file) {
        std::ifstream in(*secret_file, std::ios::binary);
        if (!in) return fail("cannot read --auth-secret-file " + secret_file->string());
        std::ostringstream text;
        text << in.rdbuf();
        secret = text.str();
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
        if (secret.empty()) return fail("--auth-secret-file " + secret_file->string() + " is empty");
    } else if (const char* env = std::getenv("HOLDFAST_AUTH_SECRET"); env && *env) {
        secret = env;
    }
    if (!secret.empty()) {
        if (secret.size() < 32) std::cerr << "holdfast-relay: warning: the auth secret is shorter than 32 bytes\n";
        config.relay.auth = std::make_shared<const token_verifier>(std::move(secret));
    } else {
        std::cerr << "holdfast-relay: ************************************************************\n"
                     "holdfast-relay: DEVELOPMENT MODE: NO AUTHENTICATION. Anyone who can reach this\n"
                     "holdfast-relay: relay can read and write every session. Give it a secret with\n"
                     "holdfast-relay: --auth-secret-file PATH or HOLDFAST_AUTH_SECRET before exposing it.\n";
        if (config.allowed_origins.empty()) {
            std::cerr << "holdfast-relay: Every Origin may open a WebSocket (no --allowed-origins).\n";
        }
        std::cerr << "holdfast-relay: ************************************************************" << std::endl;
    }
    if (config.relay.auth && config.allowed_origins.empty()) {
        std::cerr << "holdfast-relay: warning: every Origin may open a WebSocket (no --allowed-origins)" << std::endl;
    }

    auto store = open_store(store_url);
    if (!store) return fail("store: " + store.err().detail);
    relay_server server(config, std::move(store).value());
    auto port = server.start();
    if (!port) return fail(port.err().detail);
    std::cerr << "holdfast-relay: listening on " << config.host << ':' << port.value() << " (ws /v1/ws), store "
              << store_url << ", static " << config.static_dir.string() << ", sdk " << config.sdk_dir.string()
              << ", auth " << (config.relay.auth ? "on" : "OFF (development mode)") << std::endl;
    server.run();
    std::cerr << "holdfast-relay: stopped" << std::endl;
    return EXIT_SUCCESS;
}
