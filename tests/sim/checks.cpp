// The invariants. Layer: tests (simulator).
//
// Checked as outputs appear (every batch of updates a client hands its app):
//   serials        per client and session, delivered serials are last+1 each time (no hole, no
//                  duplicate, no reordering) since the last reset, match the relay's log entry
//                  at that serial, and the batch's lastSerial is the last one delivered;
//   exactly-once   an acknowledged publish is in the relay's log at the serial its ack names;
//                  no publish (by its nonce) is ever appended twice, nor under another producer;
//   controls       a control's outcome, as reported to the client that sent it, is the one the
//                  relay's log gives for that control (the first control.outcome naming its serial
//                  in its session), is never "rejected" (users only cancel messages they see
//                  streaming), and at quiescence no tab still waits for the outcome of a control
//                  it sent;
//   history-intact the local history opens without cutting anything (nothing here tears files);
//   no-rejects / no-errors   nothing in this world is invalid, so no publish is refused and no
//                  error reaches an app (a slow-consumer notice excepted).
// Checked as the log grows (sync_log, world.cpp):
//   cancel-honoured  no delta of a message follows an end its own producer wrote — in
//                  particular the end an agent writes to acknowledge a cancel. (The relay's
//                  agent_lost end may be followed by deltas the lost agent had queued.)
// Checked after every step (progress: every 250 simulated ms):
//   one-socket-per-device  among a device's tabs that are running (not frozen) and have been told
//                  every lock loss (no steal notification still in flight), at most one has a
//                  socket open or opening, and it is the lock holder. A frozen leader keeps its
//                  socket and its lock until it thaws: that is the documented transient.
//   progress       a tab behind the relay's head whose whole path to the relay is up (connected,
//                  device online, its leader running with an open socket, relay up) catches up:
//                  20 s of simulated time without a new serial is a stall.
// Checked at quiescence (after healing, once everything has caught up):
//   convergence    every live tab and agent holds the whole log of each session it follows and
//                  the same conversation as one built from the relay's log; so does each tab's
//                  own history on disk, and each browser's IndexedDB (the leader's last flush).
#include "world.hpp"
#include "../support/update_json.hpp"

#include <boost/json.hpp>

namespace holdfast::sim {
namespace {

std::string describe(const client::message& m) {
    return "{" + m.id + " " + m.role + " by '" + m.agent + "' " + std::string(client::to_string(m.status)) + " '" +
           m.text + "' serials " + std::to_string(m.first_serial) + ".." + std::to_string(m.last_serial) + "}";
}

/// "" when equal, else the first difference.
std::string compare(const std::vector<client::message>& got, const std::vector<client::message>& want) {
    for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
        if (i >= got.size()) return "missing message " + std::to_string(i) + " " + describe(want[i]);
        if (i >= want.size()) return "extra message " + std::to_string(i) + " " + describe(got[i]);
        const auto& a = got[i];
        const auto& b = want[i];
        if (a.id != b.id || a.role != b.role || a.agent != b.agent || a.text != b.text || a.status != b.status ||
            a.reason != b.reason || a.first_serial != b.first_serial || a.last_serial != b.last_serial) {
            return "message " + std::to_string(i) + ": has " + describe(a) + ", relay log says " + describe(b);
        }
    }
    return {};
}

} // namespace

