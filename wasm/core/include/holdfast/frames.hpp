// The Holdfast wire protocol: every frame as a plain aggregate described with Boost.Describe.
// Layer: portable core, shared by the WASM client and the native relay. The generic codec
// (codec.hpp) derives encoding, decoding and validation from these descriptions, so adding a field
// here is the whole change. On the wire each frame is a msgpack map whose first key is "type".
#pragma once
#include <boost/describe.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace holdfast::proto {

inline constexpr std::uint32_t protocol_version = 1;

/// One msgpack-encoded value carried opaquely (an event payload). The relay stores and forwards
/// it without looking inside; only the client's Conversation reads it. Empty bytes mean nil.
struct raw_value {
    std::string bytes;
    friend bool operator==(const raw_value&, const raw_value&) = default;
};

// ---- client -> relay -------------------------------------------------------------------------

struct hello {
    static constexpr std::string_view frame_type = "hello";
    std::uint32_t version = protocol_version;
    std::string token;
    std::string client_id;
    std::string agent;  // non-empty for agents: stamped on events this connection publishes
    /// The client takes bundles: WebSocket messages holding several frames (see codec.hpp).
    std::optional<bool> bundles;
    /// The client reads events frames in their packed form (codec.hpp, encode_packed).
    std::optional<bool> packed;
    /// The client reads an ack's `count`: one ack may answer a run of publishes.
    std::optional<bool> ack_ranges;
    friend bool operator==(const hello&, const hello&) = default;
};
BOOST_DESCRIBE_STRUCT(hello, (), (version, token, client_id, agent, bundles, packed, ack_ranges))

/// Follow a session: the relay replays every event with serial > from_serial, then goes live.
/// epoch is the incarnation the client holds (0: none); a different one makes the client reset.
struct attach {
    static constexpr std::string_view frame_type = "attach";
    std::string session;
    std::uint64_t from_serial = 0;
    std::uint64_t epoch = 0;
    friend bool operator==(const attach&, const attach&) = default;
};
BOOST_DESCRIBE_STRUCT(attach, (), (session, from_serial, epoch))

struct detach {
    static constexpr std::string_view frame_type = "detach";
    std::string session;
    friend bool operator==(const detach&, const detach&) = default;
};
BOOST_DESCRIBE_STRUCT(detach, (), (session))

/// Append one event. Idempotent, Kafka-style: a producer (producer_id) numbers its publishes per
/// session (producer_seq: 1, 2, 3...) within an incarnation (producer_epoch, which only grows).
/// A retry gets the serial already assigned; a lower epoch is fenced (a zombie); a skipped
/// sequence is reported as a gap.
struct publish {
    static constexpr std::string_view frame_type = "publish";
    std::string session;
    std::string producer_id;
    std::uint64_t producer_seq = 0;
    std::string kind;
    std::string msg_id;
    raw_value payload;
    std::uint64_t producer_epoch = 0;  // last so positional initialisers written before it still hold
    friend bool operator==(const publish&, const publish&) = default;
};
BOOST_DESCRIBE_STRUCT(publish, (), (session, producer_id, producer_seq, kind, msg_id, payload, producer_epoch))

/// A user's control (cancel, steer, interrupt) aimed at a run or message; appended to the log as
/// event kind "control.<action>" so every surface sees it. Sequenced like a publish (one
/// producer_seq series per producer and session covers both).
struct control {
    static constexpr std::string_view frame_type = "control";
    std::string session;
    std::string producer_id;
    std::uint64_t producer_seq = 0;
    std::string action;
    std::string target;
    raw_value payload;
    std::uint64_t producer_epoch = 0;
    friend bool operator==(const control&, const control&) = default;
};
BOOST_DESCRIBE_STRUCT(control, (), (session, producer_id, producer_seq, action, target, payload, producer_epoch))

struct ping {
    static constexpr std::string_view frame_type = "ping";
    std::uint64_t nonce = 0;
    friend bool operator==(const ping&, const ping&) = default;
};
BOOST_DESCRIBE_STRUCT(ping, (), (nonce))

// ---- relay -> client -------------------------------------------------------------------------

struct limits {
    std::uint32_t max_frame_bytes = 0;
    std::uint32_t max_batch_events = 0;
    /// Present when the relay takes bundles from this client: at most this many frames each.
    std::optional<std::uint32_t> max_bundle_frames;
    friend bool operator==(const limits&, const limits&) = default;
};
BOOST_DESCRIBE_STRUCT(limits, (), (max_frame_bytes, max_batch_events, max_bundle_frames))

