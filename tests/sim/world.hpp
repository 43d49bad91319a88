// The simulated world of holdfast_sim: one relay_core on a memory_store that crashes and restarts,
// browser profiles ("devices") whose tabs each run a client_core + tab_coordinator over their own
// in-memory file system, a Web Locks model, a BroadcastChannel model, agents streaming answers,
// and TCP-like links between all of them and the relay. One seeded scheduler orders every event;
// nothing reads a real clock. Layer: tests (simulator). The parts are split by concern:
// world.cpp (scheduler, relay, links), browser.cpp (devices, tabs, locks, channel, storage),
// actors.cpp (users and agents), checks.cpp (the invariants), main.cpp (command line, shrinking).
#pragma once
#include "rng.hpp"

#include "holdfast/client.hpp"
#include "holdfast/file_system.hpp"
#include "holdfast/history_store.hpp"
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/relay_core.hpp"
#include "holdfast/tab_coordinator.hpp"
#include "../support/update_json.hpp"

#include <boost/json/object.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

namespace holdfast::sim {

using ms = std::uint64_t;

/// What one run does. `keep`, when set, runs only those scheduled actions (by index); the others
/// still draw their random numbers, so the kept ones stay as they were.
struct options {
    std::uint64_t seed = 1;
    std::uint64_t steps = 2000;  // events processed before the world is healed
    bool trace = false;          // print every step
    std::optional<std::set<std::uint64_t>> keep;
};

/// How a run ended.
struct outcome {
    std::uint64_t seed = 0;
    bool ok = true;
    std::string invariant;  // which rule broke
    std::string detail;
    std::uint64_t steps = 0;        // events processed in both phases
    std::uint64_t failed_step = 0;
    ms sim_ms = 0;                  // simulated time covered
    std::string shape;              // devices, tabs, agents, sessions, relay limits
    std::vector<std::uint64_t> performed;  // indices of the actions that ran
    std::vector<std::string> actions;      // their descriptions, in order
    std::vector<std::string> recent;       // the last steps before the end
    std::map<std::string, std::uint64_t> counts;  // faults and traffic, for the summary
};

outcome run(const options& opts);

// ---- the world's parts ---------------------------------------------------------------------------

/// A violation of an invariant, thrown out of the step that caused it.
struct violation {
    std::string invariant;
    std::string detail;
};

enum direction : int { up = 0, down = 1 };

struct in_flight {
    ms due = 0;
    std::string bytes;
    bool close = false;  // FIN: the sender closed the connection after `bytes` before it
};

/// One WebSocket: a tab's or an agent's connection to the relay. TCP delivers each direction in
/// order; a partition stalls it (nothing lost, nothing moves); a reset cuts it.
struct link {
    std::uint64_t id = 0;  // also the relay's connection_id: never reused in a run
    bool agent = false;
    std::uint64_t owner = 0;  // tab uid or agent index
    int device = -1;
    enum class client_side { connecting, open, closed } client = client_side::connecting;
    std::uint64_t relay_generation = 0;  // the relay incarnation that accepted it
    bool relay_side = false;             // relay_core knows it: on_open done, on_close not yet
    bool cut = false;                    // reset or black-holed: nothing crosses any more
    std::uint64_t generation = 0;        // bumped when queued deliveries are rescheduled
    ms last_due[2] = {0, 0};
    std::deque<in_flight> queue[2];
};

/// One tab of a browser profile. Members in construction order: the store outlives the core,
/// the core the coordinator.
struct tab {
    std::uint64_t uid = 0;
    int device = 0;
    std::string id;
    memory_file_system fs;  // this tab's in-memory FS (Emscripten's MEMFS under the IDBFS mount)
    std::unique_ptr<client::history_store> store;
    std::unique_ptr<client::client_core> core;
    testing::event_reader reader;  // its core's event tables, take to take (a new core, a new reader)
    std::unique_ptr<client::tab_coordinator> coord;
    bool frozen = false;
    bool lost_pending = false;  // the lock was taken from it and it has not been told yet
    ms lock_due = 0;            // the lock manager's tasks reach a tab in the order it sent them
    bool writer = false;        // leads, so its syncfs reaches IndexedDB
    bool flush_armed = false;
    std::uint64_t link = 0;  // its socket, when it leads
    std::string role;
    std::uint64_t retry_token = 0;
    bool retry_armed = false;
    std::deque<std::function<void()>> inbox;       // tasks that arrived while frozen
    std::vector<std::string> sessions;             // opened
    std::map<std::string, std::uint64_t> cursor;   // session -> last serial the app was given
    std::map<std::uint64_t, std::string> requests; // request -> nonce of the publish
    std::set<std::uint64_t> awaiting_outcome;      // controls not yet answered by a control.outcome
    std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> control_serial;  // request -> (session, serial)
    std::map<std::string, std::pair<std::uint64_t, ms>> progress;  // session -> (serial held, since when)
};

struct agent {
    std::uint64_t index = 0;
    std::string name;
    std::unique_ptr<client::client_core> core;
    testing::event_reader reader;  // its core's event tables, take to take (a new core, a new reader)
    bool offline = false;
    std::uint64_t link = 0;
    std::uint64_t retry_token = 0;
    bool retry_armed = false;
    std::map<std::string, std::uint64_t> cursor;
    std::map<std::uint64_t, std::string> requests;
    struct stream {
        std::string session;
        int total = 0;
        int sent = 0;
        bool done = false;
    };
    std::map<std::string, stream> streams;  // by message id
};

struct device {
    int index = 0;
    bool up = true;
    bool offline = false;
    std::map<std::string, std::string> idb;  // what IndexedDB holds: the writer's last syncfs
    std::vector<std::uint64_t> tabs;         // live tab uids
    std::optional<std::uint64_t> lock_holder;
    std::deque<std::uint64_t> lock_queue;    // pending requests (a tab may have several)
    std::uint64_t next_tab = 1;
    std::uint64_t incarnation = 0;           // bumped when the browser crashes
    std::map<std::pair<std::uint64_t, std::uint64_t>, ms> channel_due;  // per sender/receiver order
};

/// Who wrote a payload nonce: every publish carries a unique one.
struct nonce_origin {
    std::string producer;
    std::string session;
    std::string kind;
    std::string msg_id;
};

class world {
public:
    explicit world(const options& opts);
    outcome run();

