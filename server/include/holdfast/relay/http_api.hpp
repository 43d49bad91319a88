// The relay's HTTP API as a pure function of (method, target, body): publish and history for
// agents and operators, /healthz and /metrics. Layer: relay (sans-I/O): the Beast shell only moves
// bytes in and out, so tests call this directly. JSON in and out, UTF-8; errors are
// {"error": {"code": <errc>, "name": "<errc name>", "message": "..."}}.
#pragma once
#include "holdfast/errc.hpp"
#include "holdfast/relay/relay_core.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace holdfast::relay {

struct http_reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and CORS
};

class http_api {
public:
    static constexpr std::size_t default_read_limit = 1000;
    static constexpr std::size_t max_read_limit = 10000;

    explicit http_api(relay_core& core) : core_(core) {}

    /// Answers OPTIONS preflights, /v1/..., /healthz and /metrics; nullopt for any other path
    /// (the shell then tries static files). `target` is the request target with its query.
    /// `authorization` is the Authorization header ("Bearer <token>"), checked when auth is on.
    std::optional<http_reply> handle(std::string_view method, std::string_view target, std::string_view body,
                                     std::string_view authorization = {});

    /// Counts one answered request by status, for holdfast_http_requests_total.
    void record(unsigned status) { ++requests_by_status_[status]; }

    /// An error body with the HTTP status matching `code`'s meaning.
    static http_reply error_reply(unsigned status, errc code, std::string_view message);
    static http_reply not_found(std::string_view target);

private:
    http_reply post_event(std::string_view session, std::string_view body, std::string_view authorization);
    http_reply get_events(std::string_view session, std::string_view query, std::string_view authorization);
    http_reply metrics() const;

    relay_core& core_;
    std::map<unsigned, std::uint64_t> requests_by_status_;
};

/// Decodes %XX escapes; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace holdfast::relay
