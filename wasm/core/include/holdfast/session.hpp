// Session: one client's view of one session's log — epoch, resume cursor (last serial held),
// catch-up progress, duplicate and gap detection. Layer: portable core, sans-I/O: it decides
// what to deliver; the client sends and delivers.
#pragma once
#include "holdfast/frames.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::client {

enum class session_state { connecting, live, offline, resuming };
std::string_view to_string(session_state state) noexcept;

class session {
public:
    explicit session(std::string id) : id_(std::move(id)) {}

    const std::string& id() const noexcept { return id_; }
    std::uint64_t last_serial() const noexcept { return last_serial_; }
    std::uint64_t epoch() const noexcept { return epoch_; }
    session_state state() const noexcept { return state_; }

    /// Adopts a position loaded from local history, before the first attach.
    void restore(std::uint64_t epoch, std::uint64_t last_serial) noexcept {
        epoch_ = epoch;
        last_serial_ = last_serial;
    }

    /// The attach frame that resumes from what this client holds.
    proto::attach make_attach();

    /// continuity_lost: same epoch, but the relay no longer holds the events after ours (its
    /// retention dropped them): like reset, the caller drops what it derived from the log.
    enum class attach_outcome { continued, reset, continuity_lost };
    /// A different epoch than the one held means the relay's log was recreated: the caller drops
    /// everything derived from the old log (reset) and the replay rebuilds it.
    attach_outcome on_attached(const proto::attached& frame);

    /// Event: proto::event, or proto::event_view (the client's receive path: no copies).
    template <class Event>
    struct batch_outcome_of {
        std::vector<Event> deliver;  // strictly increasing serials, each exactly once
        std::size_t duplicates = 0;
        bool gap = false;  // a serial jumped: the caller must repair (re-attach from last_serial)
    };
    using batch_outcome = batch_outcome_of<proto::event>;
    template <class Event>
    batch_outcome_of<Event> on_events(std::vector<Event>&& events);

    void on_transport_lost() noexcept;

private:
    void update_state() noexcept;

    std::string id_;
    std::uint64_t last_serial_ = 0;
    std::uint64_t epoch_ = 0;
    std::uint64_t head_at_attach_ = 0;
    bool attached_ = false;
    bool repairing_ = false;      // a gap was seen; later events wait for the repair's replay
    bool was_live_ = false;
    bool resuming_ = false;       // this attach continues from a position held before it
    session_state state_ = session_state::connecting;
};

} // namespace holdfast::client
