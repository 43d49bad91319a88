// The scheduler, the relay (a relay_core recreated on the same memory_store at each restart) and
// the links. Layer: tests (simulator).
//
// A link's frames wait in per-direction queues with monotone due times (TCP's order); a scheduled
// delivery pops the front only if the link's generation is unchanged and nothing pauses it (a
// partition, or a frozen tab that does not read its socket). Pausing drops no frame: the link is
// "kicked" when the pause ends, which reschedules everything queued. on_sent is reported when a
// frame reaches its reader, so a reader that stops reading fills the relay's send queue (the
// slow-consumer rule is then exercised for real).
#include "world.hpp"

#include "holdfast/codec.hpp"

#include <msgpack.hpp>

#include <cstdio>

namespace holdfast::sim {

std::string payload_field(const proto::raw_value& payload, std::string_view key) {
    if (payload.bytes.empty()) return {};
    try {
        std::size_t offset = 0;
        auto handle = msgpack::unpack(payload.bytes.data(), payload.bytes.size(), offset);
        const msgpack::object& root = handle.get();
        if (root.type != msgpack::type::MAP) return {};
        for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
            const auto& entry = root.via.map.ptr[i];
            if (entry.key.type == msgpack::type::STR && entry.val.type == msgpack::type::STR &&
                std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
                return std::string(entry.val.via.str.ptr, entry.val.via.str.size);
            }
        }
    } catch (const std::exception&) {
    }
    return {};
}

std::optional<std::uint64_t> payload_number(const proto::raw_value& payload, std::string_view key) {
    if (payload.bytes.empty()) return std::nullopt;
    try {
        std::size_t offset = 0;
        auto handle = msgpack::unpack(payload.bytes.data(), payload.bytes.size(), offset);
        const msgpack::object& root = handle.get();
        if (root.type != msgpack::type::MAP) return std::nullopt;
        for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
            const auto& entry = root.via.map.ptr[i];
            if (entry.key.type == msgpack::type::STR && entry.val.type == msgpack::type::POSITIVE_INTEGER &&
                std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
                return entry.val.via.u64;
            }
        }
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

world::world(const options& opts)
    : opts_(opts),
      chaos_(opts.seed, 1),
      net_(opts.seed, 2),
      actors_(opts.seed, 3),
      store_([counter = std::uint64_t{7000}]() mutable { return ++counter; }) {
    result_.seed = opts.seed;
    // Small limits, varied per seed, so replay pacing and the slow-consumer rule take part.
    rng shape(opts.seed, 4);
    relay_config_.max_batch_events = static_cast<std::uint32_t>(std::vector<int>{1, 3, 16, 256}[shape.below(4)]);
    relay_config_.replay_window_batches = static_cast<std::uint32_t>(shape.between(1, 4));
    relay_config_.max_queued_bytes = std::vector<std::uint64_t>{6'000, 30'000, 8u << 20}[shape.below(3)];
    relay_config_.replay_low_water_bytes = relay_config_.max_queued_bytes / 4;
    const int device_count = static_cast<int>(shape.between(1, 3));
    const int agent_count = static_cast<int>(shape.between(1, 2));
    const int session_count = static_cast<int>(shape.between(1, 2));
    for (int i = 0; i < session_count; ++i) sessions_.push_back("chat-" + std::to_string(i));
    devices_.resize(static_cast<std::size_t>(device_count));
    agents_.resize(static_cast<std::size_t>(agent_count));
    result_.shape = std::to_string(device_count) + " device(s), " + std::to_string(agent_count) + " agent(s), " +
                    std::to_string(session_count) + " session(s), relay batch " +
                    std::to_string(relay_config_.max_batch_events) + " window " +
                    std::to_string(relay_config_.replay_window_batches) + " queue bound " +
                    std::to_string(relay_config_.max_queued_bytes);
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        devices_[i].index = static_cast<int>(i);
        initial_tabs_.push_back(static_cast<int>(shape.between(1, 3)));
    }
}

outcome run(const options& opts) {
    world w(opts);
    return w.run();
}

// ---- scheduler ------------------------------------------------------------------------------------

void world::at(ms when, const char* what, std::uint64_t a, std::function<void()> fn) {
    queue_.push(event{std::max(when, now_), ++seq_, what, a, std::move(fn)});
}

void world::note(std::string text) {
    if (opts_.trace) std::printf("        %s\n", text.c_str());
    notes_.push_back(std::move(text));
}

