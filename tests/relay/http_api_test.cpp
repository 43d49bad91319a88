// http_api and static_files driven directly (no sockets): status codes, JSON shapes, dedup over
// HTTP, metrics text, file lookup and traversal refusal. Layer: tests (relay, sans-I/O).
#include "relay_test_support.hpp"

#include "holdfast/relay/http_api.hpp"
#include "holdfast/relay/static_files.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

namespace holdfast::relay::testing {
namespace {

class http_api_test : public relay_core_fixture {
protected:
    http_reply call(std::string_view method, std::string_view target, std::string_view body = {}) {
        auto reply = api_.handle(method, target, body);
        EXPECT_TRUE(reply.has_value()) << target;
        return reply ? std::move(*reply) : http_reply{};
    }
    static boost::json::value parse(const http_reply& r) { return boost::json::parse(r.body); }

    http_api api_{core_};
};

TEST_F(http_api_test, post_then_get) {
    auto posted = call("POST", "/v1/sessions/chat-1/events",
                       R"({"kind":"user.prompt","msgId":"u1","agent":"cli","payload":{"text":"hello","n":[1,2.5]}})");
    ASSERT_EQ(posted.status, 200u) << posted.body;
    auto body = parse(posted);
    EXPECT_EQ(body.at("serial").as_int64(), 1);
    EXPECT_GT(body.at("epoch").as_int64(), 0);

    call("POST", "/v1/sessions/chat-1/events", R"({"kind":"message.start"})");
    call("POST", "/v1/sessions/chat-1/events", R"({"kind":"message.end"})");
    auto got = call("GET", "/v1/sessions/chat-1/events?from=1&limit=1");
    ASSERT_EQ(got.status, 200u);
    auto page = parse(got);
    EXPECT_EQ(page.at("session").as_string(), "chat-1");
    EXPECT_EQ(page.at("headSerial").as_int64(), 3);
    EXPECT_EQ(page.at("epoch"), body.at("epoch"));
    ASSERT_EQ(page.at("events").as_array().size(), 1u);
    EXPECT_EQ(page.at("events").at(0).at("serial").as_int64(), 2);
    EXPECT_EQ(page.at("events").at(0).at("kind").as_string(), "message.start");

    auto first = parse(call("GET", "/v1/sessions/chat-1/events")).at("events").at(0);
    EXPECT_EQ(first.at("payload"), boost::json::parse(R"({"text":"hello","n":[1,2.5]})"));
    EXPECT_EQ(first.at("agent").as_string(), "cli");
    EXPECT_EQ(first.at("msgId").as_string(), "u1");
}

TEST_F(http_api_test, producer_dedup_over_http) {
    const char* body = R"({"kind":"k","producerId":"agent-1","producerSeq":9})";
    auto a = parse(call("POST", "/v1/sessions/s/events", body));
    auto b = parse(call("POST", "/v1/sessions/s/events", body));
    EXPECT_EQ(a.at("serial"), b.at("serial"));
    EXPECT_EQ(core_.metrics().events_appended_total, 2u);  // s's event and its session.created
}

TEST_F(http_api_test, unknown_session_reads_empty_without_creating) {
    auto page = parse(call("GET", "/v1/sessions/ghost/events?from=0"));
    EXPECT_EQ(page.at("epoch").as_int64(), 0);
    EXPECT_EQ(page.at("headSerial").as_int64(), 0);
    EXPECT_TRUE(page.at("events").as_array().empty());
    EXPECT_FALSE(store_.load("ghost").value().has_value());
}

TEST_F(http_api_test, errors_carry_status_code_and_name) {
    auto expect_error = [&](const http_reply& r, unsigned status, errc code) {
        EXPECT_EQ(r.status, status) << r.body;
        auto body = parse(r);
        EXPECT_EQ(body.at("error").at("code").as_int64(), static_cast<int>(code));
        EXPECT_EQ(body.at("error").at("name").as_string(), to_string(code));
    };
    expect_error(call("POST", "/v1/sessions/s/events", "{not json"), 400, errc::invalid_payload);
    expect_error(call("POST", "/v1/sessions/s/events", R"({"msgId":"x"})"), 400, errc::missing_field);
    expect_error(call("POST", "/v1/sessions/s/events", R"({"kind":""})"), 400, errc::missing_field);
    expect_error(call("POST", "/v1/sessions/s/events", R"({"kind":1})"), 400, errc::wrong_type);
    expect_error(call("POST", "/v1/sessions/s/events", R"({"kind":"k","producerSeq":-1})"), 400, errc::wrong_type);
    expect_error(call("POST", "/v1/sessions/bad%20id/events", R"({"kind":"k"})"), 400, errc::invalid_session_id);
    expect_error(call("POST", "/v1/sessions/%24sessions/events", R"({"kind":"k"})"), 403, errc::forbidden);
    expect_error(call("GET", "/v1/sessions/s/events?from=abc"), 400, errc::wrong_type);
    expect_error(call("DELETE", "/v1/sessions/s/events"), 405, errc::protocol_violation);
    expect_error(call("GET", "/v1/nothing"), 404, errc::protocol_violation);
    EXPECT_EQ(core_.metrics().events_appended_total, 0u);
}

TEST_F(http_api_test, health_metrics_preflight_and_fallthrough) {
    EXPECT_EQ(call("GET", "/healthz").body, R"({"status":"ok"})");
    api_.record(200);
    auto metrics = call("GET", "/metrics");
    EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
    for (const char* name : {"# TYPE holdfast_open_connections gauge\nholdfast_open_connections 0\n",
                             "# TYPE holdfast_events_appended_total counter\n",
                             "# TYPE holdfast_frames_rejected_total counter\n",
                             "holdfast_http_requests_total{code=\"200\"} 1\n"}) {
        EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
    }
    EXPECT_EQ(call("POST", "/healthz").status, 405u);
    EXPECT_EQ(call("DELETE", "/metrics").status, 405u);
    auto preflight = call("OPTIONS", "/v1/sessions/s/events");
    EXPECT_EQ(preflight.status, 204u);
    EXPECT_FALSE(api_.handle("GET", "/app.js", "").has_value());
}

TEST(static_files_test, serves_index_files_and_sdk_and_refuses_traversal) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("holdfast-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::remove_all(root);
    fs::create_directories(root / "web");
    fs::create_directories(root / "sdk");
    std::ofstream(root / "web" / "index.html") << "<h1>hi</h1>";
    std::ofstream(root / "web" / "app.js") << "export {}";
    std::ofstream(root / "sdk" / "holdfast_core.wasm") << "\0asm";
    std::ofstream(root / "secret.txt") << "secret";
    static_files files(root / "web", root / "sdk");

    auto index = files.lookup("/");
    ASSERT_TRUE(index.has_value());
    EXPECT_EQ(index->body, "<h1>hi</h1>");
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(files.lookup("/app.js?v=1")->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(files.lookup("/sdk/holdfast_core.wasm")->content_type, "application/wasm");
    EXPECT_FALSE(files.lookup("/../secret.txt").has_value());
    EXPECT_FALSE(files.lookup("/%2e%2e/secret.txt").has_value());
    EXPECT_FALSE(files.lookup("/sdk/../web/index.html").has_value());
    EXPECT_FALSE(files.lookup("/missing.js").has_value());
    fs::remove_all(root);
}

} // namespace
} // namespace holdfast::relay::testing