void world::check_updates(const std::string& who, const std::string& producer,
                          std::map<std::string, std::uint64_t>& cursor, std::map<std::uint64_t, std::string>& requests,
                          std::set<std::uint64_t>* awaiting_outcome, testing::event_reader& reader,
                          std::map<std::uint64_t, std::pair<std::string, std::uint64_t>>* control_serial,
                          const boost::json::object& updates, std::string_view event_columns,
                          const std::function<void(const std::string&, const boost::json::object&)>& on_event) {
    sync_log();
    std::size_t columns_at = 0;
    for (const auto& entry : holdfast::testing::entries(updates, "sessions")) {
        const auto& s = entry.as_object();
        const std::string session = s.at("id").as_string().c_str();
        if (const auto* corrupt = s.if_contains("corrupt")) {
            // The simulated file systems never tear a write: any damage is the history's own.
            throw violation{"history-intact", who + " " + session + ": history open cut " + boost::json::serialize(*corrupt)};
        }
        std::uint64_t& last = cursor[session];
        if (holdfast::testing::flag(s, "reset")) last = 0;
        const auto& log = log_[session];
        for (const auto& value : reader.event_objects(s, event_columns, columns_at)) {
            const auto& e = value.as_object();
            const auto serial = e.at("serial").to_number<std::uint64_t>();
            if (serial != last + 1) {
                throw violation{"serials", who + " " + session + ": delivered serial " + std::to_string(serial) +
                                               " after " + std::to_string(last)};
            }
            if (serial > log.size()) {
                throw violation{"serials", who + " " + session + ": delivered serial " + std::to_string(serial) +
                                               " beyond the relay's head " + std::to_string(log.size())};
            }
            const proto::event& truth = log[serial - 1];
            if (e.at("kind").as_string() != truth.kind || e.at("msgId").as_string() != truth.msg_id ||
                e.at("producerId").as_string() != truth.producer_id) {
                throw violation{"serials", who + " " + session + ": serial " + std::to_string(serial) + " delivered as " +
                                               boost::json::serialize(e) + " but the log has " + truth.kind + " " +
                                               truth.msg_id + " by " + truth.producer_id};
            }
            last = serial;
            if (on_event) on_event(session, e);
        }
        if (s.at("lastSerial").to_number<std::uint64_t>() != last) {
            throw violation{"serials", who + " " + session + ": lastSerial " +
                                           std::to_string(s.at("lastSerial").to_number<std::uint64_t>()) +
                                           " but the app was given up to " + std::to_string(last)};
        }
    }
    for (const auto& [request, serial] : holdfast::testing::acks(updates)) {
        auto it = requests.find(request);
        if (it == requests.end()) {
            throw violation{"exactly-once", who + ": ack of request " + std::to_string(request) + " it never made"};
        }
        const std::string nonce = it->second;
        requests.erase(it);
        const nonce_origin& origin = nonces_.at(nonce);
        const auto& log = log_[origin.session];
        const std::string held = serial >= 1 && serial <= log.size() ? payload_field(log[serial - 1].payload, "n") : "";
        if (held == nonce && control_serial && awaiting_outcome && awaiting_outcome->count(request)) {
            (*control_serial)[request] = {origin.session, serial};
        } else if (held != nonce) {
            throw violation{"exactly-once",
                            who + " (producer " + producer + "): " + origin.kind + " " + origin.msg_id + " (" + nonce +
                                ") acknowledged with serial " + std::to_string(serial) + " of " + origin.session +
                                ", which holds " + (held.empty() ? std::string("no such publish") : held) + "; " + nonce +
                                " is in the log " + std::to_string(nonce_count_[nonce]) + " time(s)"};
        }
    }
    if (const auto* controls = updates.if_contains("controls")) {
        for (const auto& value : controls->as_array()) {
            const auto request = value.at("request").to_number<std::uint64_t>();
            if (awaiting_outcome) awaiting_outcome->erase(request);
            // The outcome must be the relay's first control.outcome naming this control's serial
            // in this control's session.
            if (control_serial) {
                auto known = control_serial->find(request);
                if (known == control_serial->end()) {
                    throw violation{"controls", who + ": outcome for control request " + std::to_string(request) +
                                                    " before its ack: " + boost::json::serialize(value)};
                }
                const auto& [session, serial] = known->second;
                std::string truth;
                for (const auto& e : log_[session]) {
                    if (e.kind == "control.outcome" && payload_number(e.payload, "control") == serial) {
                        truth = payload_field(e.payload, "outcome");
                        break;
                    }
                }
                if (truth != value.at("outcome").as_string()) {
                    throw violation{"controls", who + ": control request " + std::to_string(request) + " (" + session +
                                                    " serial " + std::to_string(serial) + ") reported " +
                                                    boost::json::serialize(value) + " but the log's outcome for it is '" +
                                                    (truth.empty() ? std::string("none yet") : truth) + "'"};
                }
                control_serial->erase(known);
            }
            if (value.at("outcome").as_string() == "rejected") {
                throw violation{"controls", who + ": control rejected: " + boost::json::serialize(value)};
            }
        }
    }
    for (const auto& value : holdfast::testing::entries(updates, "rejects")) {
        const auto request = value.at("request").to_number<std::uint64_t>();
        auto it = requests.find(request);
        throw violation{"no-rejects", who + " (producer " + producer + "): request " + std::to_string(request) + " (" +
                                          (it == requests.end() ? std::string("?") : it->second) + ") rejected: " +
                                          boost::json::serialize(value)};
    }
    for (const auto& value : holdfast::testing::entries(updates, "errors")) {
        if (value.at("name").as_string() == "slow_consumer") continue;
        throw violation{"no-errors", who + ": " + boost::json::serialize(value)};
    }
}

