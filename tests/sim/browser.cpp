// Browser profiles: tabs (client_core + tab_coordinator each, driven as the JS glue drives them),
// the Web Locks model, the BroadcastChannel model, IndexedDB and page lifecycle. Layer: tests
// (simulator).
//
// Storage follows IdbStorage.js: each tab loads IndexedDB into its own in-memory FS when it starts
// and writes only there; the leader (the writer) copies its whole FS back to IndexedDB 300 ms after
// the core asks to persist (syncfs mirrors the local tree). A tab that dies without a pagehide
// flush, or a browser crash, therefore loses what was written since the last flush.
//
// Locks follow Web Locks: a queue of requests, release on a tab's death, steal by request. The
// tab that was stolen from learns it in a later task (lost_pending until then) and queues again,
// as TabLock.js does. A frozen tab runs nothing: tasks for it wait in its inbox, its socket is not
// read (so the relay's queue for it grows), and its timers fire when it thaws.
#include "world.hpp"

#include "holdfast/codec.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

namespace holdfast::sim {
namespace {

constexpr const char* storage_root = "/holdfast/relay";
constexpr ms flush_delay_ms = 300;
constexpr ms tick_ms = 200;  // holdfast.js: min(heartbeat, leader timeout) / 4, at least 50

client::client_config tab_client_config(const std::string& id, ms now, std::uint64_t seed,
                                        client::history_store* store, bool adopt) {
    client::client_config config;
    config.client_id = id;
    config.producer_epoch = now;  // Date.now()
    config.random_seed = seed | 1;
    config.backoff = client::backoff_config{100, 3'000, 50};
    config.heartbeat = client::heartbeat_config{1'200, 800};
    config.storage = store;
    config.adopt_stored_producer = adopt;
    return config;
}

} // namespace

tab* world::find_tab(std::uint64_t uid) {
    auto it = tabs_.find(uid);
    return it == tabs_.end() ? nullptr : it->second.get();
}

void world::on_tab(std::uint64_t uid, std::function<void(tab&)> fn) {
    tab* t = find_tab(uid);
    if (!t) return;
    if (t->frozen) {
        t->inbox.push_back([this, uid, fn = std::move(fn)] {
            if (tab* again = find_tab(uid)) fn(*again);
        });
        return;
    }
    fn(*t);
}

// ---- devices and tabs -------------------------------------------------------------------------------

void world::device_start(device& d, int tab_count) {
    d.up = true;
    for (int i = 0; i < tab_count; ++i) tab_open(d);
}

void world::device_crash(device& d) {
    const std::vector<std::uint64_t> uids = d.tabs;
    for (auto uid : uids) tab_kill(*tabs_.at(uid), true);
    d.up = false;
    d.offline = false;
    ++d.incarnation;
    d.lock_holder.reset();
    d.lock_queue.clear();
    d.channel_due.clear();
    after(net_.between(500, 5'000), "browser-restart", static_cast<std::uint64_t>(d.index),
          [this, index = d.index, incarnation = d.incarnation] {
              device& again = devices_[static_cast<std::size_t>(index)];
              if (!again.up && again.incarnation == incarnation) device_start(again, 1 + static_cast<int>(net_.below(3)));
          });
}

tab& world::tab_open(device& d) {
    auto owned = std::make_unique<tab>();
    tab& t = *owned;
    t.uid = ++next_tab_uid_;
    t.device = d.index;
    t.id = "d" + std::to_string(d.index) + "t" + std::to_string(d.next_tab++);
    t.fs.files() = d.idb;  // IDBFS populate: the tab starts from what IndexedDB holds
    t.store = std::make_unique<client::history_store>(t.fs, storage_root);
    // holdfast.js: lock.tryAcquire(); a tab that leads from the start adopts the stored outbox.
    const bool lead = !d.lock_holder.has_value();
    t.reader = {};
    t.core = std::make_unique<client::client_core>(tab_client_config(t.id, now_, net_.next(), t.store.get(), lead));
    t.coord = std::make_unique<client::tab_coordinator>(*t.core, client::tab_config{t.id, 500, 1'500, true}, now_);
    const std::uint64_t uid = t.uid;
    tabs_.emplace(uid, std::move(owned));
    d.tabs.push_back(uid);
    note("  open tab " + t.id + (lead ? " (takes the free lock, adopts " + std::to_string(t.core->pending_publishes()) +
                                        " stored unacknowledged publishes)" : ""));
    if (lead) {
        d.lock_holder = uid;
        t.coord->on_lock_acquired(now_);
    } else {
        lock_request(d, uid);
    }
    t.coord->on_tick(now_);
    // The app follows the first session always, the others sometimes.
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
        if (i > 0 && net_.chance(400)) continue;
        const std::string& s = sessions_[i];
        (void)t.core->open_session(s);
        t.sessions.push_back(s);
        t.cursor[s] = t.core->find_session(s)->last_serial();
    }
    if (lead) learn_adopted_requests(t);
    pump(t);
    // The page's interval timer (throttling is modelled by freezing).
    auto schedule_tick = std::make_shared<std::function<void()>>();
    *schedule_tick = [this, uid, weak = std::weak_ptr<std::function<void()>>(schedule_tick)] {
        // Weak: a strong self-reference would be a cycle (leaked); each pending task holds it.
        auto self = weak.lock();
        if (!self) return;
        after(tick_ms + net_.below(20), "tick", uid, [this, uid, self] {
            tab* t = find_tab(uid);
            if (!t) return;
            if (!t->frozen) t->coord->on_tick(now_);
            (*self)();
        });
    };
    (*schedule_tick)();
    return *tabs_.at(uid);
}

void world::tab_kill(tab& t, bool silent) {
    device& d = devices_[static_cast<std::size_t>(t.device)];
    const std::uint64_t uid = t.uid;
    std::erase(d.tabs, uid);
    if (t.link) {
        if (!silent) {
            // The browser closes a dead renderer's sockets.
            close_from_client(t.link);
        } else if (auto it = links_.find(t.link); it != links_.end() && !it->second.cut) {
            // The machine is gone: nothing more crosses, and the relay learns it from its idle
            // timeout (Beast's suggested server timeout pings an idle peer).
            link& l = it->second;
            const bool relay_knows = l.relay_side;
            l.relay_side = false;
            reset_link(l.id, false);
            if (relay_knows) {
                after(net_.between(5'000, 20'000), "relay-idle-timeout", l.id, [this, id = l.id, g = relay_generation_] {
                    if (relay_up_ && g == relay_generation_) relay_->on_close(id);
                });
            }
        }
    }
    lock_release(d, uid);
    tabs_.erase(uid);
}

void world::tab_reload(tab& t) {
    // pagehide: the flush completes (IdbStorage.flush), the lock and the socket are given up.
    if (t.writer) flush(t);
    if (opts_.trace) {
        for (const auto& s : t.sessions) {
            memory_file_system copy;
            copy.files() = devices_[static_cast<std::size_t>(t.device)].idb;
            client::history_store store(copy, storage_root);
            auto h = store.open(s, now_);
            std::printf("        %s reloads: %s at %llu, IndexedDB history at %llu\n", t.id.c_str(), s.c_str(),
                        static_cast<unsigned long long>(t.core->find_session(s)->last_serial()),
                        static_cast<unsigned long long>(h ? h.value()->last_serial() : 0));
        }
    }
    const int index = t.device;
    const std::uint64_t incarnation = devices_[static_cast<std::size_t>(index)].incarnation;
    tab_kill(t, false);
    after(net_.between(30, 400), "page-load", static_cast<std::uint64_t>(index), [this, index, incarnation] {
        device& d = devices_[static_cast<std::size_t>(index)];
        if (d.up && d.incarnation == incarnation) tab_open(d);
    });
}

void world::tab_freeze(tab& t, ms how_long) {
    t.frozen = true;
    after(how_long, "thaw", t.uid, [this, uid = t.uid] {
        if (tab* t = find_tab(uid); t && t->frozen) tab_thaw(*t);
    });
}

void world::tab_thaw(tab& t) {
    t.frozen = false;
    while (!t.inbox.empty()) {
        auto task = std::move(t.inbox.front());
        t.inbox.pop_front();
        task();
        if (!find_tab(t.uid)) return;
    }
    t.core->on_wake(now_);  // visibilitychange: the link may have died unnoticed
    kick_owner(false, t.uid);  // its socket is read again
}

// ---- the glue's drain loop ------------------------------------------------------------------------

void world::pump(tab& t) {
    device& d = devices_[static_cast<std::size_t>(t.device)];
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        if (const std::string text = t.coord->take_directives_json(); !text.empty()) {
            moved = true;
            if (opts_.trace) std::printf("        %s directives %s\n", t.id.c_str(), text.c_str());
            const auto directives = boost::json::parse(text).as_object();
            const std::string role = directives.at("role").as_string().c_str();
            if (role != "leader" && directives.contains("openSocket")) {
                throw violation{"one-socket-per-device", t.id + " is told to open a socket as a " + role + ": " + text};
            }
            if (role != t.role) {
                t.role = role;
                t.writer = role == "leader";  // IdbStorage.writer; becoming it syncs what it holds
                if (t.writer && !t.flush_armed) {
                    t.flush_armed = true;
                    after(flush_delay_ms, "flush", t.uid, [this, uid = t.uid] {
                        on_tab(uid, [this](tab& t) { t.flush_armed = false; flush(t); });
                    });
                }
            }
            if (directives.contains("closeSocket") && t.link) {
                close_from_client(t.link);
                t.link = 0;
            }
            if (directives.contains("openSocket")) {
                if (t.link) close_from_client(t.link);
                t.link = open_link(false, t.uid, t.device);
            }
            if (directives.contains("stealLock")) lock_steal(d, t.uid);
        }
        for (auto& frame : t.coord->take_socket_frames()) {
            moved = true;
            auto it = links_.find(t.link);
            if (it != links_.end() && it->second.client == link::client_side::open) send(t.link, up, std::move(frame));
        }
        for (auto& message : t.coord->take_channel_messages()) {
            moved = true;
            for (auto to : d.tabs) {
                if (to == t.uid) continue;
                ms& due = d.channel_due[{t.uid, to}];
                due = std::max(due, now_ + net_.below(3));
                at(due, "channel", to, [this, to, message] {
                    on_tab(to, [this, message](tab& r) {
                        if (opts_.trace) trace_channel(r, message);
                        r.coord->on_channel_message(message, now_);
                    });
                });
            }
        }
        if (const std::string text = t.core->take_updates_json(); !text.empty()) {
            moved = true;
            const auto updates = boost::json::parse(text).as_object();
            check_updates(t.id, t.core->client_id(), t.cursor, t.requests, &t.awaiting_outcome, t.reader, &t.control_serial, updates, t.core->event_columns(),
                          nullptr);
            if (updates.contains("persist") && t.writer && !t.flush_armed) {
                t.flush_armed = true;
                after(flush_delay_ms, "flush", t.uid, [this, uid = t.uid] {
                    on_tab(uid, [this](tab& t) { t.flush_armed = false; flush(t); });
                });
            }
            if (updates.contains("closeLink")) t.coord->on_link_dead();
            if (updates.contains("connectNow") && t.retry_armed) {
                t.retry_armed = false;
                ++t.retry_token;
                t.coord->on_reconnect_due();
            }
            if (const auto* retry = updates.if_contains("retry")) {
                const ms delay = retry->as_object().at("delayMs").to_number<ms>();
                t.retry_armed = true;
                after(delay, "retry", t.uid, [this, uid = t.uid, token = ++t.retry_token] {
                    on_tab(uid, [token](tab& t) {
                        if (t.retry_token != token || !t.retry_armed) return;
                        t.retry_armed = false;
                        t.coord->on_reconnect_due();
                    });
                });
            }
        }
        if (!moved) return;
    }
}

void world::flush(tab& t) {
    if (!t.writer) return;
    devices_[static_cast<std::size_t>(t.device)].idb = t.fs.files();
}

void world::tab_link_event(std::uint64_t link_id, bool opened) {
    const std::uint64_t owner = links_.at(link_id).owner;
    on_tab(owner, [this, link_id, opened](tab& t) {
        if (opts_.trace) {
            std::printf("        %s socket %llu %s%s\n", t.id.c_str(), static_cast<unsigned long long>(link_id),
                        opened ? "open" : "closed", t.link != link_id ? " (given up already)" : "");
        }
        if (t.link != link_id) return;  // a socket it already gave up (holdfast.js ignores it too)
        if (opened) {
            t.coord->on_socket_open();
        } else {
            t.link = 0;
            t.coord->on_socket_closed();
        }
    });
}

void world::tab_socket_frame(tab& t, const std::string& bytes) { t.coord->on_socket_frame(bytes); }

void world::trace_channel(const tab& to, const std::string& message) {
    auto m = proto::decode_struct<client::tab_message>(message);
    if (!m) return;
    std::string inner;
    if (!m->frame.empty()) {
        if (auto f = proto::decode(std::string_view(m->frame.data(), m->frame.size()))) inner = proto::describe(f.value());
    }
    if (inner.size() > 160) inner = inner.substr(0, 160) + "...";
    std::printf("        %s hears %s from %s term %llu link %s %s\n", to.id.c_str(), m->kind.c_str(), m->from.c_str(),
                static_cast<unsigned long long>(m->term), m->link_up ? "up" : "down", inner.c_str());
}

// ---- Web Locks ------------------------------------------------------------------------------------

ms world::lock_task_due(std::uint64_t uid) {
    tab* t = find_tab(uid);
    const ms due = std::max(now_ + net_.below(2), t ? t->lock_due : 0);
    if (t) t->lock_due = due;
    return due;
}

void world::lock_request(device& d, std::uint64_t uid) {
    if (d.lock_holder) {
        d.lock_queue.push_back(uid);
        return;
    }
    d.lock_holder = uid;
    at(lock_task_due(uid), "lock-granted", uid, [this, uid] {
        on_tab(uid, [this](tab& t) {
            if (opts_.trace) std::printf("        %s granted the lock\n", t.id.c_str());
            t.coord->on_lock_acquired(now_);
        });
    });
}

void world::lock_release(device& d, std::uint64_t uid) {
    std::erase(d.lock_queue, uid);
    if (d.lock_holder != uid) return;
    d.lock_holder.reset();
    while (!d.lock_queue.empty()) {
        const std::uint64_t next = d.lock_queue.front();
        d.lock_queue.pop_front();
        if (find_tab(next)) return lock_request(d, next);
    }
}

void world::lock_steal(device& d, std::uint64_t uid) {
    if (d.lock_holder == uid) return;  // TabLock.steal: already held
    const std::optional<std::uint64_t> old = d.lock_holder;
    d.lock_holder = uid;
    note("  " + find_tab(uid)->id + " steals the lock" + (old ? " from " + find_tab(*old)->id : std::string()));
    at(lock_task_due(uid), "lock-granted", uid, [this, uid] {
        on_tab(uid, [this](tab& t) {
            if (opts_.trace) std::printf("        %s granted the lock\n", t.id.c_str());
            t.coord->on_lock_acquired(now_);
        });
    });
    if (!old) return;
    if (tab* loser = find_tab(*old)) loser->lost_pending = true;
    at(lock_task_due(*old), "lock-lost", *old, [this, uid = *old] {
        on_tab(uid, [this](tab& t) {
            if (opts_.trace) std::printf("        %s told it lost the lock\n", t.id.c_str());
            t.lost_pending = false;
            t.coord->on_lock_lost();
            lock_request(devices_[static_cast<std::size_t>(t.device)], t.uid);  // TabLock: queue again
        });
    });
}

// ---- what an adopted producer still owes ----------------------------------------------------------

void world::learn_adopted_requests(tab& t) {
    // client_core numbers the adopted pending publishes 1..k in stored order: map them to their
    // nonces so their acks can be checked like any other. The core also reports the outcome of an
    // adopted control in a session the tab follows (from its stored conversation if it came
    // before the reload): awaited and checked like any other. (The JS glue holds no promise for
    // it — pending requests die with their page — and ignores the report.)
    auto content = t.fs.read(std::string(storage_root) + "/producer");
    if (!content) return;
    auto stored = proto::decode_struct<client::stored_producer>(content.value());
    if (!stored) return;
    std::uint64_t request = 0;
    for (const auto& pending : stored->pending) {
        ++request;
        auto frame = proto::decode(pending.frame.bytes);
        if (!frame) continue;
        std::string nonce;
        if (auto* p = std::get_if<proto::publish>(&frame.value())) nonce = payload_field(p->payload, "n");
        if (auto* c = std::get_if<proto::control>(&frame.value())) {
            nonce = payload_field(c->payload, "n");
            if (std::find(t.sessions.begin(), t.sessions.end(), c->session) != t.sessions.end()) {
                t.awaiting_outcome.insert(request);
            }
        }
        if (!nonce.empty()) t.requests[request] = nonce;
    }
}

} // namespace holdfast::sim
