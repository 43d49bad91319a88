// The C++ agent API against the real relay binary: controls reach the right writer and settle
// with the relay's outcome, two agents stream into one session under one run, and an agent
// process killed mid-answer has its message ended as agent_lost by the relay's lease.
#include "relay_process.hpp"

#include "holdfast/native/agent_client.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>


namespace holdfast::faults {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string text_of(const std::string& payload_json, const char* key) {
    const auto v = boost::json::parse(payload_json);
    if (!v.is_object()) return {};
    const auto* field = v.as_object().if_contains(key);
    return field && field->is_string() ? std::string(field->as_string()) : std::string();
}

/// A user surface: a plain client that records what it sees and the outcomes of its controls.
struct user_view {
    native::client_host host;
    std::vector<native::delivered_event> events;
    std::map<std::uint64_t, native::control_outcome_update> outcomes;  // by request
    std::map<std::string, std::string> live;                           // session -> state

    user_view(boost::asio::io_context& ioc, std::uint16_t port, const std::string& id)
        : host(ioc, config(id), "127.0.0.1", port) {
        native::client_handlers h;
        h.on_event = [this](const native::delivered_event& e) { events.push_back(e); };
        h.on_session = [this](const native::session_status& s) { live[s.id] = s.state; };
        h.on_control_outcome = [this](const native::control_outcome_update& o) { outcomes[o.request] = o; };
        host.set_handlers(std::move(h));
    }
    static client::client_config config(const std::string& id) {
        client::client_config c;
        c.client_id = id;
        c.producer_epoch = 1;
        return c;
    }
    std::size_t count(const std::string& kind, const std::string& msg_id) const {
        std::size_t n = 0;
        for (const auto& e : events) n += e.kind == kind && e.msg_id == msg_id;
        return n;
    }
    const native::delivered_event* find(const std::string& kind, const std::string& msg_id) const {
        for (const auto& e : events) {
            if (e.kind == kind && e.msg_id == msg_id) return &e;
        }
        return nullptr;
    }
    /// The message's text as deltas assembled in serial order.
    std::string text(const std::string& msg_id) const {
        std::string out;
        for (const auto& e : events) {
            if (e.kind == "message.delta" && e.msg_id == msg_id) out += text_of(e.payload_json, "text");
        }
        return out;
    }
};

class agent_api : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("holdfast-agent-api-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        relay_ = std::make_unique<relay_process>(relay_process::default_binary(), "memory:", dir_,
                                                 std::vector<std::string>{"--agent-lease-ms", "1000"});
        relay_->start();
    }
    void TearDown() override {
        relay_.reset();
        fs::remove_all(dir_);
    }
    bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(15)) {
        const auto deadline = clock_type::now() + limit;
        while (!done()) {
            if (clock_type::now() > deadline) return false;
            if (ioc_.stopped()) ioc_.restart();
            ioc_.run_one_for(std::chrono::milliseconds(20));
        }
        return true;
    }
    std::unique_ptr<native::agent_client> make_agent(const std::string& name) {
        native::agent_options options;
        options.name = name;
        return std::make_unique<native::agent_client>(ioc_, options, "127.0.0.1", relay_->port());
    }

    fs::path dir_;
    std::unique_ptr<relay_process> relay_;
    boost::asio::io_context ioc_;
};

