// The C++ agent API over client_host. Layer: native host.
#include "holdfast/native/agent_client.hpp"

#include "holdfast/json.hpp"

#include <chrono>
#include <random>

namespace holdfast::native {

namespace {

std::string random_suffix() {
    std::random_device device;
    std::uniform_int_distribution<std::uint64_t> pick;
    constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::uint64_t value = pick(device);
    std::string out;
    for (int i = 0; i < 10; ++i, value /= 36) out += digits[value % 36];
    return out;
}

client::client_config config_for(const agent_options& options) {
    client::client_config config;
    config.agent = options.name;
    config.client_id = options.client_id.empty() ? options.name + "-" + random_suffix() : options.client_id;
    config.token = options.token;
    config.producer_epoch =
        options.producer_epoch
            ? options.producer_epoch
            : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    config.random_seed = std::random_device{}();
    config.heartbeat = options.heartbeat;
    return config;
}

} // namespace

// ---- message_writer ----------------------------------------------------------------------------

result<std::optional<std::uint64_t>> message_writer::write(std::string_view text) {
    if (ended_) return std::optional<std::uint64_t>{};
    if (!owner_) return make_error(errc::closed, "agent client is gone");
    std::string payload;
    json::object_writer(payload).string("text", text).close();
    auto request = owner_->host_.publish(session_, "message.delta", id_, payload);
    if (!request) return request.err();
    return std::optional<std::uint64_t>{request.value()};
}

result<std::uint64_t> message_writer::end(std::string_view status, std::string_view reason) {
    if (end_request_) return *end_request_;
    if (!owner_) return make_error(errc::closed, "agent client is gone");
    std::string payload;
    json::object_writer body(payload);
    body.string("status", status);
    if (!reason.empty()) body.string("reason", reason);
    body.close();
    auto request = owner_->host_.publish(session_, "message.end", id_, payload);
    if (!request) return request.err();
    ended_ = true;
    end_request_ = request.value();
    owner_->forget(*this);  // may drop the client's reference: touch no member after this
    return request.value();
}

result<std::uint64_t> message_writer::report_outcome(const incoming_control_update& control, std::string_view outcome) {
    if (!owner_) return make_error(errc::closed, "agent client is gone");
    std::string payload;
    json::object_writer(payload)
        .number("control", control.serial)
        .string("action", control.action)
        .string("target", control.target)
        .string("outcome", outcome)
        .close();
    return owner_->host_.publish(session_, "control.outcome", id_, payload);
}

void message_writer::deliver(const incoming_control_update& control) {
    if (control.action == "cancel" || control.action == "interrupt") {
        if (ended_) return;
        stopped_by_ = control;
        // An end that cannot be queued (the client closed) is settled by the relay's lease.
        (void)end("cancelled", control.action == "interrupt" ? "interrupted" : "cancelled");
    }
    if (on_control_) on_control_(control);
}

// ---- agent_client ------------------------------------------------------------------------------

agent_client::agent_client(boost::asio::io_context& ioc, agent_options options, std::string host, std::uint16_t port)
    : name_(options.name), host_(ioc, config_for(options), std::move(host), port, options.link),
      id_prefix_(random_suffix()) {
    client_handlers routed;
    // Every handler goes to the app's current one (set_handlers may come after this).
    routed.on_session = [this](const session_status& s) { if (app_.on_session) app_.on_session(s); };
    routed.on_event = [this](const delivered_event& e) { if (app_.on_event) app_.on_event(e); };
    routed.on_ack = [this](std::uint64_t request, std::uint64_t serial) { if (app_.on_ack) app_.on_ack(request, serial); };
    routed.on_reject = [this](std::uint64_t request, const error& err) { if (app_.on_reject) app_.on_reject(request, err); };
    routed.on_error = [this](const error& err) { if (app_.on_error) app_.on_error(err); };
    routed.on_link = [this](link_state state) { if (app_.on_link) app_.on_link(state); };
    routed.on_control_outcome = [this](const control_outcome_update& o) { if (app_.on_control_outcome) app_.on_control_outcome(o); };
    routed.on_incoming_control = [this](const incoming_control_update& c) { on_incoming(c); };
    host_.set_handlers(std::move(routed));
}

agent_client::~agent_client() {
    for (auto& [key, writer] : writers_) writer->owner_ = nullptr;
}

result<std::shared_ptr<message_writer>> agent_client::start_message(std::string_view session_id, message_options options) {
    std::string id = options.msg_id.empty() ? "msg-" + id_prefix_ + "-" + std::to_string(next_message_++) : options.msg_id;
    std::string payload;
    json::object_writer body(payload);
    body.string("role", options.role);
    if (!options.run.empty()) body.string("run", options.run);
    body.close();
    auto request = host_.publish(session_id, "message.start", id, payload);
    if (!request) return request.err();
    auto writer = std::shared_ptr<message_writer>(new message_writer(*this, std::string(session_id), id));
    writers_[{std::string(session_id), std::move(id)}] = writer;
    return writer;
}

result<std::uint64_t> agent_client::status(std::string_view session_id, std::string_view state) {
    std::string payload;
    json::object_writer(payload).string("state", state).close();
    return host_.publish(session_id, "status", {}, payload);
}

result<std::uint64_t> agent_client::tool_call(std::string_view session_id, std::string_view call_id,
                                              std::string_view name, std::string_view args_json) {
    std::string payload;
    json::object_writer(payload).string("id", call_id).string("name", name).raw("args", args_json.empty() ? "null" : args_json).close();
    return host_.publish(session_id, "tool.call", call_id, payload);
}

result<std::uint64_t> agent_client::tool_result(std::string_view session_id, std::string_view call_id,
                                                std::string_view result_json) {
    std::string payload;
    json::object_writer(payload).string("id", call_id).raw("result", result_json.empty() ? "null" : result_json).close();
    return host_.publish(session_id, "tool.result", call_id, payload);
}

void agent_client::on_incoming(const incoming_control_update& control) {
    auto it = writers_.find({control.session, control.message_id});
    if (it != writers_.end()) {
        auto writer = it->second;  // deliver() may end it, which erases the map's reference
        writer->deliver(control);
    }
    if (app_.on_incoming_control) app_.on_incoming_control(control);
}

void agent_client::forget(const message_writer& writer) {
    writers_.erase({writer.session(), writer.id()});
}

} // namespace holdfast::native
