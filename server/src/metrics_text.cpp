// Prometheus text rendering of relay_metrics. Layer: relay (sans-I/O).
#include "holdfast/relay/metrics_text.hpp"

namespace holdfast::relay {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help, std::uint64_t value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

} // namespace

std::string render_metrics(const relay_metrics& m, const std::map<unsigned, std::uint64_t>& http_requests) {
    std::string out;
    family(out, "holdfast_open_connections", "gauge", "Open WebSocket connections.", m.open_connections);
    family(out, "holdfast_live_sessions", "gauge", "Sessions with at least one attached connection.",
           m.live_sessions);
    family(out, "holdfast_connections_total", "counter", "WebSocket connections accepted.", m.connections_total);
    family(out, "holdfast_frames_received_total", "counter", "WebSocket frames received.", m.frames_received_total);
    family(out, "holdfast_frames_sent_total", "counter", "WebSocket frames queued for sending.",
           m.frames_sent_total);
    family(out, "holdfast_frames_rejected_total", "counter",
           "Frames answered with an error because they could not be decoded or were not allowed.",
           m.frames_rejected_total);
    family(out, "holdfast_events_appended_total", "counter", "Events durably appended (all sessions).",
           m.events_appended_total);
    family(out, "holdfast_appends_deduplicated_total", "counter",
           "Publishes acknowledged with an earlier serial (producer retry).", m.appends_deduplicated_total);
    family(out, "holdfast_sessions_started_total", "counter", "Sessions that received their first event.",
           m.sessions_started_total);
    family(out, "holdfast_store_failures_total", "counter", "Store operations that failed.",
           m.store_failures_total);
    family(out, "holdfast_appends_fenced_total", "counter",
           "Publishes refused with stale_epoch (an older producer incarnation).", m.appends_fenced_total);
    family(out, "holdfast_sequence_gaps_total", "counter", "Publishes refused with sequence_gap.",
           m.sequence_gaps_total);
    family(out, "holdfast_replay_batches_total", "counter", "Events frames released by paced replays.",
           m.replay_batches_total);
    family(out, "holdfast_events_replayed_total", "counter", "Events sent by paced replays (resume tails).",
           m.events_replayed_total);
    family(out, "holdfast_slow_consumer_closes_total", "counter",
           "Connections closed because their send queue passed the bound (close status 4008).",
           m.slow_consumer_closes_total);
    out += "# HELP holdfast_controls_total Controls resolved, by outcome (control.outcome events, the relay's and agents').\n";
    out += "# TYPE holdfast_controls_total counter\n";
    out += "holdfast_controls_total{outcome=\"applied\"} " + std::to_string(m.controls_applied_total) + '\n';
    out += "holdfast_controls_total{outcome=\"too_late\"} " + std::to_string(m.controls_too_late_total) + '\n';
    out += "holdfast_controls_total{outcome=\"rejected\"} " + std::to_string(m.controls_rejected_total) + '\n';
    family(out, "holdfast_agents_lost_total", "counter",
           "Agent leases that ran out: their open messages ended with agent_lost.", m.agents_lost_total);
    family(out, "holdfast_agent_leases", "gauge", "Disconnected agents whose lease is running.", m.agent_leases);
    family(out, "holdfast_auth_failures_total", "counter",
           "Hellos and HTTP requests refused for a missing, invalid or expired token.", m.auth_failures_total);
    family(out, "holdfast_forbidden_total", "counter", "Requests outside the token's capabilities.",
           m.forbidden_total);
    family(out, "holdfast_throttled_total", "counter", "Rate-limit episodes (reading from a connection paused).",
           m.throttled_total);
    family(out, "holdfast_rate_limit_closes_total", "counter",
           "Connections closed for flooding past their rate debt (close status 4029).", m.rate_limit_closes_total);
    out += "# HELP holdfast_http_requests_total HTTP requests answered, by status code.\n";
    out += "# TYPE holdfast_http_requests_total counter\n";
    for (const auto& [status, count] : http_requests) {
        out += "holdfast_http_requests_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(count) + '\n';
    }
    return out;
}

} // namespace holdfast::relay
