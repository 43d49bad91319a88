// client_host: the turn loop around client_core — link events in, frames and updates out, and the
// reconnect timer. Layer: native host. Every decision (what to send on open, what to resend,
// how long to wait) is the core's; this file only carries it out.
#include "holdfast/native/client_host.hpp"

#include "ws_link.hpp"

#include <boost/asio/post.hpp>

namespace holdfast::native {

namespace net = boost::asio;

std::string_view to_string(link_state state) noexcept {
    switch (state) {
    case link_state::idle: return "idle";
    case link_state::connecting: return "connecting";
    case link_state::open: return "open";
    case link_state::waiting_retry: return "waiting_retry";
    case link_state::closed: return "closed";
    }
    return "unknown";
}

client_host::client_host(net::io_context& ioc, client::client_config config, std::string host, std::uint16_t port,
                         link_options options)
    : ioc_(ioc), core_(std::move(config)), host_(std::move(host)), port_(port), options_(std::move(options)),
      retry_timer_(ioc), tick_timer_(ioc) {}

client_host::~client_host() {
    alive_.reset();
    if (link_) link_->abandon();
}

void client_host::set_state(link_state next) {
    if (state_ == next) return;
    state_ = next;
    if (handlers_.on_link) handlers_.on_link(next);
}

namespace {
std::uint64_t steady_now_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}
} // namespace

void client_host::start() {
    if (state_ != link_state::idle) return;
    schedule_tick();
    connect();
}

void client_host::schedule_tick() {
    tick_timer_.expires_after(options_.tick_period);
    tick_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired() || state_ == link_state::closed) return;
        core_.on_tick(steady_now_ms());
        pump();
        schedule_tick();
    });
}

void client_host::wake() {
    if (state_ == link_state::idle || state_ == link_state::closed) return;
    core_.on_wake(steady_now_ms());
    pump();
}

void client_host::drop_link() {
    ++generation_;  // late callbacks of the dropped link are ignored
    if (link_) link_->drop();
    link_.reset();
}

void client_host::connect() {
    const std::uint64_t generation = ++generation_;
    ws_link::handlers h;
    h.on_open = [this, generation] { on_link_open(generation); };
    h.on_message = [this, generation](std::string_view bytes) { on_link_message(generation, bytes); };
    h.on_closed = [this, generation](boost::beast::error_code) { on_link_closed(generation); };
    link_ = std::make_shared<ws_link>(ioc_, options_, std::move(h));
    set_state(link_state::connecting);
    link_->start(host_, port_);
}

void client_host::on_link_open(std::uint64_t generation) {
    if (generation != generation_ || state_ == link_state::closed) return;
    ++connects_;
    set_state(link_state::open);
    core_.on_transport_open();
    pump();
}

void client_host::on_link_message(std::uint64_t generation, std::string_view bytes) {
    if (generation != generation_ || state_ != link_state::open) return;
    core_.on_frame(bytes);
    pump();
}

void client_host::on_link_closed(std::uint64_t generation) {
    if (generation != generation_ || state_ == link_state::closed) return;
    link_.reset();
    // A link that never opened is reported too: the core then counts a failed attempt and
    // answers with a longer delay, so a relay that is down is not hammered.
    core_.on_transport_closed();
    set_state(link_state::waiting_retry);
    pump();
}

void client_host::schedule_retry(std::uint32_t delay_ms) {
    if (state_ == link_state::closed) return;
    retry_timer_.expires_after(std::chrono::milliseconds(delay_ms));
    retry_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired() || state_ != link_state::waiting_retry) return;
        connect();
    });
}

result<ok_t> client_host::open_session(std::string_view session_id) {
    auto opened = core_.open_session(session_id);
    pump();
    return opened;
}

void client_host::close_session(std::string_view session_id) {
    core_.close_session(session_id);
    // Opened again, its tables start from 0 in the core: the copy held here is of no more use.
    if (auto held = event_tables_.sessions.find(session_id); held != event_tables_.sessions.end()) {
        event_tables_.sessions.erase(held);
    }
    pump();
}

