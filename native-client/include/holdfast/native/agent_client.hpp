// agent_client: the C++ agent API — an agent identity on the native client core. It attaches
// sessions as an agent (the relay stamps its name on every event and holds a lease on what it
// streams), publishes message.start/delta/end, tool.call, tool.result and status directly into a
// session, and hands each control users aim at its messages to that message's writer. Layer:
// native host; the routing of controls (by message id or run id) is decided by the core.
// The Node counterpart is the SDK's Session.startMessage() / MessageWriter.
#pragma once
#include "holdfast/native/client_host.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace holdfast::native {

struct agent_options {
    std::string name;       // the agent identity shown to users (hello.agent); required
    std::string client_id;  // producer id; default: "<name>-<random>"
    std::string token;
    /// Must grow across restarts of one client_id; default: the current time in ms.
    std::uint64_t producer_epoch = 0;
    client::heartbeat_config heartbeat;
    link_options link;
};

struct message_options {
    std::string msg_id;               // default: "msg-<random>"
    std::string run;                  // a run id groups messages: one cancel of the run stops all
    std::string role = "assistant";
};

class agent_client;

/// One message an agent streams: start (written by agent_client::start_message), deltas, one
/// end. A cancel or an interrupt ends it at once with status "cancelled" (so nothing more is
/// written and the user's control resolves `applied`), then reaches on_control; a steer only
/// reaches on_control and the agent reports its outcome. Owned by the agent_client; the
/// shared_ptr keeps a handle valid after the client forgets an ended message.
class message_writer {
public:
    using control_handler = std::function<void(const incoming_control_update&)>;

    const std::string& session() const noexcept { return session_; }
    const std::string& id() const noexcept { return id_; }
    bool ended() const noexcept { return ended_; }
    /// The cancel or interrupt that ended it, if one did.
    const std::optional<incoming_control_update>& stopped_by() const noexcept { return stopped_by_; }

    /// Appends text. After the end it writes nothing and returns nullopt; otherwise the request
    /// id of the queued delta (acks arrive through the client's on_ack handler).
    result<std::optional<std::uint64_t>> write(std::string_view text);
    /// Ends the message once (status complete | cancelled | error); later calls return the
    /// first end's request id.
    result<std::uint64_t> end(std::string_view status = "complete", std::string_view reason = {});
    /// Settles a control aimed at this message (agents confirm a steer with `applied`).
    result<std::uint64_t> report_outcome(const incoming_control_update& control, std::string_view outcome = "applied");
    /// Every control aimed at this message, after cancel/interrupt ended it.
    void on_control(control_handler handler) { on_control_ = std::move(handler); }

private:
    friend class agent_client;
    message_writer(agent_client& owner, std::string session, std::string id)
        : owner_(&owner), session_(std::move(session)), id_(std::move(id)) {}
    void deliver(const incoming_control_update& control);

    agent_client* owner_;  // cleared when the client goes away first
    std::string session_;
    std::string id_;
    bool ended_ = false;
    std::optional<std::uint64_t> end_request_;
    std::optional<incoming_control_update> stopped_by_;
    control_handler on_control_;
};

/// Single-threaded like client_host: use it on the io_context's thread.
class agent_client {
public:
    agent_client(boost::asio::io_context& ioc, agent_options options, std::string host, std::uint16_t port);
    ~agent_client();
    agent_client(const agent_client&) = delete;
    agent_client& operator=(const agent_client&) = delete;

    /// The app's handlers. on_incoming_control is also called for controls no live writer
    /// owns (e.g. aimed at a message this process wrote before a restart).
    void set_handlers(client_handlers handlers) { app_ = std::move(handlers); }

    void start() { host_.start(); }
    void close() { host_.close(); }
    result<ok_t> open_session(std::string_view session_id) { return host_.open_session(session_id); }
    void close_session(std::string_view session_id) { host_.close_session(session_id); }

    /// Publishes message.start {role, run?} and returns the message's writer.
    result<std::shared_ptr<message_writer>> start_message(std::string_view session_id, message_options options = {});
    /// status {state}: what the agent is doing ("thinking"…), shown by every surface's agents().
    result<std::uint64_t> status(std::string_view session_id, std::string_view state);
    /// tool.call {id, name, args} and tool.result {id, result}; args/result are JSON texts.
    result<std::uint64_t> tool_call(std::string_view session_id, std::string_view call_id, std::string_view name,
                                    std::string_view args_json);
    result<std::uint64_t> tool_result(std::string_view session_id, std::string_view call_id,
                                      std::string_view result_json);
    /// Any other event kind.
    result<std::uint64_t> publish(std::string_view session_id, std::string_view kind, std::string_view msg_id,
                                  std::string_view payload_json) {
        return host_.publish(session_id, kind, msg_id, payload_json);
    }

    const std::string& name() const noexcept { return name_; }
    client_host& host() noexcept { return host_; }

private:
    friend class message_writer;
    void on_incoming(const incoming_control_update& control);
    void forget(const message_writer& writer);

    std::string name_;
    client_host host_;
    client_handlers app_;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<message_writer>> writers_;  // (session, msg id)
    std::uint64_t next_message_ = 1;
    std::string id_prefix_;
};

} // namespace holdfast::native