    // ---- scheduler (world.cpp) ----
    void at(ms when, const char* what, std::uint64_t a, std::function<void()> fn);
    void after(ms delay, const char* what, std::uint64_t a, std::function<void()> fn) {
        at(now_ + delay, what, a, std::move(fn));
    }
    void note(std::string text);
    ms now() const { return now_; }

    // ---- relay and links (world.cpp) ----
    void relay_start();
    void relay_crash(bool silent);
    std::uint64_t open_link(bool agent, std::uint64_t owner, int device);
    void send(std::uint64_t link_id, direction dir, std::string bytes, bool close = false);
    void close_from_client(std::uint64_t link_id);
    void reset_link(std::uint64_t link_id, bool tell_client);
    void kick(link& l);
    void kick_owner(bool agent, std::uint64_t owner);
    void kick_device(int index);
    void drain_relay();
    void sync_log();

    // ---- browser (browser.cpp) ----
    void device_start(device& d, int tabs);
    void device_crash(device& d);
    tab& tab_open(device& d);
    void tab_kill(tab& t, bool silent);
    void tab_reload(tab& t);
    void tab_freeze(tab& t, ms how_long);
    void tab_thaw(tab& t);
    void on_tab(std::uint64_t uid, std::function<void(tab&)> fn);
    void pump(tab& t);
    void lock_request(device& d, std::uint64_t uid);
    ms lock_task_due(std::uint64_t uid);
    void lock_release(device& d, std::uint64_t uid);
    void lock_steal(device& d, std::uint64_t uid);
    void tab_link_event(std::uint64_t link_id, bool opened);
    void tab_socket_frame(tab& t, const std::string& bytes);
    void flush(tab& t);
    tab* find_tab(std::uint64_t uid);
    void trace_channel(const tab& to, const std::string& message);

