// Serial bookkeeping for one followed session. Layer: portable core.
// The rules: deliver serial last+1 only; drop anything <= last (a duplicate from a replay that
// overlaps live traffic); on a jump, stop and ask for a repair instead of skipping silently.
#include "holdfast/session.hpp"

namespace holdfast::client {

std::string_view to_string(session_state state) noexcept {
    switch (state) {
    case session_state::connecting: return "connecting";
    case session_state::live: return "live";
    case session_state::offline: return "offline";
    case session_state::resuming: return "resuming";
    }
    return "connecting";
}

proto::attach session::make_attach() {
    attached_ = false;
    resuming_ = was_live_ || last_serial_ > 0;
    repairing_ = false;
    update_state();
    return proto::attach{id_, last_serial_, epoch_};
}

session::attach_outcome session::on_attached(const proto::attached& frame) {
    attach_outcome outcome = attach_outcome::continued;
    if (epoch_ != 0 && frame.epoch != epoch_) {
        // The relay's log was recreated: our serials mean nothing there any more.
        last_serial_ = 0;
        resuming_ = false;  // rebuilding from nothing is a fresh load, not a resume
        outcome = attach_outcome::reset;
    }
    if (frame.first_serial && *frame.first_serial > last_serial_ + 1) {
        // The log now starts after what we hold: the missing events are gone for good. Say so
        // (never skip silently) and continue from the oldest one the relay has.
        if (last_serial_ > 0 && outcome == attach_outcome::continued) outcome = attach_outcome::continuity_lost;
        last_serial_ = *frame.first_serial - 1;
        resuming_ = false;
    }
    epoch_ = frame.epoch;
    head_at_attach_ = frame.head_serial;
    attached_ = true;
    repairing_ = false;
    update_state();
    return outcome;
}

template <class Event>
session::batch_outcome_of<Event> session::on_events(std::vector<Event>&& events) {
    batch_outcome_of<Event> outcome;
    if (!attached_ || repairing_) {
        // Frames already in flight before our (re-)attach was processed: the replay after
        // the coming `attached` covers them, so taking them now could only reorder.
        outcome.duplicates = events.size();
        return outcome;
    }
    // The usual frame continues the log exactly: it is taken whole, without moving each event.
    bool continues = !events.empty();
    for (std::size_t i = 0; continues && i < events.size(); ++i) continues = events[i].serial == last_serial_ + 1 + i;
    if (continues) {
        last_serial_ = events.back().serial;
        outcome.deliver = std::move(events);
        update_state();
        return outcome;
    }
    outcome.deliver.reserve(events.size());
    for (auto& e : events) {
        if (e.serial <= last_serial_) {
            ++outcome.duplicates;
            continue;
        }
        if (e.serial != last_serial_ + 1) {
            outcome.gap = true;
            repairing_ = true;
            break;
        }
        last_serial_ = e.serial;
        outcome.deliver.push_back(std::move(e));
    }
    update_state();
    return outcome;
}

template session::batch_outcome_of<proto::event> session::on_events(std::vector<proto::event>&&);
template session::batch_outcome_of<proto::event_view> session::on_events(std::vector<proto::event_view>&&);

void session::on_transport_lost() noexcept {
    attached_ = false;
    repairing_ = false;
    state_ = session_state::offline;
}

void session::update_state() noexcept {
    if (attached_ && !repairing_ && last_serial_ >= head_at_attach_) {
        state_ = session_state::live;
        was_live_ = true;
    } else {
        state_ = (resuming_ || was_live_) ? session_state::resuming : session_state::connecting;
    }
}

} // namespace holdfast::client
