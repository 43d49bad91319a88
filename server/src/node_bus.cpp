// node_bus: Redis pub/sub notifications for a relay node sharing a Redis store. Layer: relay
// network shell. Built only with hiredis (HOLDFAST_WITH_REDIS).
#ifdef HOLDFAST_WITH_REDIS
#include "node_bus.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>
#include <iostream>

namespace holdfast::relay {

namespace {
constexpr auto reconnect_interval = std::chrono::milliseconds(250);
}

node_bus::node_bus(net::io_context& ioc, redis_address address, relay_core& core, std::function<void()> flush)
    : ioc_(ioc), address_(std::move(address)), core_(core), flush_(std::move(flush)), retry_(ioc) {}

node_bus::~node_bus() { disconnect(); }

void node_bus::start() {
    core_.set_live_listener([this](const std::string& session, bool followed) {
        if (followed) follow(session);
        else unfollow(session);
    });
    for (const std::string& session : core_.live_sessions()) followed_.insert(session);
    connect();
}

void node_bus::stop() {
    stopped_ = true;
    retry_.cancel();
    core_.set_live_listener(nullptr);
    disconnect();
}

void node_bus::disconnect() {
    ++generation_;
    if (socket_) {
        // hiredis owns the descriptor: Asio must let go of it before redisFree closes it.
        socket_->cancel();
        (void)socket_->release();
        socket_.reset();
    }
    if (context_) redisFree(context_);
    context_ = nullptr;
}

void node_bus::fail() {
    const bool was_connected = context_ != nullptr;
    disconnect();
    core_.set_shell_healthy(false);
    if (was_connected) std::cerr << "holdfast-relay: redis notifications lost, reconnecting\n";
    if (stopped_) return;
    retry_.expires_after(reconnect_interval);
    retry_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) connect();
    });
}

void node_bus::connect() {
    if (context_) return;
    timeval timeout{1, 0};
    redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, timeout);
    if (!c || c->err) {
        if (c) redisFree(c);
        fail();
        return;
    }
    context_ = c;
    // Pub/sub channels are global (not per database): the database number is part of nothing.
    // Each SUBSCRIBE's confirmation makes the core read the store (on_reply), which also covers
    // whatever was appended while this node was not listening.
    boost::system::error_code ec;
    socket_.emplace(ioc_);
    socket_->assign(c->fd, ec);
    if (ec) {
        fail();
        return;
    }
    core_.set_shell_healthy(true);
    if (followed_.empty()) {
        // Nothing to follow yet: ping so a dead Redis is still noticed through the socket.
        send({"SUBSCRIBE", "hf:node-bus-alive"});
    } else {
        std::vector<std::string> args{"SUBSCRIBE"};
        for (const std::string& session : followed_) args.push_back(redis_channel(session));
        send(args);
    }
    if (context_) wait_readable();
}

void node_bus::follow(const std::string& session) {
    if (!followed_.insert(session).second) return;
    if (context_) send({"SUBSCRIBE", redis_channel(session)});
}

void node_bus::unfollow(const std::string& session) {
    if (followed_.erase(session) == 0) return;
    if (context_) send({"UNSUBSCRIBE", redis_channel(session)});
}

void node_bus::send(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK) {
        fail();
        return;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(context_, &done) != REDIS_OK) {
            fail();
            return;
        }
    }
}

void node_bus::wait_readable() {
    socket_->async_wait(net::posix::stream_descriptor::wait_read,
                        [this, generation = generation_](const boost::system::error_code& ec) {
                            if (generation != generation_ || stopped_) return;
                            if (ec) {
                                fail();
                                return;
                            }
                            on_readable();
                        });
}

void node_bus::on_readable() {
    const std::uint64_t generation = generation_;
    if (redisBufferRead(context_) != REDIS_OK) {  // EOF or error: Redis went away
        fail();
        return;
    }
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
            fail();
            return;
        }
        if (!raw) break;
        auto* reply = static_cast<redisReply*>(raw);
        on_reply(reply);
        freeReplyObject(reply);
        if (generation != generation_) return;  // on_reply failed the connection
    }
    flush_();
    wait_readable();
}

void node_bus::on_reply(const redisReply* reply) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING) return;
    const std::string_view kind(reply->element[0]->str, reply->element[0]->len);
    const redisReply* channel = reply->element[1];
    if (channel->type != REDIS_REPLY_STRING) return;
    const std::string session = session_of_channel(std::string_view(channel->str, channel->len));
    if (session.empty()) return;
    if (kind == "message") {
        // "<serial>:<epoch>": the epoch lets a node notice a recreated session (flushed Redis)
        // even when the new serial is below what it already fanned out.
        const redisReply* payload = reply->element[2];
        std::uint64_t serial = 0, epoch = 0;
        if (payload->type == REDIS_REPLY_STRING) {
            const char* end = payload->str + payload->len;
            const auto parsed = std::from_chars(payload->str, end, serial);
            if (parsed.ptr != end && *parsed.ptr == ':') std::from_chars(parsed.ptr + 1, end, epoch);
        }
        core_.on_store_appended(session, serial, epoch);
    } else if (kind == "subscribe") {
        core_.on_store_appended(session, 0, 0);
    }
}

} // namespace holdfast::relay
#endif
