// Frame decoding and the non-template parts of the codec. Layer: portable core.
// Frames are read in place from the msgpack bytes (msgpack_reader); its errors stop here as errc values.
#include "holdfast/codec.hpp"
#include "holdfast/detail/msgpack_prescan.hpp"
#include "holdfast/json.hpp"

#include <boost/mp11/algorithm.hpp>

#include <array>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

namespace holdfast::proto {

using detail::field_error;
using detail::msgpack_kind;
using detail::msgpack_reader;

// Keys as constants, measured at compile time: a string_view made from a literal where it is
// compared is a call to its constructor and to strlen in the size-optimized browser build.
constexpr std::string_view type_key = "type", session_key = "session", serial_key = "serial",
                           producers_key = "producers", events_key = "events";

std::optional<error> detail::check_message(std::string_view bytes, const decode_limits& limits) {
    if (bytes.size() > limits.max_frame_bytes) {
        return make_error(errc::frame_too_large, std::to_string(bytes.size()) + " bytes exceeds " +
                                                     std::to_string(limits.max_frame_bytes));
    }
    if (bytes.empty()) return make_error(errc::malformed_frame, "empty frame");
    if (auto failure = prescan_msgpack(bytes, limits)) return make_error(failure->code, std::move(failure->detail));
    return std::nullopt;
}

namespace {

/// The frame's "type": the first key as our encoder writes it, else found by skipping the others.
std::string_view frame_type_of(msgpack_reader in) {
    if (in.peek() != msgpack_kind::map) throw field_error{errc::malformed_frame, "a frame must be a map"};
    if (!in.seek_key(type_key)) throw field_error{errc::missing_field, "type"};
    if (in.peek() != msgpack_kind::str) throw field_error{errc::wrong_type, "type"};
    return in.string();
}

/// A field_error without a field name gets `name` (reads of the packed form's positional items).
template <class Read>
auto named(const char* name, Read&& read) {
    try {
        return read();
    } catch (field_error& e) {
        if (e.field.empty()) e.field = name;
        throw;
    }
}

/// The producer table of a packed frame: (producer id, agent) views into its bytes. A live frame
/// has one entry: kept inline, no allocation per frame (a tenth of a live event's decoding).
class producer_views {
public:
    using entry = std::pair<std::string_view, std::string_view>;
    void resize(std::size_t count) {
        size_ = count;
        if (count > few_.size()) many_.resize(count);
    }
    std::size_t size() const noexcept { return size_; }
    entry& operator[](std::size_t i) noexcept { return size_ > few_.size() ? many_[i] : few_[i]; }
    const entry& operator[](std::size_t i) const noexcept { return size_ > few_.size() ? many_[i] : few_[i]; }

private:
    std::array<entry, 2> few_{};
    std::vector<entry> many_;
    std::size_t size_ = 0;
};

/// The events of a packed frame (its "events" array, at the cursor), with the producer table, as
/// views into the frame. A table lets a small frame name one producer thousands of times, and
/// whoever keeps the events (the owning decode, the client's history) copies the producer's id
/// and agent once per event: those copies are bounded by the frame size limit, as a plain frame's
/// strings are, so a hostile frame cannot make a reader allocate gigabytes.
void read_packed_events(msgpack_reader& in, const producer_views& producers, std::uint64_t first_serial,
                        std::vector<event_view>& events, const decode_limits& limits) {
    const std::uint32_t count = named("events", [&] { return in.array_header(); });
    if (count > 0 && first_serial > std::numeric_limits<std::uint64_t>::max() - (count - 1)) {
        throw field_error{errc::malformed_frame, "serial"};
    }
    events.resize(count);
    std::int64_t ts = 0;
    std::size_t copied = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        event_view& e = events[i];
        if (in.peek() != msgpack_kind::array) throw field_error{errc::wrong_type, "events"};
        const std::uint32_t items = in.array_header();
        if (items < 5) throw field_error{errc::missing_field, "events.payload"};
        const std::int64_t delta = named("events.ts", [&] { return in.signed_integer(); });
        // ts >= 0 here, so ts + delta cannot overflow below; above, it is checked before adding.
        if (delta < 0 ? ts + delta < 0 : ts > std::numeric_limits<std::int64_t>::max() - delta) {
            throw field_error{errc::malformed_frame, "events.ts"};
        }
        ts += delta;
        std::uint64_t producer = 0;
        detail::read_field(in, producer, "events.producer");
        if (producer >= producers.size()) throw field_error{errc::malformed_frame, "events.producer"};
        std::tie(e.producer_id, e.agent) = producers[producer];
        copied += e.producer_id.size() + e.agent.size();
        if (copied > limits.max_frame_bytes) {
            throw field_error{errc::limit_exceeded, "producers: their copies exceed the frame size limit"};
        }
        e.serial = first_serial + i;
        e.ts = static_cast<std::uint64_t>(ts);
        e.kind = named("events.kind", [&] { return in.string(); });
        e.msg_id = named("events.msg_id", [&] { return in.string(); });
        e.payload = named("events.payload", [&] {
            if (in.nil()) return std::string_view();
            const std::size_t from = in.offset();
            in.skip();
            return in.span_from(from);
        });
        for (std::uint32_t extra = 5; extra < items; ++extra) in.skip();  // fields added later
    }
}

/// A packed frame (see encode_packed): its map's keys in any order, unknown ones skipped; its
/// session and events are views into the frame's bytes.
event_batch_view read_packed_in_place(msgpack_reader& in, const decode_limits& limits) {
    event_batch_view batch;
    std::optional<std::uint64_t> first_serial;
    std::optional<std::size_t> events_at;
    producer_views producers;
    bool has_session = false, has_producers = false, events_read = false;
    const std::uint32_t entries = in.map_header();
    for (std::uint32_t e = 0; e < entries; ++e) {
        std::string_view key;
        if (!in.string_key(key)) continue;
        if (holdfast::detail::same_text(key, session_key) && !has_session) {
            batch.session = named("session", [&] { return in.string(); });
            has_session = true;
        } else if (holdfast::detail::same_text(key, serial_key) && !first_serial) {
            std::uint64_t serial = 0;
            detail::read_field(in, serial, "serial");
            first_serial = serial;
        } else if (holdfast::detail::same_text(key, producers_key) && !has_producers) {
            const std::uint32_t count = named("producers", [&] { return in.array_header(); });
            producers.resize(count);
            for (std::size_t p = 0; p < count; ++p) {
                auto& [id, agent] = producers[p];
                if (in.peek() != msgpack_kind::array) throw field_error{errc::wrong_type, "producers"};
                const std::uint32_t items = in.array_header();
                if (items < 2) throw field_error{errc::missing_field, "producers.agent"};
                id = named("producers.producer_id", [&] { return in.string(); });
                agent = named("producers.agent", [&] { return in.string(); });
                for (std::uint32_t extra = 2; extra < items; ++extra) in.skip();
            }
            has_producers = true;
        } else if (holdfast::detail::same_text(key, events_key) && !events_at) {
            events_at = in.offset();
            if (has_producers && first_serial) {
                // Our encoder's order (serial and producers first): the events are read where
                // they are, instead of skipped over once and then read.
                read_packed_events(in, producers, *first_serial, batch.events, limits);
                events_read = true;
            } else {
                in.skip();  // read once the producer table is known, wherever it comes
            }
        } else {
            in.skip();
        }
    }
    if (!has_session) throw field_error{errc::missing_field, "session"};
    if (!first_serial) throw field_error{errc::missing_field, "serial"};
    if (!has_producers) throw field_error{errc::missing_field, "producers"};
    if (!events_at) throw field_error{errc::missing_field, "events"};
    if (!events_read) {
        const std::size_t end = in.offset();
        in.seek(*events_at);
        read_packed_events(in, producers, *first_serial, batch.events, limits);
        in.seek(end);
    }
    return batch;
}

/// A packed frame as events owning their strings (read_packed_events bounds their copies).
event_batch read_packed(msgpack_reader& in, const decode_limits& limits) {
    const event_batch_view viewed = read_packed_in_place(in, limits);
    event_batch batch{std::string(viewed.session), {}};
    batch.events.reserve(viewed.events.size());
    for (const event_view& e : viewed.events) batch.events.push_back(to_event(e));
    return batch;
}

/// The frame at the cursor read into whichever of `Alternatives` its "type" (`name`) names;
/// nothing when none does. Only the listed frame types get a reader in the build.
template <class... Alternatives>
std::optional<frame> read_one_of(boost::mp11::mp_list<Alternatives...>, msgpack_reader& in, std::string_view name) {
    std::optional<frame> decoded;
    boost::mp11::mp_for_each<boost::mp11::mp_list<boost::mp11::mp_identity<Alternatives>...>>([&](auto id) {
        using alternative = typename decltype(id)::type;
        if (decoded || alternative::frame_type != name) return;
        alternative value{};
        detail::read_struct(in, value);
        decoded.emplace(std::move(value));
    });
    return decoded;
}

/// One frame (a map) at the cursor, read into the alternative its "type" (`name`) names.
frame read_frame(msgpack_reader& in, std::string_view name, const decode_limits& limits) {
    if (name == packed_frame_type) return read_packed(in, limits);
    auto decoded = read_one_of(boost::mp11::mp_rename<frame, boost::mp11::mp_list>{}, in, name);
    if (!decoded) throw field_error{errc::unknown_frame_type, std::string(name)};
    return std::move(*decoded);
}

} // namespace

