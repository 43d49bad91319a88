// Renders the relay's counters in the Prometheus text exposition format 0.0.4. Layer: relay
// (sans-I/O). Names are documented in docs/operations.md.
#pragma once
#include "holdfast/relay/relay_types.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace holdfast::relay {

inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string render_metrics(const relay_metrics& metrics, const std::map<unsigned, std::uint64_t>& http_requests);

} // namespace holdfast::relay
