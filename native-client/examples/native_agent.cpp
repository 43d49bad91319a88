// holdfast-native-agent: a C++ agent on the agent API (agent_client). It follows the sessions
// named on the command line, answers every user.prompt with a simulated stream of words at a
// fixed rate, stops on a cancel or an interrupt, and takes a steer by replacing the rest of its
// answer (reporting the steer applied). Layer: example / test fixture (tests/faults kills it
// mid-answer to check the relay's lease). Not meant to be clever: an LLM call goes where
// compose_answer() is.
//
// Usage: holdfast-native-agent --port N [--host 127.0.0.1] [--name cpp-agent] [--rate 50]
//        [--words 200] SESSION...
#include "holdfast/native/agent_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace holdfast;

struct settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string name = "cpp-agent";
    double rate = 50;
    int words = 200;
    std::vector<std::string> sessions;
};

std::deque<std::string> words_of(const std::string& text) {
    std::deque<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w + " ");
    return out;
}

std::deque<std::string> compose_answer(const std::string& prompt, int words) {
    std::deque<std::string> out = words_of("You asked: " + prompt + ". Here is a long answer.");
    for (int i = 0; static_cast<int>(out.size()) < words; ++i) out.push_back("word" + std::to_string(i) + " ");
    return out;
}

/// One answer being streamed: a writer, the words left and the timer pacing them.
struct answer_stream {
    std::shared_ptr<native::message_writer> writer;
    std::deque<std::string> rest;
    boost::asio::steady_timer timer;
    explicit answer_stream(boost::asio::io_context& ioc) : timer(ioc) {}
};

native::agent_options options_for(const settings& s) {
    native::agent_options options;
    options.name = s.name;
    return options;
}

class demo_agent {
public:
    demo_agent(boost::asio::io_context& ioc, const settings& s)
        : ioc_(ioc), settings_(s), client_(ioc, options_for(s), s.host, s.port) {
        native::client_handlers h;
        h.on_session = [this](const native::session_status& st) { on_session(st); };
        h.on_event = [this](const native::delivered_event& e) { on_event(e); };
        h.on_error = [](const error& err) { std::cerr << "agent: error " << err.detail << "\n"; };
        client_.set_handlers(std::move(h));
        for (const auto& id : s.sessions) (void)client_.open_session(id);
        client_.start();
    }

private:
    void on_session(const native::session_status& st) {
        if (st.reset) {
            prompts_[st.id].clear();
            answered_[st.id].clear();
        }
        live_[st.id] = st.state == "live";
        // Decide only once caught up: during a replay a prompt's reply may be in a later batch.
        if (live_[st.id]) boost::asio::post(ioc_, [this, id = st.id] { answer_pending(id); });
    }

    void on_event(const native::delivered_event& e) {
        if (e.kind == "user.prompt") {
            const auto payload = boost::json::parse(e.payload_json);
            const auto* text = payload.is_object() ? payload.as_object().if_contains("text") : nullptr;
            const std::string reply = "reply-" + (e.msg_id.empty() ? std::to_string(e.serial) : e.msg_id);
            prompts_[e.session].emplace_back(reply, text && text->is_string() ? std::string(text->as_string()) : "");
        } else if (e.kind == "message.start") {
            answered_[e.session].insert(e.msg_id);
        }
    }

    void answer_pending(const std::string& session) {
        if (!live_[session]) return;
        for (const auto& [reply, text] : prompts_[session]) {
            if (answered_[session].contains(reply)) continue;
            answered_[session].insert(reply);
            start_answer(session, reply, text);
        }
    }

    void start_answer(const std::string& session, const std::string& reply, const std::string& text) {
        (void)client_.status(session, "thinking");
        native::message_options options;
        options.msg_id = reply;
        auto started = client_.start_message(session, options);
        if (!started) {
            std::cerr << "agent: cannot start " << reply << ": " << started.err().detail << "\n";
            return;
        }
        auto stream = std::make_shared<answer_stream>(ioc_);
        stream->writer = started.value();
        stream->rest = compose_answer(text, settings_.words);
        stream->writer->on_control([this, session, stream](const native::incoming_control_update& c) {
            const std::string steer_text = control_text(c);
            if (c.action == "steer") {
                stream->rest = words_of("Steered: " + steer_text);
                (void)stream->writer->report_outcome(c, "applied");
            } else if (c.action == "interrupt") {
                start_answer(session, "reply-interrupt-" + std::to_string(c.serial), steer_text);
            }
        });
        std::cout << "agent: answering " << session << "/" << reply << std::endl;
        tick(stream);
    }

    static std::string control_text(const native::incoming_control_update& c) {
        const auto payload = boost::json::parse(c.payload_json);
        const auto* text = payload.is_object() ? payload.as_object().if_contains("text") : nullptr;
        return text && text->is_string() ? std::string(text->as_string()) : std::string();
    }

    void tick(const std::shared_ptr<answer_stream>& stream) {
        stream->timer.expires_after(std::chrono::microseconds(static_cast<long>(1e6 / settings_.rate)));
        stream->timer.async_wait([this, stream](boost::system::error_code ec) {
            if (ec || stream->writer->ended()) return;
            if (stream->rest.empty()) {
                (void)stream->writer->end();
                return;
            }
            (void)stream->writer->write(stream->rest.front());
            stream->rest.pop_front();
            tick(stream);
        });
    }

    boost::asio::io_context& ioc_;
    settings settings_;
    native::agent_client client_;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> prompts_;  // reply id, text
    std::map<std::string, std::set<std::string>> answered_;
    std::map<std::string, bool> live_;
};

} // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "holdfast-native-agent: " << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--host") s.host = value();
        else if (arg == "--port") s.port = static_cast<std::uint16_t>(std::stoul(value()));
        else if (arg == "--name") s.name = value();
        else if (arg == "--rate") s.rate = std::stod(value());
        else if (arg == "--words") s.words = std::stoi(value());
        else if (arg.starts_with("--")) {
            std::cerr << "usage: holdfast-native-agent --port N [--host H] [--name N] [--rate R] [--words W] SESSION...\n";
            return 2;
        } else s.sessions.push_back(arg);
    }
    if (s.port == 0 || s.sessions.empty() || !(s.rate > 0)) {
        std::cerr << "holdfast-native-agent: --port, a positive --rate and at least one SESSION are required\n";
        return 2;
    }
    boost::asio::io_context ioc;
    demo_agent agent(ioc, s);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { ioc.stop(); });
    ioc.run();
    return 0;
}