void world::check_progress() {
    // A tab whose path to the relay is whole (it is connected, its device online, its leader
    // running with an open socket, the relay up) and that is behind the relay's head must move.
    // Links that stall are noticed by heartbeats within ~2 s and backoff is capped at 3 s, so 20 s
    // without progress is a tab waiting for something that will not come.
    constexpr ms stall_limit_ms = 20'000;
    for (auto& [uid, owned] : tabs_) {
        tab& t = *owned;
        const device& d = devices_[static_cast<std::size_t>(t.device)];
        const tab* leader = d.lock_holder ? find_tab(*d.lock_holder) : nullptr;
        const bool path = relay_up_ && !d.offline && !t.frozen && t.core->connected() && leader && !leader->frozen &&
                          leader->role == "leader" && leader->link &&
                          links_.at(leader->link).client == link::client_side::open && !links_.at(leader->link).cut;
        for (const auto& s : t.sessions) {
            const std::uint64_t held = t.core->find_session(s)->last_serial();
            auto [entry, fresh] = t.progress.try_emplace(s, held, now_);
            auto& [serial, since] = entry->second;
            if (fresh || !path || held != serial || held >= log_[s].size()) {
                serial = held;
                since = now_;
                continue;
            }
            if (now_ - since >= stall_limit_ms) {
                throw violation{"progress", t.id + " " + s + " has been " +
                                                std::string(client::to_string(t.core->find_session(s)->state())) + " at " +
                                                std::to_string(held) + " of " + std::to_string(log_[s].size()) + " for " +
                                                std::to_string((now_ - since) / 1000) +
                                                " s with its link to the relay whole (leader " + leader->id + ")"};
            }
        }
    }
}

void world::check_step() {
    if (now_ >= next_progress_check_) {
        next_progress_check_ = now_ + 250;
        check_progress();
    }
    for (const auto& d : devices_) {
        if (!d.up) continue;
        std::vector<const tab*> holders;
        for (auto uid : d.tabs) {
            const tab& t = *tabs_.at(uid);
            if (t.frozen || t.lost_pending || !t.link) continue;
            if (links_.at(t.link).client == link::client_side::closed) continue;
            holders.push_back(&t);
        }
        if (holders.size() > 1) {
            std::string who;
            for (const tab* t : holders) who += " " + t->id + "[" + t->role + "]";
            throw violation{"one-socket-per-device", "d" + std::to_string(d.index) + ": sockets held by" + who};
        }
        if (holders.size() == 1 && d.lock_holder != holders.front()->uid) {
            throw violation{"one-socket-per-device", "d" + std::to_string(d.index) + ": " + holders.front()->id +
                                                         " holds a socket without the lock"};
        }
    }
}