result<frame> decode(std::string_view bytes, const decode_limits& limits) {
    return detail::read_whole<frame>(bytes, limits, [&limits](msgpack_reader& in) { return read_frame(in, frame_type_of(in), limits); });
}

namespace {

/// One WebSocket message (a frame or a bundle), each frame read by `read_frame_at(in)`.
template <class Frame, class ReadFrame>
result<std::vector<result<Frame>>> read_message(std::string_view bytes, const decode_limits& limits, ReadFrame&& read_frame_at) {
    if (auto failure = detail::check_message(bytes, limits)) return std::move(*failure);
    std::vector<result<Frame>> frames;
    msgpack_reader in(bytes);
    // The prescan checked the structure, so reading one frame can fail only on its contents: its
    // error takes its place and the cursor moves past it to the next frame.
    auto read_one = [&] {
        const std::size_t start = in.offset();
        try {
            frames.push_back(read_frame_at(in));
        } catch (const field_error& e) {
            frames.push_back(make_error(e.code, e.field));
            in.seek(start);
            in.skip();
        }
    };
    try {
        if (in.peek() != msgpack_kind::array) {
            read_one();
            return frames;
        }
        const std::uint32_t count = in.array_header();
        if (count == 0) return make_error(errc::malformed_frame, "an empty bundle");
        frames.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) read_one();
    } catch (const field_error& e) {
        return make_error(e.code, e.field);  // only a structure the prescan let through
    }
    return frames;
}

} // namespace

