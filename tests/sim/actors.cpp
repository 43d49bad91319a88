// Who acts in the simulated world: agents (client_cores with an agent identity, each on its own
// link) answering prompts addressed to them with message.start / delta / end and honouring
// cancels, and the scheduled actions — users' prompts and cancels, and every fault. Layer: tests
// (simulator).
//
// Every publish carries a unique nonce ("n" in its payload), so the checks can tell which publish
// a log entry or an ack belongs to.
#include "world.hpp"

#include <boost/json.hpp>

namespace holdfast::sim {
namespace {

constexpr ms agent_tick_ms = 200;

std::string json_string(std::string_view text) {
    std::string out = "\"";
    out += text;  // only simulator-made ids and words: nothing to escape
    out += '"';
    return out;
}

} // namespace

// ---- agents ---------------------------------------------------------------------------------------

void world::agent_start(agent& a) {
    client::client_config config;
    config.client_id = a.name;
    config.agent = a.name;
    config.producer_epoch = now_;
    config.random_seed = net_.next() | 1;
    config.backoff = client::backoff_config{100, 3'000, 50};
    config.heartbeat = client::heartbeat_config{1'200, 800};
    a.reader = {};
    a.core = std::make_unique<client::client_core>(config);
    for (const auto& s : sessions_) {
        (void)a.core->open_session(s);
        a.cursor[s] = 0;
    }
    a.link = open_link(true, a.index, -1);
    auto schedule_tick = std::make_shared<std::function<void()>>();
    *schedule_tick = [this, index = a.index, weak = std::weak_ptr<std::function<void()>>(schedule_tick)] {
        // Weak: a strong self-reference would be a cycle (leaked); each pending task holds it.
        auto self = weak.lock();
        if (!self) return;
        after(agent_tick_ms + net_.below(20), "agent-tick", index, [this, index, self] {
            agents_[index].core->on_tick(now_);
            (*self)();
        });
    };
    (*schedule_tick)();
}

void world::agent_link_event(std::uint64_t link_id, bool opened) {
    agent& a = agents_[links_.at(link_id).owner];
    if (a.link != link_id) return;
    if (opened) {
        a.core->on_transport_open();
    } else {
        a.link = 0;
        a.core->on_transport_closed();
    }
}

void world::agent_frame(agent& a, const std::string& bytes) {
    if (a.link) a.core->on_frame(bytes);
}

void world::pump(agent& a) {
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        for (auto& frame : a.core->bundle_for_relay(a.core->take_frames())) {
            moved = true;
            auto it = links_.find(a.link);
            if (it != links_.end() && it->second.client == link::client_side::open) send(a.link, up, std::move(frame));
        }
        if (const std::string text = a.core->take_updates_json(); !text.empty()) {
            moved = true;
            const auto updates = boost::json::parse(text).as_object();
            check_updates(a.name, a.core->client_id(), a.cursor, a.requests, nullptr, a.reader, nullptr, updates, a.core->event_columns(),
                          [this, &a](const std::string& session, const boost::json::object& e) { agent_saw(a, session, e); });
            if (updates.contains("closeLink") && a.link) {
                close_from_client(a.link);
                a.link = 0;
            }
            const auto reconnect = [this, index = a.index] {
                agent& again = agents_[index];
                if (!again.link) again.link = open_link(true, index, -1);
            };
            if (updates.contains("connectNow") && a.retry_armed) {
                a.retry_armed = false;
                ++a.retry_token;
                reconnect();
            }
            if (const auto* retry = updates.if_contains("retry")) {
                a.retry_armed = true;
                after(retry->as_object().at("delayMs").to_number<ms>(), "agent-retry", a.index,
                      [this, index = a.index, token = ++a.retry_token, reconnect] {
                          agent& again = agents_[index];
                          if (again.retry_token != token || !again.retry_armed) return;
                          again.retry_armed = false;
                          reconnect();
                      });
            }
        }
        if (!moved) return;
    }
}

void world::agent_publish(agent& a, const std::string& session, const std::string& kind, const std::string& msg_id,
                          std::string fields) {
    const std::string nonce = "N" + std::to_string(++next_nonce_);
    const std::string payload = "{" + fields + (fields.empty() ? "" : ",") + "\"n\":" + json_string(nonce) + "}";
    auto request = a.core->publish(session, kind, msg_id, payload);
    if (!request) throw violation{"publish-refused", a.name + ": " + request.err().detail};
    a.requests[request.value()] = nonce;
    nonces_[nonce] = nonce_origin{a.core->client_id(), session, kind, msg_id};
}

void world::agent_saw(agent& a, const std::string& session, const boost::json::object& e) {
    const std::string kind = e.at("kind").as_string().c_str();
    const std::string msg_id = e.at("msgId").as_string().c_str();
    if (kind == "user.prompt") {
        const auto* payload = e.at("payload").if_object();
        const auto* to = payload ? payload->if_contains("agent") : nullptr;
        if (!to || !to->is_string() || to->as_string() != a.name) return;
        const std::string answer = "r-" + msg_id;
        if (a.streams.count(answer)) return;
        a.streams[answer] = agent::stream{session, static_cast<int>(actors_.between(1, 12)), 0, false};
        agent_publish(a, session, "message.start", answer, "\"role\":\"assistant\"");
        after(actors_.between(5, 300), "agent-stream", a.index,
              [this, index = a.index, answer] { agent_stream_step(index, answer); });
    } else if (kind == "message.end" && e.at("producerId").as_string() == "relay") {
        // The relay ended it for us (agent_lost: our lease ran out while we were away): stop.
        if (auto it = a.streams.find(msg_id); it != a.streams.end()) it->second.done = true;
    } else if (kind == "control.cancel") {
        auto it = a.streams.find(msg_id);
        if (it == a.streams.end() || it->second.done) return;
        it->second.done = true;  // acknowledged by the end below: no delta may follow it
        agent_publish(a, it->second.session, "message.end", msg_id, "\"status\":\"cancelled\"");
    }
}

void world::agent_stream_step(std::uint64_t agent_index, const std::string& msg_id) {
    agent& a = agents_[agent_index];
    agent::stream& s = a.streams.at(msg_id);
    if (s.done) return;
    ++s.sent;
    agent_publish(a, s.session, "message.delta", msg_id, "\"text\":" + json_string(msg_id + "." + std::to_string(s.sent) + " "));
    if (s.sent >= s.total) {
        s.done = true;
        agent_publish(a, s.session, "message.end", msg_id, "\"status\":\"complete\"");
        return;
    }
    after(actors_.between(5, 300), "agent-stream", agent_index, [this, agent_index, msg_id] { agent_stream_step(agent_index, msg_id); });
}

// ---- scheduled actions ----------------------------------------------------------------------------

namespace {

enum class action { prompt, cancel, tab_kill, tab_reload, tab_open, tab_freeze, device_offline, device_crash,
                    link_reset, relay_crash, agent_offline, agent_link_reset };
struct weighted {
    action what;
    std::uint32_t weight;
};
constexpr weighted action_weights[] = {
    {action::prompt, 30},        {action::cancel, 8},       {action::tab_kill, 3},     {action::tab_reload, 4},
    {action::tab_open, 3},       {action::tab_freeze, 6},   {action::device_offline, 3}, {action::device_crash, 1},
    {action::link_reset, 5},     {action::relay_crash, 2},  {action::agent_offline, 2}, {action::agent_link_reset, 2},
};

} // namespace

void world::schedule_action() {
    // Three draws per action, whether it runs or not: shrinking keeps the others unchanged.
    const ms gap = chaos_.between(20, 600);
    const std::uint64_t kind_roll = chaos_.next();
    const std::uint64_t param = chaos_.next();
    const std::uint64_t index = next_action_++;
    after(gap, "action", index, [this, index, kind_roll, param] {
        if (calm_) return;
        if (!opts_.keep || opts_.keep->count(index)) perform(index, kind_roll, param);
        schedule_action();
    });
}

void world::perform(std::uint64_t index, std::uint64_t kind_roll, std::uint64_t param) {
    rng pick(param, 9);
    std::uint32_t total = 0;
    for (const auto& w : action_weights) total += w.weight;
    std::uint32_t roll = static_cast<std::uint32_t>(kind_roll % total);
    action what = action::prompt;
    for (const auto& w : action_weights) {
        if (roll < w.weight) {
            what = w.what;
            break;
        }
        roll -= w.weight;
    }
    const std::string prefix = "#" + std::to_string(index) + " t=" + std::to_string(now_ - 1'000'000) + " ";

    // Live, running tabs of live devices, in uid order (deterministic).
    std::vector<tab*> running;
    for (auto& [uid, t] : tabs_) {
        if (!t->frozen) running.push_back(t.get());
    }
    std::vector<tab*> any;
    for (auto& [uid, t] : tabs_) any.push_back(t.get());
    auto mark = [&](const std::string& text) {
        result_.performed.push_back(index);
        ++result_.counts[text.substr(0, text.find(' '))];
        note(prefix + text);
    };

    switch (what) {
    case action::prompt:
    case action::cancel: {
        if (running.empty()) return;
        tab& t = *running[pick.below(running.size())];
        const std::string& session = t.sessions[pick.below(t.sessions.size())];
        const std::string nonce = "N" + std::to_string(++next_nonce_);
        if (what == action::prompt) {
            const std::string msg_id = "p" + std::to_string(++next_prompt_);
            const std::string& to = agents_[pick.below(agents_.size())].name;
            auto request = t.core->publish(session, "user.prompt", msg_id,
                                           "{\"text\":" + json_string("prompt " + msg_id) + ",\"agent\":" + json_string(to) +
                                               ",\"n\":" + json_string(nonce) + "}");
            if (!request) throw violation{"publish-refused", t.id + ": " + request.err().detail};
            t.requests[request.value()] = nonce;
            nonces_[nonce] = nonce_origin{t.core->client_id(), session, "user.prompt", msg_id};
            mark("prompt " + msg_id + " (" + nonce + ") from " + t.id + " [" + t.role + ", producer " + t.core->client_id() +
                 "] in " + session + " to " + to);
        } else {
            std::vector<std::string> streaming;
            for (const auto& m : t.core->find_conversation(session)->messages()) {
                if (m.role == "assistant" && m.status == client::message_status::streaming) streaming.push_back(m.id);
            }
            if (streaming.empty()) return;
            const std::string target = streaming[pick.below(streaming.size())];
            auto request = t.core->control(session, "cancel", target, "{\"n\":" + json_string(nonce) + "}");
            if (!request) throw violation{"publish-refused", t.id + ": " + request.err().detail};
            t.requests[request.value()] = nonce;
            t.awaiting_outcome.insert(request.value());
            nonces_[nonce] = nonce_origin{t.core->client_id(), session, "control.cancel", target};
            mark("cancel " + target + " (" + nonce + ") from " + t.id + " in " + session);
        }
        pump(t);
        return;
    }
    case action::tab_kill:
    case action::tab_reload:
    case action::tab_freeze: {
        if (any.empty()) return;
        tab& t = *any[pick.below(any.size())];
        if (what == action::tab_freeze) {
            if (t.frozen) return;
            const ms how_long = pick.chance(300) ? pick.between(2'000, 8'000) : pick.between(50, 1'500);
            mark("freeze " + t.id + " [" + t.role + "] for " + std::to_string(how_long) + " ms");
            tab_freeze(t, how_long);
        } else if (what == action::tab_kill) {
            mark("kill " + t.id + " [" + t.role + "] (no pagehide flush)");
            tab_kill(t, false);
        } else {
            if (t.frozen) return;
            mark("reload " + t.id + " [" + t.role + "] (pagehide flush, then a new page)");
            tab_reload(t);
        }
        return;
    }
    case action::tab_open: {
        device& d = devices_[pick.below(devices_.size())];
        if (!d.up || d.tabs.size() >= 4) return;
        mark("open a tab on d" + std::to_string(d.index));
        tab_open(d);
        return;
    }
    case action::device_offline: {
        device& d = devices_[pick.below(devices_.size())];
        if (!d.up || d.offline) return;
        const ms how_long = pick.between(200, 6'000);
        mark("offline d" + std::to_string(d.index) + " for " + std::to_string(how_long) + " ms (sockets stall)");
        d.offline = true;
        after(how_long, "online", static_cast<std::uint64_t>(d.index), [this, index = d.index, inc = d.incarnation] {
            device& again = devices_[static_cast<std::size_t>(index)];
            if (!again.offline || again.incarnation != inc) return;
            again.offline = false;
            kick_device(index);
        });
        return;
    }
    case action::device_crash: {
        device& d = devices_[pick.below(devices_.size())];
        if (!d.up) return;
        mark("crash browser d" + std::to_string(d.index) + " (IndexedDB keeps the last flush)");
        device_crash(d);
        return;
    }
    case action::link_reset: {
        std::vector<std::uint64_t> open;
        for (auto& [id, l] : links_) {
            if (!l.cut && l.client == link::client_side::open) open.push_back(id);
        }
        if (open.empty()) return;
        const std::uint64_t id = open[pick.below(open.size())];
        const link& l = links_.at(id);
        mark("reset link " + std::to_string(id) + " of " + (l.agent ? agents_[l.owner].name : find_tab(l.owner) ? find_tab(l.owner)->id : "?"));
        reset_link(id, true);
        return;
    }
    case action::relay_crash: {
        if (!relay_up_) return;
        const bool silent = pick.chance(400);
        const ms down_for = pick.between(100, 4'000);
        mark(std::string("crash relay") + (silent ? " (host vanishes: no resets)" : " (process dies: sockets reset)") +
             ", back in " + std::to_string(down_for) + " ms");
        relay_crash(silent);
        after(down_for, "relay-restart", relay_generation_, [this] {
            if (!relay_up_) relay_start();
        });
        return;
    }
    case action::agent_offline: {
        agent& a = agents_[pick.below(agents_.size())];
        if (a.offline) return;
        const ms how_long = pick.between(200, 5'000);
        mark("offline " + a.name + " for " + std::to_string(how_long) + " ms");
        a.offline = true;
        after(how_long, "agent-online", a.index, [this, index = a.index] {
            agents_[index].offline = false;
            kick_owner(true, index);
        });
        return;
    }
    case action::agent_link_reset: {
        agent& a = agents_[pick.below(agents_.size())];
        if (!a.link) return;
        mark("reset link " + std::to_string(a.link) + " of " + a.name);
        reset_link(a.link, true);
        return;
    }
    }
}

} // namespace holdfast::sim