TEST_F(agent_api, cancel_ends_the_writer_and_the_user_gets_applied) {
    auto agent = make_agent("cpp-agent");
    user_view user(ioc_, relay_->port(), "user-a");
    std::vector<std::string> seen_by_writer;
    (void)agent->open_session("chat");
    (void)user.host.open_session("chat");
    agent->start();
    user.host.start();
    ASSERT_TRUE(run_until([&] { return user.live["chat"] == "live"; }));

    ASSERT_TRUE(agent->status("chat", "thinking"));
    ASSERT_TRUE(agent->tool_call("chat", "call-1", "search", R"({"q":"holdfast"})"));
    ASSERT_TRUE(agent->tool_result("chat", "call-1", R"({"hits":3})"));
    auto writer = agent->start_message("chat", {.msg_id = "m1", .run = "", .role = "assistant"}).value();
    writer->on_control([&](const native::incoming_control_update& c) { seen_by_writer.push_back(c.action); });
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->write("w" + std::to_string(i) + " "));
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "m1") == 3; }));

    const auto tool = user.find("tool.call", "call-1");
    ASSERT_NE(tool, nullptr);
    EXPECT_EQ(tool->agent, "cpp-agent");
    EXPECT_EQ(text_of(tool->payload_json, "name"), "search");
    EXPECT_NE(user.find("tool.result", "call-1"), nullptr);

    const std::uint64_t request = user.host.control("chat", "cancel", "m1", "").value();
    ASSERT_TRUE(run_until([&] { return user.outcomes.contains(request) && user.find("message.end", "m1"); }));
    EXPECT_EQ(user.outcomes[request].outcome, "applied");
    EXPECT_EQ(seen_by_writer, std::vector<std::string>{"cancel"});
    EXPECT_TRUE(writer->ended());
    ASSERT_TRUE(writer->stopped_by().has_value());
    EXPECT_EQ(writer->stopped_by()->action, "cancel");
    EXPECT_EQ(text_of(user.find("message.end", "m1")->payload_json, "status"), "cancelled");
    // Once stopped the writer refuses to write: nothing follows the end.
    auto late = writer->write("late ");
    ASSERT_TRUE(late);
    EXPECT_FALSE(late.value().has_value());
    EXPECT_EQ(user.text("m1"), "w0 w1 w2 ");

    // A second cancel of the ended message is too late, not lost.
    const std::uint64_t again = user.host.control("chat", "cancel", "m1", "").value();
    ASSERT_TRUE(run_until([&] { return user.outcomes.contains(again); }));
    EXPECT_EQ(user.outcomes[again].outcome, "too_late");
    EXPECT_EQ(seen_by_writer.size(), 1u);
}

TEST_F(agent_api, steer_reaches_the_writer_which_reports_it_applied) {
    auto agent = make_agent("cpp-agent");
    user_view user(ioc_, relay_->port(), "user-b");
    (void)agent->open_session("chat");
    (void)user.host.open_session("chat");
    agent->start();
    user.host.start();
    ASSERT_TRUE(run_until([&] { return user.live["chat"] == "live"; }));

    auto writer = agent->start_message("chat", {.msg_id = "m2", .run = "", .role = "assistant"}).value();
    writer->on_control([&](const native::incoming_control_update& c) {
        ASSERT_EQ(c.action, "steer");
        EXPECT_EQ(text_of(c.payload_json, "text"), "shorter");
        (void)writer->write("steered ");
        (void)writer->report_outcome(c, "applied");
        (void)writer->end();
    });
    (void)writer->write("first ");
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "m2") == 1; }));
    const std::uint64_t request = user.host.control("chat", "steer", "m2", R"({"text":"shorter"})").value();
    ASSERT_TRUE(run_until([&] { return user.outcomes.contains(request) && user.find("message.end", "m2"); }));
    EXPECT_EQ(user.outcomes[request].outcome, "applied");
    EXPECT_EQ(user.text("m2"), "first steered ");
    EXPECT_EQ(text_of(user.find("message.end", "m2")->payload_json, "status"), "complete");
}