result<std::vector<result<frame>>> decode_message(std::string_view bytes, const decode_limits& limits) {
    return read_message<frame>(bytes, limits, [&limits](msgpack_reader& in) { return read_frame(in, frame_type_of(in), limits); });
}

namespace {

/// read_frame for a client: only the frames a relay sends are read (the client's build then holds
/// no reader for the others: 2 kB of its code).
received_frame read_relay_frame(msgpack_reader& in, std::string_view name, const decode_limits& limits) {
    using namespace boost::mp11;
    if (name == packed_frame_type) return read_packed_in_place(in, limits);
    if (auto decoded = read_one_of(mp_list<welcome, attached, event_batch, ack, error_frame, pong>{}, in, name)) {
        return std::move(*decoded);
    }
    bool client_frame = false;
    mp_for_each<mp_transform<mp_identity, mp_list<hello, attach, detach, publish, control, ping>>>(
        [&](auto id) { client_frame = client_frame || decltype(id)::type::frame_type == name; });
    if (client_frame) throw field_error{errc::protocol_violation, "unexpected frame from relay: " + std::string(name)};
    throw field_error{errc::unknown_frame_type, std::string(name)};
}

} // namespace

result<std::vector<result<received_frame>>> decode_message_in_place(std::string_view bytes, const decode_limits& limits) {
    return read_message<received_frame>(bytes, limits,
                                        [&limits](msgpack_reader& in) { return read_relay_frame(in, frame_type_of(in), limits); });
}

result<std::string_view> frame_type(std::string_view bytes, const decode_limits& limits) {
    if (auto failure = detail::check_message(bytes, limits)) return std::move(*failure);
    try {
        return frame_type_of(msgpack_reader(bytes));
    } catch (const field_error& e) {
        return make_error(e.code, e.field);
    }
}

void append_bundle_header(std::size_t count, std::string& out) {
    if (count < 16) {
        out += static_cast<char>(0x90 | count);
    } else if (count <= 0xffff) {
        out += static_cast<char>(0xdc);
        out += static_cast<char>(count >> 8);
        out += static_cast<char>(count & 0xff);
    } else {
        out += static_cast<char>(0xdd);
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((count >> shift) & 0xff);
    }
}

std::vector<std::string> bundle_frames(std::vector<std::string> frames, const bundle_limits& limits) {
    if (frames.size() < 2) return frames;
    std::vector<std::string> messages;
    std::size_t i = 0;
    while (i < frames.size()) {
        // The run [i, end): as many frames as fit both limits (at least one).
        std::size_t end = i, bytes = 0;
        while (end < frames.size() && end - i < limits.max_frames &&
               (end == i || bytes + frames[end].size() <= limits.max_bytes)) {
            bytes += frames[end].size();
            ++end;
        }
        if (end - i == 1) {
            messages.push_back(std::move(frames[i]));
        } else {
            std::string message;
            message.reserve(bytes + 5);
            append_bundle_header(end - i, message);
            for (std::size_t k = i; k < end; ++k) message += frames[k];
            messages.push_back(std::move(message));
        }
        i = end;
    }
    return messages;
}

