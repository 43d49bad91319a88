// The session history's segment log: loading with damage control, appending, sealing, folding
// sealed segments into chunks, epochs. Layer: portable core.
#include "holdfast/history.hpp"

#include "holdfast/codec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <set>

namespace holdfast::client {
namespace {

constexpr std::size_t record_header_bytes = 8;
constexpr std::size_t max_record_bytes = 8u << 20;

std::uint32_t crc32(std::string_view bytes) {
    // CRC-32 (IEEE 802.3, reflected 0xEDB88320), four bytes per step ("slicing by 4"): every
    // event the page keeps goes through here, and a byte at a time was most of a record's cost.
    // Tables built once at run time: as a constant they would be 4 KiB of the page's download
    // (the volatile keeps the compiler from folding them into one).
    static const auto tables = [] {
        static volatile std::uint32_t polynomial = 0xEDB88320u;
        const std::uint32_t poly = polynomial;
        std::array<std::array<std::uint32_t, 256>, 4> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? poly ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i) {
            for (std::size_t k = 1; k < 4; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
        }
        return t;
    }();
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    std::uint32_t c = 0xFFFFFFFFu;
    for (; n >= 4; n -= 4, p += 4) {
        c ^= std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
        c = tables[3][c & 0xFF] ^ tables[2][(c >> 8) & 0xFF] ^ tables[1][(c >> 16) & 0xFF] ^ tables[0][c >> 24];
    }
    for (; n > 0; --n, ++p) c = tables[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

void put_u32_at(std::string& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// Appends one record to `out`: its header (body length, CRC) and the body `pack` writes, straight
/// into `out` (no body string of its own: this runs for every event the page keeps).
template <class Pack>
void append_framed(std::string& out, Pack&& pack) {
    const std::size_t start = out.size();
    out.append(record_header_bytes, '\0');
    proto::detail::string_writer writer{out};
    msgpack::packer<proto::detail::string_writer> packer(writer);
    pack(packer);
    const std::size_t body_size = out.size() - start - record_header_bytes;
    put_u32_at(out, start, static_cast<std::uint32_t>(body_size));
    put_u32_at(out, start + 4, crc32(std::string_view(out).substr(start + record_header_bytes, body_size)));
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
    return v;
}

struct parsed_file {
    std::vector<history_record> records;
    std::vector<std::size_t> ends;  // byte offset just past each record
    std::string problem;            // why parsing stopped early, if it did
};

parsed_file parse_records(std::string_view content) {
    parsed_file out;
    proto::decode_limits limits;
    limits.max_frame_bytes = max_record_bytes;
    limits.max_string_bytes = max_record_bytes;
    std::size_t offset = 0;
    while (offset < content.size()) {
        if (content.size() - offset < record_header_bytes) { out.problem = "torn record header"; break; }
        const std::uint32_t length = get_u32(content, offset);
        const std::uint32_t checksum = get_u32(content, offset + 4);
        if (length > max_record_bytes || length > content.size() - offset - record_header_bytes) {
            out.problem = "torn record";
            break;
        }
        const std::string_view body = content.substr(offset + record_header_bytes, length);
        if (crc32(body) != checksum) { out.problem = "checksum mismatch"; break; }
        auto record = proto::decode_struct<history_record>(body, limits);
        if (!record) { out.problem = "undecodable record: " + record.err().detail; break; }
        offset += record_header_bytes + length;
        out.records.push_back(std::move(record).value());
        out.ends.push_back(offset);
    }
    return out;
}

message to_message(const stored_message& s) {
    return message{s.id, s.role, s.agent, s.text, parse_message_status(s.status), s.reason, s.first_serial, s.last_serial};
}

stored_message to_stored(const message& m) {
    return stored_message{m.id, m.role, m.agent, m.text, std::string(to_string(m.status)), m.reason, m.first_serial, m.last_serial};
}

/// "r00000000000000000042" -> ('r', 42); anything else (meta, temporaries) -> nullopt.
std::optional<std::pair<char, std::uint64_t>> parse_name(const std::string& name) {
    if (name.size() != 21 || (name[0] != 'r' && name[0] != 'c')) return std::nullopt;
    std::uint64_t first = 0;
    const auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), first);
    if (ec != std::errc{} || end != name.data() + name.size() || first == 0) return std::nullopt;
    return std::make_pair(name[0], first);
}

} // namespace

std::string history::frame_record(const history_record& record) {
    std::string out;
    append_framed(out, [&](auto& packer) { packer.pack(record); });
    return out;
}

void history::append_event_record(const proto::event_view& e, std::string& out) {
    // The bytes of frame_record(history_record{to_event(e)}) (a map of one member, the event as
    // the codec writes a described struct), without copying e into one.
    append_framed(out, [&](auto& packer) {
        using proto::detail::pack_text;
        packer.pack_map(1);
        pack_text(packer, "event");
        packer.pack_map(7);
        pack_text(packer, "serial");
        packer.pack(e.serial);
        pack_text(packer, "ts");
        packer.pack(e.ts);
        pack_text(packer, "producer_id");
        pack_text(packer, e.producer_id);
        pack_text(packer, "kind");
        pack_text(packer, e.kind);
        pack_text(packer, "msg_id");
        pack_text(packer, e.msg_id);
        pack_text(packer, "agent");
        pack_text(packer, e.agent);
        pack_text(packer, "payload");
        if (e.payload.empty()) packer.pack_nil();
        else packer.pack_bin_body(e.payload.data(), static_cast<std::uint32_t>(e.payload.size()));
    });
}

std::string history::path(char kind, std::uint64_t first) const {
    // "<kind><first, 20 digits zero-padded>": names sort by serial. Not snprintf: in the browser it
    // would link printf's whole formatter for this one name.
    std::string name(21, '0');
    name[0] = kind;
    for (std::size_t i = name.size() - 1; first != 0; --i, first /= 10) name[i] = static_cast<char>('0' + first % 10);
    return dir_ + "/" + name;
}

result<std::unique_ptr<history>> history::open(file_system& fs, std::string dir, std::string session,
                                               std::uint64_t now_ms, history_config config) {
    std::unique_ptr<history> h(new history(fs, std::move(dir), config));
    h->meta_.session = std::move(session);
    if (auto made = fs.make_dirs(h->dir_); !made) return made.err();
    if (auto loaded = h->load(); !loaded) return loaded.err();
    h->meta_.last_used_ms = now_ms;
    if (auto written = h->write_meta(); !written) return written.err();
    return h;
}

result<ok_t> history::write_meta() { return fs_.write(dir_ + "/meta", proto::encode_struct(meta_)); }

result<ok_t> history::drop_from(std::size_t file_index, std::string why) {
    problems_.push_back(std::move(why));
    for (std::size_t i = file_index; i < files_.size(); ++i) {
        if (auto removed = fs_.remove(path(files_[i].kind, files_[i].first)); !removed) return removed;
    }
    files_.resize(file_index);
    return ok_t{};
}

result<ok_t> history::load() {
    auto names = fs_.list(dir_);
    if (!names) return names.err();
    bool has_meta = false;
    for (const auto& name : names.value()) {
        if (name == "meta") { has_meta = true; continue; }
        if (auto parsed = parse_name(name)) files_.push_back(file_entry{parsed->first, parsed->second});
        else if (auto removed = fs_.remove(dir_ + "/" + name); !removed) return removed;  // an interrupted write's temporary
    }
    if (has_meta) {
        auto content = fs_.read(dir_ + "/meta");
        auto meta = content ? proto::decode_struct<history_meta>(content.value()) : result<history_meta>(content.err());
        if (!meta || meta->session != meta_.session) {
            // Without a trustworthy epoch nothing here can be matched to the relay's log.
            return drop_from(0, "unreadable meta: local history dropped");
        }
        meta_.epoch = meta->epoch;
    } else if (!files_.empty()) {
        return drop_from(0, "segments without meta: local history dropped");
    }
    // Chunks sort before raw segments starting at the same serial: they replaced them. A strict
    // weak order (never "a before a"): std::sort's behaviour is undefined otherwise, and libc++
    // in the WASM build really did misplace files of large histories.
    std::sort(files_.begin(), files_.end(), [](const file_entry& a, const file_entry& b) {
        return a.first != b.first ? a.first < b.first : (a.kind == 'c' && b.kind != 'c');
    });

    std::uint64_t expected = 1;
    for (std::size_t i = 0; i < files_.size();) {
        file_entry& f = files_[i];
        const std::string file_path = path(f.kind, f.first);
        if (f.first < expected) {
            // Covered by an earlier chunk: a compaction stopped before deleting what it folded.
            if (auto removed = fs_.remove(file_path); !removed) return removed;
            files_.erase(files_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        if (f.first > expected) {
            if (auto dropped = drop_from(i, "hole before serial " + std::to_string(expected) + ": later history dropped"); !dropped) {
                return dropped;
            }
            break;  // what came before the hole stands: last_serial_ is set below
        }
        auto content = fs_.read(file_path);
        if (!content) return content.err();
        const parsed_file parsed = parse_records(content.value());

        if (f.kind == 'c') {
            const bool header_ok = !parsed.records.empty() && parsed.records[0].chunk_first == f.first &&
                                   parsed.records[0].chunk_last && *parsed.records[0].chunk_last >= f.first;
            if (!parsed.problem.empty() || !header_ok) {
                if (auto dropped = drop_from(i, "corrupt chunk at serial " + std::to_string(f.first) + ": history from there dropped");
                    !dropped) {
                    return dropped;
                }
                break;
            }
            for (const auto& e : raw_tail_) folded_.apply(e);
            raw_tail_.clear();
            for (std::size_t r = 1; r < parsed.records.size(); ++r) {
                if (parsed.records[r].message) folded_.restore(to_message(*parsed.records[r].message));
                else if (parsed.records[r].event) folded_.apply(*parsed.records[r].event);
            }
            f.last = *parsed.records[0].chunk_last;
            f.size = content->size();
        } else {
            std::size_t good_bytes = 0;
            std::string problem = parsed.problem;
            for (std::size_t r = 0; r < parsed.records.size(); ++r) {
                const auto& record = parsed.records[r];
                if (!record.event || record.event->serial != expected) {
                    problem = "record out of sequence";
                    break;
                }
                raw_tail_.push_back(*record.event);
                ++expected;
                good_bytes = parsed.ends[r];
            }
            f.last = expected - 1;
            f.size = good_bytes;
            if (!problem.empty()) {
                const bool is_tail = i + 1 == files_.size();
                problems_.push_back((is_tail ? "torn tail cut after serial " : "corrupt segment cut after serial ") +
                                    std::to_string(expected - 1) + " (" + problem + ")");
                if (good_bytes == 0) {
                    if (auto removed = drop_from(i, "empty segment removed"); !removed) return removed;
                    problems_.pop_back();
                    break;
                }
                if (auto cut = fs_.truncate(file_path, good_bytes); !cut) return cut;
                if (!is_tail) {
                    if (auto dropped = drop_from(i + 1, "history after the damage dropped"); !dropped) return dropped;
                    problems_.pop_back();
                }
            }
        }
        expected = f.last + 1;
        ++i;
    }
    last_serial_ = expected - 1;
    bytes_ = 0;
    for (const auto& f : files_) bytes_ += f.size;
    return ok_t{};
}

void history::restore_into(conversation& view) const {
    view = folded_;
    for (const auto& e : raw_tail_) view.apply(e);
}

result<ok_t> history::append(const proto::event& e) {
    const proto::event_view view = proto::view_of(e);
    return append(std::span<const proto::event_view>(&view, 1));
}

result<ok_t> history::append(std::span<const proto::event> events) {
    std::vector<proto::event_view> views;
    views.reserve(events.size());
    for (const proto::event& e : events) views.push_back(proto::view_of(e));
    return append(views);
}

result<ok_t> history::append(std::span<const proto::event_view> events) {
    std::string pending;  // records bound for the active raw segment, written together
    auto write_pending = [&]() -> result<ok_t> {
        if (pending.empty()) return ok_t{};
        const file_entry& active = files_.back();
        auto appended = fs_.append(path(active.kind, active.first), pending);
        pending.clear();
        return appended;
    };
    for (const proto::event_view& e : events) {
        if (e.serial != last_serial_ + 1) {
            if (auto written = write_pending(); !written) return written;
            return make_error(errc::protocol_violation,
                              "history expects serial " + std::to_string(last_serial_ + 1) + ", got " + std::to_string(e.serial));
        }
        if (files_.empty() || files_.back().kind == 'c' || files_.back().size >= config_.segment_bytes) {
            if (auto written = write_pending(); !written) return written;
            files_.push_back(file_entry{'r', e.serial});
        }
        file_entry& active = files_.back();
        const std::size_t before = pending.size();
        append_event_record(e, pending);
        const std::size_t record_size = pending.size() - before;
        active.size += record_size;
        active.last = e.serial;
        bytes_ += record_size;
        last_serial_ = e.serial;
        raw_tail_.push_back(proto::to_event(e));

        if (active.size >= config_.segment_bytes) {
            const auto sealed = static_cast<std::size_t>(std::count_if(files_.begin(), files_.end(), [](const file_entry& f) { return f.kind == 'r'; }));
            if (sealed >= config_.raw_segments_per_chunk) {
                if (auto written = write_pending(); !written) return written;
                // The events are safe in the raw segments either way; a failed fold only costs space.
                if (auto folded = compact(); !folded) problems_.push_back("compaction failed: " + folded.err().detail);
            }
        }
    }
    return write_pending();
}

result<ok_t> history::compact() {
    const auto first_raw = std::find_if(files_.begin(), files_.end(), [](const file_entry& f) { return f.kind == 'r'; });
    if (first_raw == files_.end() || raw_tail_.empty()) return ok_t{};
    const std::uint64_t first = first_raw->first;
    const std::uint64_t last = files_.back().last;

    std::set<std::size_t> touched;
    std::vector<const proto::event*> others;
    for (const auto& e : raw_tail_) {
        const std::size_t index = folded_.apply(e);
        if (index != conversation::npos) touched.insert(index);
        else others.push_back(&e);
    }
    std::string chunk = frame_record(history_record{std::nullopt, std::nullopt, first, last});
    for (std::size_t index : touched) {
        chunk += frame_record(history_record{std::nullopt, to_stored(folded_.messages()[index]), std::nullopt, std::nullopt});
    }
    for (const proto::event* e : others) append_event_record(proto::view_of(*e), chunk);

    // Written whole and renamed into place before the raw segments go: a crash in between
    // leaves raw segments the chunk covers, which load() removes.
    if (auto written = fs_.write(path('c', first), chunk); !written) return written;
    for (auto it = first_raw; it != files_.end(); ++it) {
        if (auto removed = fs_.remove(path(it->kind, it->first)); !removed) return removed;
    }
    files_.erase(first_raw, files_.end());
    files_.push_back(file_entry{'c', first, last, chunk.size()});
    raw_tail_.clear();
    bytes_ = 0;
    for (const auto& f : files_) bytes_ += f.size;
    return ok_t{};
}

result<ok_t> history::set_epoch(std::uint64_t epoch) {
    if (epoch == meta_.epoch) return ok_t{};
    if (meta_.epoch != 0) {
        for (const auto& f : files_) {
            if (auto removed = fs_.remove(path(f.kind, f.first)); !removed) return removed;
        }
        files_.clear();
        folded_.clear();
        raw_tail_.clear();
        last_serial_ = 0;
        bytes_ = 0;
    }
    meta_.epoch = epoch;
    return write_meta();
}

result<ok_t> history::clear() {
    files_.clear();
    folded_.clear();
    raw_tail_.clear();
    last_serial_ = 0;
    bytes_ = 0;
    meta_.epoch = 0;
    return fs_.remove(dir_);
}

} // namespace holdfast::client