struct welcome {
    static constexpr std::string_view frame_type = "welcome";
    std::string connection_id;
    std::uint32_t version = protocol_version;
    proto::limits limits;
    friend bool operator==(const welcome&, const welcome&) = default;
};
BOOST_DESCRIBE_STRUCT(welcome, (), (connection_id, version, limits))

/// Sent before the replay: head_serial is the newest serial at attach time, so the client knows
/// when it has caught up.
struct attached {
    static constexpr std::string_view frame_type = "attached";
    std::string session;
    std::uint64_t epoch = 0;
    std::uint64_t head_serial = 0;
    /// The oldest serial the relay still holds, when retention dropped older ones (absent: 1).
    /// A client holding less than first_serial - 1 has lost continuity: it resets.
    std::optional<std::uint64_t> first_serial = std::nullopt;
    friend bool operator==(const attached&, const attached&) = default;
};
BOOST_DESCRIBE_STRUCT(attached, (), (session, epoch, head_serial, first_serial))

struct event {
    std::uint64_t serial = 0;
    std::uint64_t ts = 0;  // relay's wall clock at append, ms since the Unix epoch
    std::string producer_id;
    std::string kind;
    std::string msg_id;
    std::string agent;
    raw_value payload;
    friend bool operator==(const event&, const event&) = default;
};
BOOST_DESCRIBE_STRUCT(event, (), (serial, ts, producer_id, kind, msg_id, agent, payload))

/// An event read in place (codec.hpp, decode_message_in_place): its strings and its payload's
/// msgpack bytes (empty: none) are views into the bytes it was read from, valid while they are.
/// The client's receive path takes events this way: an event's strings were five allocations
/// per event (libc++'s inline strings hold 10 characters in wasm32).
struct event_view {
    std::uint64_t serial = 0;
    std::uint64_t ts = 0;
    std::string_view producer_id;
    std::string_view kind;
    std::string_view msg_id;
    std::string_view agent;
    std::string_view payload;
};

inline event_view view_of(const event& e) noexcept {
    return {e.serial, e.ts, e.producer_id, e.kind, e.msg_id, e.agent, e.payload.bytes};
}

inline event to_event(const event_view& e) {
    return {e.serial, e.ts, std::string(e.producer_id), std::string(e.kind), std::string(e.msg_id), std::string(e.agent),
            raw_value{std::string(e.payload)}};
}

/// A batch of consecutive events of one session, in serial order (replay or live).
struct event_batch {
    static constexpr std::string_view frame_type = "events";
    std::string session;
    std::vector<event> events;
    friend bool operator==(const event_batch&, const event_batch&) = default;
};
BOOST_DESCRIBE_STRUCT(event_batch, (), (session, events))

struct ack {
    static constexpr std::string_view frame_type = "ack";
    std::string session;
    std::string producer_id;
    std::uint64_t producer_seq = 0;
    std::uint64_t serial = 0;
    /// Acks `count` publishes: producer_seq + i got serial + i (absent: 1). Only to a client whose
    /// hello had ack_ranges.
    std::optional<std::uint64_t> count;
    friend bool operator==(const ack&, const ack&) = default;
};
BOOST_DESCRIBE_STRUCT(ack, (), (session, producer_id, producer_seq, serial, count))

/// A typed failure. session/producer_id/producer_seq are set when the error answers a publish or
/// control, so exactly that request is rejected — also when the relay's answers reach several
/// producers (the tabs sharing one connection).
struct error_frame {
    static constexpr std::string_view frame_type = "error";
    std::uint32_t code = 0;
    std::string message;
    std::optional<std::string> session;
    std::optional<std::uint64_t> producer_seq;
    std::optional<std::string> producer_id;
    friend bool operator==(const error_frame&, const error_frame&) = default;
};
BOOST_DESCRIBE_STRUCT(error_frame, (), (code, message, session, producer_seq, producer_id))

struct pong {
    static constexpr std::string_view frame_type = "pong";
    std::uint64_t nonce = 0;
    friend bool operator==(const pong&, const pong&) = default;
};
BOOST_DESCRIBE_STRUCT(pong, (), (nonce))

/// Every frame type; the codec dispatches on each alternative's frame_type.
using frame = std::variant<hello, attach, detach, publish, control, ping,
                           welcome, attached, event_batch, ack, error_frame, pong>;

} // namespace holdfast::proto