result<std::uint64_t> client_host::publish(std::string_view session_id, std::string_view kind,
                                           std::string_view msg_id, std::string_view payload_json) {
    auto request = core_.publish(session_id, kind, msg_id, payload_json);
    pump_soon();
    return request;
}

result<std::uint64_t> client_host::control(std::string_view session_id, std::string_view action,
                                           std::string_view target, std::string_view payload_json) {
    auto request = core_.control(session_id, action, target, payload_json);
    pump_soon();
    return request;
}

void client_host::close() {
    if (state_ == link_state::closed) return;
    retry_timer_.cancel();
    tick_timer_.cancel();
    ++generation_;  // late callbacks of the current link are ignored from now on
    if (link_) {
        // Frames the core queued in this turn still go out before the close handshake.
        for (auto& frame : core_.bundle_for_relay(core_.take_frames())) link_->send(std::move(frame));
        link_->abandon();
        link_.reset();
    }
    set_state(link_state::closed);
}

void client_host::pump_soon() {
    // Publishes made in one handler (an agent streaming a burst, a pipelined loop) leave together,
    // as one bundle, once the handler returns.
    if (pump_posted_) return;
    pump_posted_ = true;
    boost::asio::post(ioc_, [this, alive = std::weak_ptr<int>(alive_)] {
        if (alive.expired()) return;
        pump_posted_ = false;
        pump();
    });
}

void client_host::pump() {
    // A handler may call back into the host (publish from on_event): the inner call only marks
    // the turn dirty, so batches are delivered whole and in order.
    if (pumping_) {
        pump_again_ = true;
        return;
    }
    pumping_ = true;
    do {
        pump_again_ = false;
        auto frames = core_.bundle_for_relay(core_.take_frames());
        if (link_ && state_ == link_state::open) {
            for (auto& frame : frames) link_->send(std::move(frame));
        }
        // Taken first: the columns are those of this take (arguments have no order).
        const std::string updates = core_.take_updates_json();
        auto parsed = parse_update_batch(updates, core_.event_columns(), event_tables_);
        if (!parsed) {
            if (handlers_.on_error) handlers_.on_error(parsed.err());
            continue;
        }
        dispatch(parsed.value());
    } while (pump_again_);
    pumping_ = false;
}

void client_host::dispatch(update_batch& batch) {
    std::size_t next_event = 0;
    for (const session_status& status : batch.sessions) {
        if (handlers_.on_session) handlers_.on_session(status);
        for (; next_event < batch.events.size() && batch.events[next_event].session == status.id; ++next_event) {
            if (handlers_.on_event) handlers_.on_event(batch.events[next_event]);
        }
    }
    for (const incoming_control_update& control : batch.incoming) {
        if (handlers_.on_incoming_control) handlers_.on_incoming_control(control);
    }
    for (const ack_update& ack : batch.acks) {
        if (handlers_.on_ack) handlers_.on_ack(ack.request, ack.serial);
    }
    for (const reject_update& reject : batch.rejects) {
        if (handlers_.on_reject) handlers_.on_reject(reject.request, reject.err);
    }
    for (const error& err : batch.errors) {
        if (handlers_.on_error) handlers_.on_error(err);
    }
    for (const control_outcome_update& outcome : batch.controls) {
        if (handlers_.on_control_outcome) handlers_.on_control_outcome(outcome);
    }
    if (batch.close_link && state_ != link_state::closed) {
        // The core already counts this link closed (it asked for a retry in this same batch).
        drop_link();
        set_state(link_state::waiting_retry);
    }
    if (batch.retry_delay_ms) schedule_retry(*batch.retry_delay_ms);
    if (batch.connect_now && state_ == link_state::waiting_retry) {
        retry_timer_.cancel();
        connect();
    }
}

} // namespace holdfast::native