    // ---- users and agents (actors.cpp) ----
    void agent_start(agent& a);
    void pump(agent& a);
    void agent_link_event(std::uint64_t link_id, bool opened);
    void agent_frame(agent& a, const std::string& bytes);
    void agent_saw(agent& a, const std::string& session, const boost::json::object& event);
    void agent_stream_step(std::uint64_t agent_index, const std::string& msg_id);
    void agent_publish(agent& a, const std::string& session, const std::string& kind, const std::string& msg_id,
                       std::string payload_fields);
    void schedule_action();
    void perform(std::uint64_t index, std::uint64_t kind_roll, std::uint64_t param);
    void user_prompt(rng& pick);
    void user_cancel(rng& pick);

    // ---- invariants (checks.cpp) ----
    void check_updates(const std::string& who, const std::string& producer,
                       std::map<std::string, std::uint64_t>& cursor, std::map<std::uint64_t, std::string>& requests,
                       std::set<std::uint64_t>* awaiting_outcome, testing::event_reader& reader,
                       std::map<std::uint64_t, std::pair<std::string, std::uint64_t>>* control_serial,
                       const boost::json::object& updates, std::string_view event_columns,
                       const std::function<void(const std::string&, const boost::json::object&)>& on_event);
    void check_step();
    void check_progress();
    bool converged(std::string& why);
    void check_final();
    void learn_adopted_requests(tab& t);

    // ---- state (public within the simulator: each part reads the others') ----
    options opts_;
    rng chaos_, net_, actors_;
    ms now_ = 1'000'000;
    std::uint64_t steps_ = 0;
    bool calm_ = false;  // healing: no more faults or prompts

    relay::relay_config relay_config_;
    relay::memory_store store_;
    std::unique_ptr<relay::relay_core> relay_;
    std::uint64_t relay_generation_ = 0;
    bool relay_up_ = false;

    std::map<std::uint64_t, link> links_;
    std::uint64_t next_link_ = 0;
    std::vector<device> devices_;
    std::vector<int> initial_tabs_;
    std::map<std::uint64_t, std::unique_ptr<tab>> tabs_;
    std::uint64_t next_tab_uid_ = 0;
    std::vector<agent> agents_;
    std::vector<std::string> sessions_;

    // the relay's log as the checks see it, refreshed from the store after each relay input
    std::map<std::string, std::vector<proto::event>> log_;
    std::map<std::string, std::uint64_t> nonce_count_;
    std::map<std::string, nonce_origin> nonces_;
    std::map<std::string, std::map<std::string, std::uint64_t>> ended_;  // session -> msg -> end serial
    std::uint64_t next_nonce_ = 0;
    std::uint64_t next_prompt_ = 0;

    std::uint64_t next_action_ = 0;
    ms next_progress_check_ = 0;
    outcome result_;

private:
    struct event {
        ms at;
        std::uint64_t seq;
        const char* what;
        std::uint64_t a;
        std::function<void()> fn;
        bool operator>(const event& other) const { return at != other.at ? at > other.at : seq > other.seq; }
    };
    std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
    std::uint64_t seq_ = 0;
    struct step_record {
        std::uint64_t step;
        ms at;
        const char* what;
        std::uint64_t a;
    };
    std::deque<step_record> recent_;
    std::vector<std::string> notes_;  // text attached to the current step (actions)

    void deliver(std::uint64_t link_id, std::uint64_t generation, direction dir);
    void trace_frame(const link& l, direction dir, const in_flight& f, bool read);
    bool paused(const link& l, direction dir) const;
    ms link_delay();
    void step_once();
    void heal();
};

/// The string field `key` of a msgpack map payload ("" when absent).
std::string payload_field(const proto::raw_value& payload, std::string_view key);
/// The unsigned integer field `key` of a msgpack map payload.
std::optional<std::uint64_t> payload_number(const proto::raw_value& payload, std::string_view key);

} // namespace holdfast::sim
