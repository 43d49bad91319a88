// relay_log: reads a session's whole log from the relay over HTTP (GET /v1/sessions/{id}/events)
// so tests can compare what clients hold with what the relay stored. Layer: tests (faults).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace holdfast::faults {

struct logged_event {
    std::uint64_t serial = 0;
    std::string kind;
    std::string producer_id;
    std::string payload_json;
};

struct relay_log {
    std::uint64_t epoch = 0;
    std::uint64_t head_serial = 0;
    std::vector<logged_event> events;
};

/// One blocking GET on 127.0.0.1:port with a 5 s bound; throws std::runtime_error on failure.
std::string http_get(std::uint16_t port, const std::string& target);

/// Every event of `session` (pages of 10,000 until the head).
relay_log read_relay_log(std::uint16_t port, const std::string& session);

} // namespace holdfast::faults
