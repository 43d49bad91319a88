// History: one session's durable local copy — an append-only segment log in a directory (IDBFS in
// the browser, a real directory natively). Layer: portable core.
//
// Files: `meta` (session, epoch, last use), raw segments `r<first serial>` of CRC-checked msgpack
// event records, appended until they pass segment_bytes and then sealed (never written again, so
// IDBFS's whole-file syncs stay cheap), and chunks `c<first serial>`: runs of sealed raw segments
// folded into one record per message (its state as of the chunk's last serial) plus the other
// events, under a header stating the serial range covered. Chunks and segments tile the serials
// from 1 with no hole. Open cuts a torn or corrupt tail at its first bad record and reports it.
#pragma once
#include "holdfast/conversation.hpp"
#include "holdfast/file_system.hpp"
#include "holdfast/frames.hpp"
#include "holdfast/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace holdfast::client {

struct history_config {
    std::size_t segment_bytes = 16 * 1024;
    std::size_t raw_segments_per_chunk = 4;
};

/// A message as stored in a chunk (conversation::message with its status as text).
struct stored_message {
    std::string id;
    std::string role;
    std::string agent;
    std::string text;
    std::string status;
    std::string reason;
    std::uint64_t first_serial = 0;
    std::uint64_t last_serial = 0;
};
BOOST_DESCRIBE_STRUCT(stored_message, (), (id, role, agent, text, status, reason, first_serial, last_serial))

/// One record of a segment or chunk: exactly one of the optional parts is set.
struct history_record {
    std::optional<proto::event> event;
    std::optional<stored_message> message;
    std::optional<std::uint64_t> chunk_first;  // chunk header: the serials it covers
    std::optional<std::uint64_t> chunk_last;
};
BOOST_DESCRIBE_STRUCT(history_record, (), (event, message, chunk_first, chunk_last))

struct history_meta {
    std::string session;
    std::uint64_t epoch = 0;
    std::uint64_t last_used_ms = 0;
};
BOOST_DESCRIBE_STRUCT(history_meta, (), (session, epoch, last_used_ms))

class history {
public:
    /// Opens the session's history in `dir` (created if absent) and loads it. Damage is cut off
    /// and listed in problems(); only a file system that refuses to work is an error.
    static result<std::unique_ptr<history>> open(file_system& fs, std::string dir, std::string session,
                                                 std::uint64_t now_ms, history_config config = {});

    std::uint64_t epoch() const noexcept { return meta_.epoch; }
    std::uint64_t last_serial() const noexcept { return last_serial_; }
    std::size_t bytes() const noexcept { return bytes_; }
    std::uint64_t last_used_ms() const noexcept { return meta_.last_used_ms; }
    /// What open had to cut (torn tails, corrupt segments), for the app's 'corrupt' event.
    const std::vector<std::string>& problems() const noexcept { return problems_; }

    /// Rebuilds the stored conversation into `view` (chunks' messages, then the raw tail).
    void restore_into(conversation& view) const;

    /// Appends the next event (serial must be last_serial() + 1; others are refused).
    result<ok_t> append(const proto::event& e);
    /// Appends consecutive events with one file write per segment they land in, not one per
    /// event: each write is an open/write/close through Emscripten's FS, which cost the browser
    /// ~6 us per event. On an error the events before the failing write may be stored.
    result<ok_t> append(std::span<const proto::event_view> events);
    result<ok_t> append(std::span<const proto::event> events);
    /// Adopts the relay's epoch for this log; a different one than held drops everything.
    result<ok_t> set_epoch(std::uint64_t epoch);
    /// Deletes every file of this session.
    result<ok_t> clear();

    /// Encodes one record as stored: u32 length, u32 CRC-32 of the body, msgpack body.
    static std::string frame_record(const history_record& record);
    /// Appends frame_record(history_record{to_event(e)}) to `out`.
    static void append_event_record(const proto::event_view& e, std::string& out);
    static void append_event_record(const proto::event& e, std::string& out) { append_event_record(proto::view_of(e), out); }

private:
    history(file_system& fs, std::string dir, history_config config) : fs_(fs), dir_(std::move(dir)), config_(config) {}
    result<ok_t> load();
    result<ok_t> write_meta();
    result<ok_t> drop_from(std::size_t file_index, std::string why);
    result<ok_t> compact();
    std::string path(char kind, std::uint64_t first) const;

    struct file_entry {
        char kind;            // 'r' raw segment, 'c' chunk
        std::uint64_t first;  // first serial covered
        std::uint64_t last = 0;
        std::size_t size = 0;
    };

    file_system& fs_;
    std::string dir_;
    history_config config_;
    history_meta meta_;
    std::vector<file_entry> files_;        // in serial order
    conversation folded_;                  // the state as of the last chunk's last serial
    std::vector<proto::event> raw_tail_;   // events after the last chunk, in order
    std::uint64_t last_serial_ = 0;
    std::size_t bytes_ = 0;
    std::vector<std::string> problems_;
};

} // namespace holdfast::client
