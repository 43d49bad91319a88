// The node bus: how a relay node sharing a Redis store with other nodes learns that a session it
// serves got events from elsewhere. Layer: relay network shell (Asio). One pub/sub connection per
// node, one SUBSCRIBE per locally followed session (not per client): the append script PUBLISHes
// each new serial on the session's channel, and a notification makes the core read the store
// after its cached head and fan the events out (relay_core::on_store_appended). The store, not the
// message, is the truth: a subscription confirmed, or a connection re-opened after Redis came
// back, makes the core look at the store too, so notifications lost meanwhile cost nothing.
// The hiredis context is a plain blocking one whose socket Asio watches for readability: reads
// then never block, the rare SUBSCRIBE writes are small, and everything stays on the relay's one
// thread (no locks, no second thread touching the core).
#pragma once
#include "beast_fwd.hpp"
#include "holdfast/relay/redis_store.hpp"
#include "holdfast/relay/relay_core.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace holdfast::relay {

class node_bus {
public:
    /// `flush` performs the core's outputs after a notification was handled.
    node_bus(net::io_context& ioc, redis_address address, relay_core& core, std::function<void()> flush);
    ~node_bus();

    /// Connects (retrying every reconnect_interval while Redis is down) and follows the core's
    /// live sessions from then on.
    void start();
    void stop();

    void follow(const std::string& session);
    void unfollow(const std::string& session);
    bool connected() const noexcept { return context_ != nullptr; }

private:
    void connect();
    void disconnect();
    /// Drops the connection and retries later; the relay is unhealthy meanwhile.
    void fail();
    void send(const std::vector<std::string>& args);
    void wait_readable();
    void on_readable();
    void on_reply(const redisReply* reply);

    net::io_context& ioc_;
    redis_address address_;
    relay_core& core_;
    std::function<void()> flush_;
    redisContext* context_ = nullptr;
    std::optional<net::posix::stream_descriptor> socket_;
    net::steady_timer retry_;
    std::set<std::string> followed_;
    std::uint64_t generation_ = 0;  // bumped per connection: stale handlers of an old one do nothing
    bool stopped_ = false;
};

} // namespace holdfast::relay
