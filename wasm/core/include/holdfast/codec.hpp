// The generic msgpack codec: encodes and decodes every frame of frames.hpp from its Boost.Describe
// description, with strict validation. Layer: portable core. Decoding never throws: msgpack-c's
// exceptions are caught inside and become errc values carrying the offending field's name.
#pragma once
#include "holdfast/decode_limits.hpp"
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace holdfast::proto {

/// Encodes a frame as a msgpack map: "type" first, then the described members.
template <class Frame>
std::string encode(const Frame& f);
std::string encode(const frame& f);

/// Decodes exactly one frame occupying all of `bytes`.
result<frame> decode(std::string_view bytes, const decode_limits& limits = {});

/// One WebSocket message: a single frame (a msgpack map), or a bundle of frames (a msgpack array
/// of maps), sent only to a peer that said it takes them (hello.bundles, limits.max_bundle_frames).
/// Bundles cut the per-message cost (a syscall, a boundary crossing, an ack round) of pipelined
/// publishes and of fan-out. Each frame of a bundle decodes on its own: a bad one gives its error
/// in place and the others still count. The outer error is for the message as a whole.
result<std::vector<result<frame>>> decode_message(std::string_view bytes, const decode_limits& limits = {});

/// A packed events frame read in place: its session and events are views into the message.
struct event_batch_view {
    std::string_view session;
    std::vector<event_view> events;
};
using received_frame = std::variant<frame, event_batch_view>;
/// decode_message for a client: a packed events frame comes as views into `bytes` (valid while
/// they are), with no copy of its strings per event; every other frame as decode_message gives
/// it. The same checks and errors as decode_message, except that a frame only a client sends
/// (hello, attach, publish, …) is `protocol_violation` unread: the client ships no reader for them.
result<std::vector<result<received_frame>>> decode_message_in_place(std::string_view bytes, const decode_limits& limits = {});

/// The "type" of one frame occupying all of `bytes` (checked as decode checks a message), as a
/// view into `bytes`: for code that routes frames by type and reads few of them (a leading tab
/// forwarding its followers' frames reads only attach and ping, with decode_struct).
result<std::string_view> frame_type(std::string_view bytes, const decode_limits& limits = {});

/// Groups encoded frames into messages: runs of up to max_frames frames and max_bytes bytes
/// become one bundle; a run of one, or a frame larger than max_bytes, travels as it is.
struct bundle_limits {
    std::size_t max_frames = 256;
    std::size_t max_bytes = 256u << 10;
};
std::vector<std::string> bundle_frames(std::vector<std::string> frames, const bundle_limits& limits = {});
/// The bytes a bundle of `count` frames adds in front of them (the msgpack array header).
void append_bundle_header(std::size_t count, std::string& out);

/// The packed wire form of an `events` frame (frame type "packed"), sent only to a client whose
/// hello had `packed: true`. Serials are implied (the first one, then consecutive), each ts is a
/// difference from the one before, each producer id and agent travels once in a table, and an
/// event is an array of its remaining fields instead of a map of seven named ones: a bench event
/// takes ~45 bytes instead of ~134. A browser's WebSocket hands a replay to the page at a cost
/// that grows with its bytes (docs/benchmarks.md, "C"). decode() reads it back as an event_batch.
/// Events that are not consecutive (never sent by the relay) get the plain form.
std::string encode_packed(const event_batch& batch);
inline constexpr std::string_view packed_frame_type = "packed";

/// A publish or a control as views: what a client writes per event, with no copy of its strings
/// into a frame struct first.
struct write_view {
    bool control = false;
    std::string_view session, producer_id;
    std::uint64_t producer_seq = 0;
    std::string_view verb, target;  // kind and msg_id, or action and target
    std::string_view payload;       // msgpack; empty: nil
    std::uint64_t producer_epoch = 0;
};
/// The same bytes as encode(publish{...}) or encode(control{...}), written in one pass with the
/// constant keys copied whole: a client's publish is one of these per event (scenario B).
std::string encode_write(const write_view& f);

/// Name of the frame's type ("attach", "events", ...), for logs and metrics.
std::string_view type_name(const frame& f) noexcept;

/// Encodes a single event (no frame envelope), e.g. for storage.
std::string encode_event(const event& e);
result<event> decode_event(std::string_view bytes, const decode_limits& limits = {});

/// Any described struct as a msgpack map (no "type" key), e.g. history records.
template <class T>
std::string encode_struct(const T& value);
/// Decodes one described struct occupying all of `bytes`, with the same strictness as frames.
template <class T>
result<T> decode_struct(std::string_view bytes, const decode_limits& limits = {});

/// A debug rendering of a frame as JSON-like text (payloads rendered as JSON).
std::string describe(const frame& f);

} // namespace holdfast::proto

#include "holdfast/detail/codec_impl.hpp"