std::string encode_packed(const event_batch& batch) {
    const auto& events = batch.events;
    constexpr auto max_ts = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (std::size_t i = 0; i < events.size(); ++i) {
        if ((i > 0 && events[i].serial != events[i - 1].serial + 1) || events[i].ts > max_ts) return encode(batch);
    }
    // The producer table: each (producer id, agent) once, in order of first use.
    std::vector<std::pair<const std::string*, const std::string*>> producers;
    std::vector<std::uint32_t> producer_of(events.size());
    std::size_t bytes = 64 + batch.session.size();
    for (std::size_t i = 0; i < events.size(); ++i) {
        const event& e = events[i];
        std::uint32_t index = 0;
        const auto same = [&](std::size_t p) { return *producers[p].first == e.producer_id && *producers[p].second == e.agent; };
        if (i > 0 && same(producer_of[i - 1])) {
            index = producer_of[i - 1];
        } else {
            while (index < producers.size() && !same(index)) ++index;
            if (index == producers.size()) {
                producers.emplace_back(&e.producer_id, &e.agent);
                bytes += 16 + e.producer_id.size() + e.agent.size();
            }
        }
        producer_of[i] = index;
        bytes += 24 + e.kind.size() + e.msg_id.size() + e.payload.bytes.size();
    }
    std::string out;
    out.reserve(bytes);
    detail::string_writer writer{out};
    msgpack::packer<detail::string_writer> packer(writer);
    const auto text = [&](std::string_view value) { detail::pack_text(packer, value); };
    packer.pack_map(5);
    text("type");
    text(packed_frame_type);
    text("session");
    text(batch.session);
    text("serial");
    packer.pack_uint64(events.empty() ? 0 : events.front().serial);
    text("producers");
    packer.pack_array(static_cast<std::uint32_t>(producers.size()));
    for (const auto& [id, agent] : producers) {
        packer.pack_array(2);
        text(*id);
        text(*agent);
    }
    text("events");
    packer.pack_array(static_cast<std::uint32_t>(events.size()));
    std::uint64_t previous_ts = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const event& e = events[i];
        packer.pack_array(5);
        if (e.ts >= previous_ts) packer.pack_uint64(e.ts - previous_ts);
        else packer.pack_int64(-static_cast<std::int64_t>(previous_ts - e.ts));
        previous_ts = e.ts;
        packer.pack_uint32(producer_of[i]);
        text(e.kind);
        text(e.msg_id);
        packer.pack(e.payload);
    }
    return out;
}

std::string encode_write(const write_view& f) {
    std::string out;
    out.reserve(112 + f.session.size() + f.producer_id.size() + f.verb.size() + f.target.size() + f.payload.size());
    detail::string_writer writer{out};
    msgpack::packer<detail::string_writer> packer(writer);
    const auto text = [&](std::string_view value) { detail::pack_text(packer, value); };
    // Keys as their msgpack bytes (fixstr header + name); the two frames differ in three.
    constexpr std::string_view publish_head = "\x88\xa4" "type" "\xa7" "publish" "\xa7" "session";
    constexpr std::string_view control_head = "\x88\xa4" "type" "\xa7" "control" "\xa7" "session";
    out.append(f.control ? control_head : publish_head);
    text(f.session);
    out.append("\xab" "producer_id");
    text(f.producer_id);
    out.append("\xac" "producer_seq");
    packer.pack_uint64(f.producer_seq);
    out.append(f.control ? std::string_view("\xa6" "action") : std::string_view("\xa4" "kind"));
    text(f.verb);
    out.append(f.control ? std::string_view("\xa6" "target") : std::string_view("\xa6" "msg_id"));
    text(f.target);
    out.append("\xa7" "payload");
    if (f.payload.empty()) packer.pack_nil();
    else out.append(f.payload);
    out.append("\xae" "producer_epoch");
    packer.pack_uint64(f.producer_epoch);
    return out;
}

std::string encode(const frame& f) {
    return std::visit([](const auto& alternative) { return encode(alternative); }, f);
}

std::string_view type_name(const frame& f) noexcept {
    return std::visit([](const auto& alternative) { return std::remove_cvref_t<decltype(alternative)>::frame_type; }, f);
}

std::string encode_event(const event& e) { return encode_struct(e); }

result<event> decode_event(std::string_view bytes, const decode_limits& limits) {
    return decode_struct<event>(bytes, limits);
}

std::string describe(const frame& f) {
    auto text = json::from_msgpack(encode(f));
    return text ? std::move(text).value() : std::string("<unprintable frame>");
}

} // namespace holdfast::proto