void world::step_once() {
    event e = queue_.top();
    queue_.pop();
    now_ = e.at;
    ++steps_;
    recent_.push_back(step_record{steps_, now_, e.what, e.a});
    if (recent_.size() > 40) recent_.pop_front();
    if (opts_.trace) std::printf("step %llu t=%llu %s %llu\n", static_cast<unsigned long long>(steps_),
                                 static_cast<unsigned long long>(now_), e.what, static_cast<unsigned long long>(e.a));
    e.fn();
    drain_relay();
    for (auto& [uid, t] : tabs_) {
        if (!t->frozen) pump(*t);
    }
    for (auto& a : agents_) pump(a);
    drain_relay();
    check_step();
}

outcome world::run() {
    try {
        relay_start();
        for (std::size_t i = 0; i < agents_.size(); ++i) {
            agents_[i].index = i;
            agents_[i].name = "agent-" + std::to_string(i);
            agent_start(agents_[i]);
        }
        for (auto& d : devices_) device_start(d, initial_tabs_[static_cast<std::size_t>(d.index)]);
        schedule_action();
        while (steps_ < opts_.steps && !queue_.empty()) step_once();
        heal();
        // Healed: run until every surface has caught up, then hold it a moment (so debounced
        // flushes land) and compare everything.
        const ms deadline = now_ + 180'000;
        std::optional<ms> settled_since;
        std::string why = "no event left";
        while (!queue_.empty() && now_ < deadline) {
            step_once();
            if (converged(why)) {
                if (!settled_since) settled_since = now_;
                if (now_ - *settled_since >= 1'500) break;
            } else {
                settled_since.reset();
            }
        }
        if (!settled_since) throw violation{"liveness", "did not converge within 180 s after healing: " + why};
        check_final();
    } catch (const violation& v) {
        result_.ok = false;
        result_.invariant = v.invariant;
        result_.detail = v.detail;
        result_.failed_step = steps_;
    }
    result_.steps = steps_;
    result_.sim_ms = now_ - 1'000'000;
    for (const auto& r : recent_) {
        char line[160];
        std::snprintf(line, sizeof line, "step %llu t=%llu %s %llu", static_cast<unsigned long long>(r.step),
                      static_cast<unsigned long long>(r.at - 1'000'000), r.what, static_cast<unsigned long long>(r.a));
        result_.recent.push_back(line);
    }
    result_.actions = notes_;
    return result_;
}

void world::heal() {
    calm_ = true;
    note("heal: faults stop, frozen tabs thaw, partitions end, the relay and browsers come back");
    if (!relay_up_) relay_start();
    for (auto& d : devices_) {
        if (!d.up) device_start(d, 1);
        if (d.tabs.empty()) tab_open(d);  // the user comes back to a browser left with no tab
        if (d.offline) {
            d.offline = false;
            kick_device(d.index);
        }
    }
    std::vector<std::uint64_t> frozen;
    for (auto& [uid, t] : tabs_) {
        if (t->frozen) frozen.push_back(uid);
    }
    for (auto uid : frozen) tab_thaw(*tabs_.at(uid));
    for (auto& a : agents_) {
        if (a.offline) {
            a.offline = false;
            kick_owner(true, a.index);
        }
    }
}

// ---- the relay ------------------------------------------------------------------------------------

void world::relay_start() {
    relay_ = std::make_unique<relay::relay_core>(store_, relay_config_, [this] { return now_; });
    ++relay_generation_;
    relay_up_ = true;
    // The shell's 250 ms timer (agent leases).
    auto schedule_tick = std::make_shared<std::function<void()>>();
    *schedule_tick = [this, generation = relay_generation_, weak = std::weak_ptr<std::function<void()>>(schedule_tick)] {
        // Weak: a strong self-reference would be a cycle (leaked); each pending task holds it.
        auto self = weak.lock();
        if (!self) return;
        after(250, "relay-tick", generation, [this, generation, self] {
            if (!relay_up_ || generation != relay_generation_) return;
            relay_->on_tick(now_);
            (*self)();
        });
    };
    (*schedule_tick)();
}

void world::relay_crash(bool silent) {
    relay_up_ = false;
    relay_.reset();  // everything it held in memory is gone; the store keeps every append
    for (auto& [id, l] : links_) {
        if (!l.relay_side || l.relay_generation != relay_generation_) continue;
        l.relay_side = false;
        // A crashed process's sockets are reset by its kernel; a vanished host's are silent and
        // only the clients' heartbeat can tell.
        reset_link(id, !silent);
    }
}

void world::drain_relay() {
    if (!relay_up_) return;
    for (auto& out : relay_->take_outputs()) {
        auto it = links_.find(out.connection);
        if (it == links_.end()) continue;
        link& l = it->second;
        if (out.close && out.close->drop_unsent) l.queue[down].clear();
        if (out.frame) send(l.id, down, *out.frame);
        if (out.close) {
            send(l.id, down, {}, true);
            relay_->on_close(l.id);
            l.relay_side = false;
        }
    }
    sync_log();
}

void world::sync_log() {
    for (const auto& s : sessions_) {
        auto& log = log_[s];
        auto read = store_.read(s, log.size(), 1'000'000);
        if (!read || read->empty()) continue;
        for (auto& e : read.value()) {
            if (e.serial != log.size() + 1) throw violation{"log", s + ": the store returned serial " + std::to_string(e.serial) + " after " + std::to_string(log.size())};
            const std::string nonce = payload_field(e.payload, "n");
            if (!nonce.empty()) {
                if (++nonce_count_[nonce] > 1) {
                    throw violation{"exactly-once", s + ": publish " + nonce + " appended twice (again at serial " +
                                                        std::to_string(e.serial) + ")"};
                }
                auto origin = nonces_.find(nonce);
                if (origin != nonces_.end() && origin->second.producer != e.producer_id) {
                    throw violation{"exactly-once", s + ": serial " + std::to_string(e.serial) + " carries " + nonce + " of " +
                                                        origin->second.producer + " under producer " + e.producer_id};
                }
            }
            // Only an end its own producer wrote: the relay's agent_lost end may be followed by
            // deltas the lost agent had queued (docs/protocol.md, leases); readers ignore them.
            auto& ended = ended_[s];
            if (e.kind == "message.end" && e.producer_id != "relay" && !ended.count(e.msg_id)) ended[e.msg_id] = e.serial;
            if (e.kind == "message.delta" && ended.count(e.msg_id)) {
                throw violation{"cancel-honoured", s + ": delta of " + e.msg_id + " at serial " + std::to_string(e.serial) +
                                                       " after its end at serial " + std::to_string(ended[e.msg_id])};
            }
            log.push_back(std::move(e));
        }
    }
}

// ---- links ----------------------------------------------------------------------------------------

ms world::link_delay() {
    // Mostly a LAN/WAN round trip, sometimes a slow path.
    return net_.chance(100) ? net_.between(50, 400) : net_.between(1, 30);
}

std::uint64_t world::open_link(bool agent, std::uint64_t owner, int device_index) {
    const std::uint64_t id = ++next_link_;
    link& l = links_[id];
    l.id = id;
    l.agent = agent;
    l.owner = owner;
    l.device = device_index;
    after(link_delay(), "connect", id, [this, id] {
        auto it = links_.find(id);
        if (it == links_.end() || it->second.client != link::client_side::connecting) return;
        link& l = it->second;
        const bool offline = l.agent ? agents_[l.owner].offline : devices_[static_cast<std::size_t>(l.device)].offline;
        if (offline || !relay_up_) {
            // Refused at once by a host that is down; a partitioned client waits for a timeout.
            const ms wait = offline ? net_.between(300, 2'000) : 0;
            after(wait, "connect-failed", id, [this, id] {
                auto again = links_.find(id);
                if (again == links_.end() || again->second.client != link::client_side::connecting) return;
                again->second.client = link::client_side::closed;
                again->second.cut = true;
                if (again->second.agent) agent_link_event(id, false);
                else tab_link_event(id, false);
            });
            return;
        }
        l.client = link::client_side::open;
        l.relay_side = true;
        l.relay_generation = relay_generation_;
        relay_->on_open(id);
        if (l.agent) agent_link_event(id, true);
        else tab_link_event(id, true);
    });
    return id;
}

bool world::paused(const link& l, direction dir) const {
    if (l.agent) return agents_[l.owner].offline;
    if (devices_[static_cast<std::size_t>(l.device)].offline) return true;
    if (dir == down) {
        auto it = tabs_.find(l.owner);
        return it != tabs_.end() && it->second->frozen;
    }
    return false;
}

void world::send(std::uint64_t link_id, direction dir, std::string bytes, bool close) {
    auto it = links_.find(link_id);
    if (it == links_.end() || it->second.cut) return;
    link& l = it->second;
    const ms due = std::max(now_ + link_delay(), l.last_due[dir]);
    l.last_due[dir] = due;
    l.queue[dir].push_back(in_flight{due, std::move(bytes), close});
    at(due, dir == up ? "deliver-up" : "deliver-down", link_id,
       [this, link_id, g = l.generation, dir] { deliver(link_id, g, dir); });
}

void world::kick(link& l) {
    ++l.generation;
    for (int dir : {up, down}) {
        for (auto& f : l.queue[dir]) {
            f.due = std::max(now_ + link_delay(), l.last_due[dir]);
            l.last_due[dir] = f.due;
            at(f.due, dir == up ? "deliver-up" : "deliver-down", l.id,
               [this, id = l.id, g = l.generation, d = static_cast<direction>(dir)] { deliver(id, g, d); });
        }
    }
}

void world::kick_owner(bool agent, std::uint64_t owner) {
    for (auto& [id, l] : links_) {
        if (l.agent == agent && l.owner == owner && !l.cut) kick(l);
    }
}

void world::kick_device(int index) {
    for (auto& [id, l] : links_) {
        if (!l.agent && l.device == index && !l.cut) kick(l);
    }
}

void world::deliver(std::uint64_t link_id, std::uint64_t generation, direction dir) {
    auto it = links_.find(link_id);
    if (it == links_.end()) return;
    link& l = it->second;
    if (l.cut || generation != l.generation || l.queue[dir].empty() || paused(l, dir)) return;
    in_flight f = std::move(l.queue[dir].front());
    l.queue[dir].pop_front();
    const bool relay_reads = relay_up_ && l.relay_side && l.relay_generation == relay_generation_;
    if (opts_.trace) trace_frame(l, dir, f, dir == up ? relay_reads : l.client == link::client_side::open);
    if (dir == up) {
        if (!relay_reads) return;
        if (f.close) {
            relay_->on_close(link_id);
            l.relay_side = false;
        } else {
            relay_->on_frame(link_id, f.bytes);
        }
        return;
    }
    if (!f.close && relay_reads) relay_->on_sent(link_id, f.bytes.size());
    if (l.client != link::client_side::open) return;
    if (f.close) {
        l.client = link::client_side::closed;
        if (l.agent) agent_link_event(link_id, false);
        else tab_link_event(link_id, false);
        return;
    }
    if (l.agent) {
        agent_frame(agents_[l.owner], f.bytes);
    } else if (tab* t = find_tab(l.owner); t && t->link == link_id) {
        tab_socket_frame(*t, f.bytes);
    }
}

void world::trace_frame(const link& l, direction dir, const in_flight& f, bool read) {
    std::string what = "FIN";
    if (!f.close) {
        auto decoded = proto::decode(f.bytes);
        what = decoded ? proto::describe(decoded.value()) : "(undecodable)";
        if (what.size() > 220) what = what.substr(0, 220) + "...";
    }
    const tab* t = l.agent ? nullptr : find_tab(l.owner);
    const std::string owner = l.agent ? agents_[l.owner].name : t ? t->id : "(closed tab)";
    std::printf("        link %llu %s %s%s: %s\n", static_cast<unsigned long long>(l.id), owner.c_str(),
                dir == up ? "->relay" : "<-relay", read ? "" : " (dropped: nobody reads it)", what.c_str());
}

void world::close_from_client(std::uint64_t link_id) {
    auto it = links_.find(link_id);
    if (it == links_.end()) return;
    link& l = it->second;
    if (l.client == link::client_side::closed) return;
    const bool was_open = l.client == link::client_side::open;
    l.client = link::client_side::closed;
    if (was_open) send(link_id, up, {}, true);  // FIN, after what was sent before it
}

void world::reset_link(std::uint64_t link_id, bool tell_client) {
    auto it = links_.find(link_id);
    if (it == links_.end() || it->second.cut) return;
    link& l = it->second;
    l.cut = true;
    l.queue[up].clear();
    l.queue[down].clear();
    if (l.relay_side) {
        after(link_delay(), "relay-sees-reset", link_id, [this, link_id, g = l.relay_generation] {
            auto again = links_.find(link_id);
            if (again == links_.end() || !again->second.relay_side || !relay_up_ || g != relay_generation_) return;
            again->second.relay_side = false;
            relay_->on_close(link_id);
        });
    }
    if (tell_client && l.client != link::client_side::closed) {
        after(link_delay(), "client-sees-reset", link_id, [this, link_id] {
            auto again = links_.find(link_id);
            if (again == links_.end() || again->second.client == link::client_side::closed) return;
            again->second.client = link::client_side::closed;
            if (again->second.agent) agent_link_event(link_id, false);
            else tab_link_event(link_id, false);
        });
    }
}

} // namespace holdfast::sim