bool world::converged(std::string& why) {
    if (!relay_up_) return why = "the relay is down", false;
    for (const auto& d : devices_) {
        if (!d.up) return why = "d" + std::to_string(d.index) + " is down", false;
        if (!d.lock_holder) return why = "d" + std::to_string(d.index) + " has no lock holder", false;
        const tab* leader = find_tab(*d.lock_holder);
        if (!leader || leader->role != "leader" || !leader->link ||
            links_.at(leader->link).client != link::client_side::open) {
            return why = "d" + std::to_string(d.index) + " has no connected leader", false;
        }
    }
    for (const auto& [uid, t] : tabs_) {
        if (t->core->pending_publishes() != 0) return why = t->id + " has unacknowledged publishes", false;
        if (!t->awaiting_outcome.empty()) {
            return why = t->id + " awaits the outcome of control request " + std::to_string(*t->awaiting_outcome.begin()),
                   false;
        }
        for (const auto& s : t->sessions) {
            const auto* view = t->core->find_session(s);
            const std::uint64_t head = log_[s].size();
            if (view->state() != client::session_state::live || view->last_serial() != head || t->cursor.at(s) != head) {
                return why = t->id + " " + s + " is " + std::string(client::to_string(view->state())) + " at " +
                             std::to_string(view->last_serial()) + " of " + std::to_string(head),
                       false;
            }
        }
    }
    for (const auto& a : agents_) {
        if (a.core->pending_publishes() != 0) return why = a.name + " has unacknowledged publishes", false;
        for (const auto& [id, s] : a.streams) {
            if (!s.done) return why = a.name + " is still streaming " + id, false;
        }
        for (const auto& s : sessions_) {
            const auto* view = a.core->find_session(s);
            if (view->state() != client::session_state::live || view->last_serial() != log_[s].size()) {
                return why = a.name + " " + s + " is not caught up", false;
            }
        }
    }
    return true;
}

void world::check_final() {
    std::map<std::string, client::conversation> truth;
    for (const auto& s : sessions_) {
        for (const auto& e : log_[s]) truth[s].apply(e);
    }
    const auto check_history = [&](std::map<std::string, std::string> files, const std::string& where,
                                   const std::string& s) {
        memory_file_system copy;
        copy.files() = std::move(files);
        client::history_store store(copy, "/holdfast/relay");
        auto opened = store.open(s, now_);
        if (!opened) throw violation{"convergence", where + " " + s + ": history does not open: " + opened.err().detail};
        if (opened.value()->last_serial() != log_[s].size()) {
            throw violation{"convergence", where + " " + s + ": history holds serials up to " +
                                               std::to_string(opened.value()->last_serial()) + " of " +
                                               std::to_string(log_[s].size())};
        }
        client::conversation restored;
        opened.value()->restore_into(restored);
        if (auto diff = compare(restored.messages(), truth[s].messages()); !diff.empty()) {
            throw violation{"convergence", where + " " + s + " history: " + diff};
        }
    };
    for (const auto& [uid, t] : tabs_) {
        for (const auto& s : t->sessions) {
            if (auto diff = compare(t->core->find_conversation(s)->messages(), truth[s].messages()); !diff.empty()) {
                throw violation{"convergence", t->id + " " + s + ": " + diff};
            }
            check_history(t->fs.files(), t->id + "'s own FS", s);
        }
    }
    for (const auto& d : devices_) {
        const tab* leader = find_tab(*d.lock_holder);
        for (const auto& s : leader->sessions) check_history(d.idb, "d" + std::to_string(d.index) + "'s IndexedDB", s);
    }
    for (const auto& a : agents_) {
        for (const auto& s : sessions_) {
            if (auto diff = compare(a.core->find_conversation(s)->messages(), truth[s].messages()); !diff.empty()) {
                throw violation{"convergence", a.name + " " + s + ": " + diff};
            }
        }
    }
}

} // namespace holdfast::sim
