// One representative value per frame type, shared by the codec tests, the golden fixtures and the
// benchmarks. sample<T>() has no primary definition: a frame type added to proto::frame without a
// sample fails to compile in for_each_frame_type, so "every frame type" stays true.
#pragma once
#include "holdfast/frames.hpp"
#include "holdfast/json.hpp"

#include <boost/mp11/algorithm.hpp>

namespace holdfast::test {

inline proto::raw_value payload(std::string_view json_text) {
    return proto::raw_value{json::to_msgpack(json_text).value()};
}

template <class T> T sample();

template <> inline proto::hello sample() { return {proto::protocol_version, "tok-123", "client-a", "", std::nullopt, std::nullopt}; }
template <> inline proto::attach sample() { return {"chat-1", 41, 7}; }
template <> inline proto::detach sample() { return {"chat-1"}; }
template <> inline proto::publish sample() {
    return {"chat-1", "client-a", 3, "user.prompt", "p-1", payload(R"({"text":"hello \u00e9 \ud83d\ude00"})"), 1700000000123};
}
template <> inline proto::control sample() {
    return {"chat-1", "client-a", 4, "cancel", "reply-1", payload(R"({"reason":"user"})"), 1700000000123};
}
template <> inline proto::ping sample() { return {99}; }
template <> inline proto::welcome sample() { return {"conn-1", proto::protocol_version, {1u << 20, 256, std::nullopt}}; }
template <> inline proto::attached sample() { return {"chat-1", 7, 42}; }
template <> inline proto::event_batch sample() {
    return {"chat-1",
            {{41, 1700000000000, "agent-1", "message.delta", "reply-1", "demo-agent", payload(R"({"text":"Hel"})")},
             {42, 1700000000001, "agent-1", "message.end", "reply-1", "demo-agent", payload(R"({"status":"complete"})")}}};
}
template <> inline proto::ack sample() { return {"chat-1", "client-a", 3, 42}; }
template <> inline proto::error_frame sample() {
    return {10, "payload is not JSON", std::string("chat-1"), 5, std::string("client-a")};
}
template <> inline proto::pong sample() { return {99}; }

/// Calls fn(sample<T>()) for every alternative of proto::frame.
template <class Fn>
void for_each_frame_type(Fn&& fn) {
    boost::mp11::mp_for_each<boost::mp11::mp_iota_c<std::variant_size_v<proto::frame>>>([&](auto index) {
        using T = std::variant_alternative_t<decltype(index)::value, proto::frame>;
        fn(sample<T>());
    });
}

} // namespace holdfast::test