TEST_F(agent_api, two_agents_share_a_run_one_cancel_stops_one_the_run_cancel_stops_both) {
    auto researcher = make_agent("researcher");
    auto writer_agent = make_agent("writer");
    user_view user(ioc_, relay_->port(), "user-c");
    for (auto* a : {researcher.get(), writer_agent.get()}) {
        (void)a->open_session("team");
        a->start();
    }
    (void)user.host.open_session("team");
    user.host.start();
    ASSERT_TRUE(run_until([&] { return user.live["team"] == "live"; }));

    auto r1 = researcher->start_message("team", {.msg_id = "r1", .run = "run-1", .role = "assistant"}).value();
    auto w1 = writer_agent->start_message("team", {.msg_id = "w1", .run = "run-1", .role = "assistant"}).value();
    std::string r_text, w_text;
    for (int i = 0; i < 20; ++i) {  // interleaved through two connections
        r_text += "r" + std::to_string(i) + " ";
        w_text += "w" + std::to_string(i) + " ";
        (void)r1->write("r" + std::to_string(i) + " ");
        (void)w1->write("w" + std::to_string(i) + " ");
    }
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "r1") == 20 && user.count("message.delta", "w1") == 20; }));
    EXPECT_EQ(user.text("r1"), r_text);
    EXPECT_EQ(user.text("w1"), w_text);
    EXPECT_EQ(user.find("message.start", "r1")->agent, "researcher");
    EXPECT_EQ(user.find("message.start", "w1")->agent, "writer");

    // Cancelling one sub-agent's message leaves the other running.
    const std::uint64_t one = user.host.control("team", "cancel", "r1", "").value();
    ASSERT_TRUE(run_until([&] { return user.outcomes.contains(one); }));
    EXPECT_EQ(user.outcomes[one].outcome, "applied");
    EXPECT_TRUE(r1->ended());
    EXPECT_FALSE(w1->ended());
    (void)w1->write("more ");
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "w1") == 21; }));

    // Cancelling the run stops every message still open in it.
    auto w2 = writer_agent->start_message("team", {.msg_id = "w2", .run = "run-1", .role = "assistant"}).value();
    (void)w2->write("x ");
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "w2") == 1; }));
    const std::uint64_t run = user.host.control("team", "cancel", "run-1", "").value();
    ASSERT_TRUE(run_until([&] { return user.outcomes.contains(run) && user.find("message.end", "w1") && user.find("message.end", "w2"); }));
    EXPECT_EQ(user.outcomes[run].outcome, "applied");
    EXPECT_TRUE(w1->ended());
    EXPECT_TRUE(w2->ended());
    EXPECT_EQ(text_of(user.find("message.end", "w1")->payload_json, "status"), "cancelled");
    EXPECT_EQ(text_of(user.find("message.end", "w2")->payload_json, "status"), "cancelled");
}

/// The example agent as a child process, so it can die the hard way.
class agent_process {
public:
    agent_process(std::uint16_t port, const std::string& session, const fs::path& log) {
        const std::vector<std::string> args = {HOLDFAST_NATIVE_AGENT_BINARY, "--port", std::to_string(port), "--rate", "100",
                                         "--words", "5000", session};
        pid_ = spawn_logged(args, log);
    }
    ~agent_process() { kill_hard(); }
    void kill_hard() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

TEST_F(agent_api, an_agent_process_killed_mid_answer_is_ended_as_agent_lost) {
    user_view user(ioc_, relay_->port(), "user-d");
    (void)user.host.open_session("killed");
    user.host.start();
    ASSERT_TRUE(run_until([&] { return user.live["killed"] == "live"; }));
    agent_process agent(relay_->port(), "killed", dir_ / "agent.log");
    ASSERT_TRUE(user.host.publish("killed", "user.prompt", "p1", R"({"text":"tell me everything"})"));
    ASSERT_TRUE(run_until([&] { return user.count("message.delta", "reply-p1") >= 10; }))
        << "the agent never streamed";
    EXPECT_EQ(user.find("message.start", "reply-p1")->agent, "cpp-agent");
    agent.kill_hard();

    ASSERT_TRUE(run_until([&] { return user.find("message.end", "reply-p1") != nullptr; }))
        << "the relay never ended the lost agent's message";
    const auto* end = user.find("message.end", "reply-p1");
    EXPECT_EQ(text_of(end->payload_json, "status"), "error");
    EXPECT_EQ(text_of(end->payload_json, "reason"), "agent_lost");
    for (const auto& e : user.events) {
        if (e.kind == "message.delta" && e.msg_id == "reply-p1") {
            EXPECT_LT(e.serial, end->serial);
        }
    }
    ASSERT_TRUE(run_until([&] {
        for (const auto& e : user.events) {
            if (e.kind == "agent.detached" && text_of(e.payload_json, "reason") == "lease_expired") return true;
        }
        return false;
    }));
}

} // namespace
} // namespace holdfast::faults
