// JSON <-> msgpack conversion for payloads. Layer: portable core.
// A recursive-descent parser bounded by depth and size; it writes msgpack directly, buffering
// only each container's children so their count can precede them.
#include "holdfast/json.hpp"

#include "holdfast/detail/codec_impl.hpp"
#include "holdfast/detail/number_text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

namespace holdfast::json {
namespace {

using writer_t = proto::detail::string_writer;

/// The powers of ten a double holds exactly: one correctly rounded multiplication or division by
/// them is the whole of Clinger's fast path, both ways (text -> double and double -> text).
constexpr double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr double two_to_53 = 9007199254740992.0;

/// The shortest decimal that reads back as `value`, written as JS's Number toString does (fixed
/// notation from 1e-6 up), for the doubles whose shortest form has at most 17 fraction digits and
/// fewer than 16 significant ones: timestamps such as 12345.678, prices, ratios. It finds the
/// fewest fraction digits k for which some integer m reads back, m / 10^k being one correctly
/// rounded division (m < 2^53, 10^k exact). While a double's spacing is below 10^-k at most one
/// such m exists per k and it is within one of value * 10^k, so checking three candidates per k
/// is the whole search. Returns false (nothing written) for the rest, which go to the slower
/// general formatter: in the browser that is a call out to JS per number, ten times this.
bool append_short_decimal(double value, std::string& out) {
    const double magnitude = std::fabs(value);
    if (!(magnitude >= 1e-6) || magnitude >= two_to_53) return false;
    const double spacing = std::nextafter(magnitude, two_to_53) - magnitude;
    for (int k = 1; k <= 17; ++k) {
        const double scale = exact_powers_of_ten[k];
        if (spacing * scale >= 1.0) return false;  // several k-digit decimals could read back
        const double product = magnitude * scale;
        const double scaled = std::nearbyint(product);
        if (scaled + 1.0 >= two_to_53) return false;
        // An m that reads back is within scale * spacing / 2 of the exact product, and the product
        // within product * 2^-53 of `product`, so `scaled`, the integer nearest it, is as close:
        // further off (with a factor of two to spare) no k-digit decimal reads back. Most k are
        // ruled out here, without the three divisions (a loop that V8's baseline tier, which a
        // page's first catch-up runs in, executes as written).
        if (std::fabs(product - scaled) > scale * spacing + product * 0x1p-52) continue;
        double found = -1.0;
        for (const double m : {scaled, scaled - 1.0, scaled + 1.0}) {  // at most one reads back
            if (m >= 0.0 && m / scale == magnitude) {
                found = m;
                break;
            }
        }
        if (found < 0.0) continue;
        const auto digits = static_cast<std::uint64_t>(found);
        if (digits % 10 == 0) return false;  // a shorter form exists that the search missed
        // The digits with a point k from the right, zero-padded in front ("0.05" for 5 and k = 2).
        char text[48];
        char* first = text + 24;
        char* last = std::to_chars(first, text + sizeof text, digits).ptr;
        while (last - first <= k) *--first = '0';
        // The k fraction digits move one place right for the point (no call to memmove).
        for (char* p = last; p != last - k; --p) *p = p[-1];
        *(last - k) = '.';
        ++last;
        if (value < 0) *--first = '-';
        out.append(first, static_cast<std::size_t>(last - first));
        return true;
    }
    return false;
}

class parser {
public:
    parser(std::string_view text, const parse_limits& limits) : text_(text), limits_(limits) {}

    result<std::string> run() {
        std::string out;
        if (!value(out, 0)) return make_error(error_code_, error_ + " at offset " + std::to_string(pos_));
        skip_space();
        if (pos_ != text_.size()) return make_error(errc::invalid_payload, "trailing characters at offset " + std::to_string(pos_));
        return out;
    }

private:
    bool fail(std::string what, errc code = errc::invalid_payload) {
        if (error_.empty()) { error_ = std::move(what); error_code_ = code; }
        return false;
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
        pos_ += word.size();
        return true;
    }

    bool value(std::string& out, std::size_t depth) {
        if (depth > limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth), errc::limit_exceeded);
        skip_space();
        if (pos_ >= text_.size()) return fail("unexpected end of JSON");
        writer_t writer{out};
        msgpack::packer<writer_t> pack(writer);
        switch (text_[pos_]) {
        case 'n': if (!literal("null")) return false; pack.pack_nil(); return true;
        case 't': if (!literal("true")) return false; pack.pack_true(); return true;
        case 'f': if (!literal("false")) return false; pack.pack_false(); return true;
        case '"': return packed_string(out);
        case '[': return array(out, depth);
        case '{': return object(out, depth);
        default: return number(pack);
        }
    }

    // Containers and strings are written in place: a one-byte header is reserved and, once the
    // count or length is known, set (fix forms) or widened (the larger forms insert their extra
    // bytes). Buffering each container's children in a string of its own, as before, was an
    // allocation or two per object in every publish.
    enum class header_kind { str, array, map };
    static std::size_t reserve_header(std::string& out) {
        out.push_back('\0');
        return out.size() - 1;
    }
    static void finish_header(std::string& out, std::size_t at, header_kind kind, std::uint32_t n) {
        // msgpack-c's packer writes the header (at most 5 bytes), so the forms are the ones it
        // always picked.
        header_bytes head;
        msgpack::packer<header_bytes> pack(head);
        if (kind == header_kind::str) pack.pack_str(n);
        else if (kind == header_kind::array) pack.pack_array(n);
        else pack.pack_map(n);
        out[at] = head.bytes[0];
        if (head.size > 1) out.insert(at + 1, head.bytes + 1, head.size - 1);
    }
    /// A container's header, once it is known to be within the limits.
    bool finish_container(std::string& out, std::size_t at, header_kind kind, std::uint32_t n) {
        if (n > (kind == header_kind::map ? limits_.max_map_entries : limits_.max_array_items)) {
            return fail(kind == header_kind::map ? "map of too many entries" : "array of too many items", errc::limit_exceeded);
        }
        finish_header(out, at, kind, n);
        return true;
    }
    /// A packer's stream for one header, on the stack.
    struct header_bytes {
        char bytes[5];
        std::size_t size = 0;
        void write(const char* data, std::size_t length) {
            std::memcpy(bytes + size, data, length);
            size += length;
        }
    };

    /// A string literal (values and keys alike) as a msgpack str, its header set once its length is known.
    bool packed_string(std::string& out) {
        const std::size_t header = reserve_header(out);
        if (!string_literal(out)) return false;
        finish_header(out, header, header_kind::str, static_cast<std::uint32_t>(out.size() - header - 1));
        return true;
    }

    bool array(std::string& out, std::size_t depth) {
        ++pos_;
        const std::size_t header = reserve_header(out);
        std::uint32_t count = 0;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') { ++pos_; }
        else {
            for (;;) {
                if (!value(out, depth + 1)) return false;
                ++count;
                skip_space();
                if (pos_ >= text_.size()) return fail("unterminated array");
                if (text_[pos_] == ',') { ++pos_; continue; }
                if (text_[pos_] == ']') { ++pos_; break; }
                return fail("expected ',' or ']'");
            }
        }
        return finish_container(out, header, header_kind::array, count);
    }

    bool object(std::string& out, std::size_t depth) {
        ++pos_;
        const std::size_t header = reserve_header(out);
        std::uint32_t count = 0;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') { ++pos_; }
        else {
            for (;;) {
                skip_space();
                if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key");
                if (!packed_string(out)) return false;
                skip_space();
                if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
                ++pos_;
                if (!value(out, depth + 1)) return false;
                ++count;
                skip_space();
                if (pos_ >= text_.size()) return fail("unterminated object");
                if (text_[pos_] == ',') { ++pos_; continue; }
                if (text_[pos_] == '}') { ++pos_; break; }
                return fail("expected ',' or '}'");
            }
        }
        return finish_container(out, header, header_kind::map, count);
    }

    static void append_utf8(std::uint32_t cp, std::string& out) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
        else { out += static_cast<char>(0xF0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    }

    bool hex4(std::uint32_t& cp) {
        if (pos_ + 4 > text_.size()) return fail("truncated \\u escape");
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            cp <<= 4;
            if (c >= '0' && c <= '9') cp |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') cp |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') cp |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return fail("bad hex digit in \\u escape");
        }
        return true;
    }

    /// Appends the string's decoded text to `out`; runs without escapes go in one append.
    bool string_literal(std::string& out) {
        ++pos_;  // opening quote
        while (pos_ < text_.size()) {
            std::size_t run = pos_;
            while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' && static_cast<unsigned char>(text_[run]) >= 0x20) ++run;
            out.append(text_.data() + pos_, run - pos_);
            pos_ = run;
            if (pos_ >= text_.size()) break;
            const char c = text_[pos_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
            if (pos_ >= text_.size()) break;
            const char escape = text_[pos_++];
            switch (escape) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t low = 0;
                    if (text_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate");
                    pos_ += 2;
                    if (!hex4(low)) return false;
                    if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail("unpaired surrogate");
                }
                append_utf8(cp, out);
                break;
            }
            default: return fail("bad escape");
            }
        }
        return fail("unterminated string");
    }

    bool number(msgpack::packer<writer_t>& pack) {
        const std::size_t start = pos_;
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        const std::size_t int_start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        if (pos_ == int_start) return fail("unexpected character");
        if (text_[int_start] == '0' && pos_ - int_start > 1) return fail("leading zero in number");
        bool integral = true;
        if (pos_ < text_.size() && text_[pos_] == '.') {
            integral = false;
            const std::size_t frac = ++pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            if (pos_ == frac) return fail("digits expected after '.'");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            const std::size_t exp = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            if (pos_ == exp) return fail("digits expected in exponent");
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        if (integral) {
            if (*first == '-') {
                std::int64_t v = 0;
                if (std::from_chars(first, last, v).ec == std::errc{}) { pack.pack_int64(v); return true; }
            } else {
                std::uint64_t v = 0;
                if (std::from_chars(first, last, v).ec == std::errc{}) { pack.pack_uint64(v); return true; }
            }
        }
        pack.pack_double(fast_double(first, last).value_or(
            detail::parse_double(std::string_view(first, static_cast<std::size_t>(last - first)))));
        return true;
    }

    /// Clinger's fast path: a literal whose digits form an integer below 2^53 and whose decimal
    /// exponent is within +-22 is that integer times or divided by an exactly representable power
    /// of ten, one correctly rounded operation. Most payload numbers (timestamps like 1234567.891)
    /// take it; the rest go to parse_double, which in the browser is a call out to JS.
    static std::optional<double> fast_double(const char* first, const char* last) {
        const auto& powers = exact_powers_of_ten;
        const bool negative = *first == '-';
        const char* p = negative ? first + 1 : first;
        std::uint64_t mantissa = 0;
        int digits = 0, exponent = 0;
        bool fraction = false;
        for (; p < last && *p != 'e' && *p != 'E'; ++p) {
            if (*p == '.') {
                fraction = true;
                continue;
            }
            if (++digits > 19) return std::nullopt;
            mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
            if (fraction) --exponent;
        }
        if (p < last) {
            ++p;
            const bool minus = *p == '-';
            if (*p == '-' || *p == '+') ++p;
            int e = 0;
            for (; p < last; ++p) {
                if (e > 1000) return std::nullopt;
                e = e * 10 + (*p - '0');
            }
            exponent += minus ? -e : e;
        }
        if (mantissa > (std::uint64_t{1} << 53) || exponent < -22 || exponent > 22) return std::nullopt;
        double value = static_cast<double>(mantissa);
        value = exponent < 0 ? value / powers[-exponent] : value * powers[exponent];
        return negative ? -value : value;
    }

    std::string_view text_;
    const parse_limits& limits_;
    std::size_t pos_ = 0;
    std::string error_;
    errc error_code_ = errc::invalid_payload;
};

/// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) return 1;
    if ((b0 & 0xE0) == 0xC0) { length = 2; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { length = 3; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { length = 4; min = 0x10000; }
    else return 0;
    if (i + length > text.size()) return 0;
    std::uint32_t cp = b0 & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return length;
}

/// `text` as a JSON string between `before` and `after` (each a character, or 0 for none): a map
/// key goes with the separator or brace before it and the colon after it.
void append_quoted(std::string_view text, std::string& out, char before, char after) {
    static constexpr char hex[] = "0123456789abcdef";
    // Keys and short values that need no escape go with their quotes in one append, copied while
    // they are checked: three calls into libc++ per string were most of a payload's rendering in
    // V8's baseline tier, which a page's first catch-up runs in.
    if (text.size() <= 60) {
        char quoted[64];
        std::size_t at = 0;
        if (before != 0) quoted[at++] = before;
        quoted[at++] = '"';
        std::size_t n = 0;
        for (; n < text.size(); ++n) {
            const auto u = static_cast<unsigned char>(text[n]);
            if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') break;
            quoted[at++] = text[n];
        }
        if (n == text.size()) {
            quoted[at++] = '"';
            if (after != 0) quoted[at++] = after;
            out.append(quoted, at);
            return;
        }
    }
    if (before != 0) out += before;
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
        // Runs of printable ASCII that need no escape go in one append: message texts are mostly that.
        std::size_t run = i;
        while (run < text.size()) {
            const auto u = static_cast<unsigned char>(text[run]);
            if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') break;
            ++run;
        }
        out.append(text.data() + i, run - i);
        i = run;
        if (i == text.size()) break;
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            const std::size_t length = utf8_sequence_length(text, i);
            if (length == 0) { out += "\xEF\xBF\xBD"; ++i; }
            else { out.append(text.substr(i, length)); i += length; }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: out += "\\u00"; out += hex[u >> 4]; out += hex[u & 0xF];
        }
        ++i;
    }
    out += '"';
    if (after != 0) out += after;
}

} // namespace

result<std::string> to_msgpack(std::string_view json_text, const parse_limits& limits) {
    if (json_text.size() > limits.max_bytes) {
        return make_error(errc::limit_exceeded, "payload of " + std::to_string(json_text.size()) + " bytes exceeds " + std::to_string(limits.max_bytes));
    }
    return parser(json_text, limits).run();
}

object_writer::object_writer(std::string& out) : out_(out) { out_ += '{'; }

object_writer& object_writer::number(const char* key, std::uint64_t value) {
    append_number(value, begin(key));
    return *this;
}

object_writer& object_writer::string(const char* key, std::string_view value) {
    append_string(value, begin(key));
    return *this;
}

object_writer& object_writer::boolean(const char* key, bool value) { return raw(key, value ? "true" : "false"); }

object_writer& object_writer::raw(const char* key, std::string_view json_text) {
    begin(key) += json_text;
    return *this;
}

std::string& object_writer::begin(const char* key) {
    // The separator, the quoted key and the colon in one append.
    append_quoted(key, out_, first_ ? 0 : ',', ':');
    first_ = false;
    return out_;
}

void object_writer::close() { out_ += '}'; }


void append_string(std::string_view text, std::string& out) { append_quoted(text, out, 0, 0); }

namespace {

using proto::detail::msgpack_kind;
using proto::detail::msgpack_reader;

constexpr int max_render_depth = 64;

void render(msgpack_reader& in, std::string& out, int depth) {
    if (depth > max_render_depth) throw proto::detail::field_error{errc::limit_exceeded, "nesting too deep"};
    switch (in.peek()) {
    case msgpack_kind::nil: in.skip(); out += "null"; return;
    case msgpack_kind::boolean: out += in.boolean() ? "true" : "false"; return;
    case msgpack_kind::positive: append_number(in.unsigned_integer(), out); return;
    case msgpack_kind::negative: out += std::to_string(in.signed_integer()); return;
    case msgpack_kind::float32:
    case msgpack_kind::float64: {
        const double d = in.floating();
        if (!std::isfinite(d)) { out += "null"; return; }
        // Whole numbers within 2^53 (timestamps, counters) print exactly as integers.
        if (std::fabs(d) < two_to_53 && d == std::trunc(d)) {
            out += std::to_string(static_cast<std::int64_t>(d));
            return;
        }
        if (!append_short_decimal(d, out)) detail::append_double(d, out);
        return;
    }
    case msgpack_kind::str:
    case msgpack_kind::bin: append_string(in.string(), out); return;
    case msgpack_kind::array: {
        const std::uint32_t count = in.array_header();
        out += '[';
        for (std::uint32_t i = 0; i < count; ++i) {
            if (i) out += ',';
            render(in, out, depth + 1);
        }
        out += ']';
        return;
    }
    case msgpack_kind::map: {
        const std::uint32_t count = in.map_header();
        if (count == 0) out += '{';
        for (std::uint32_t i = 0; i < count; ++i) {
            if (in.peek() == msgpack_kind::str) {
                append_quoted(in.string(), out, i ? ',' : '{', ':');
            } else {
                std::string text;
                render(in, text, depth + 1);
                append_quoted(text, out, i ? ',' : '{', ':');
            }
            render(in, out, depth + 1);
        }
        out += '}';
        return;
    }
    case msgpack_kind::ext: in.skip(); out += "null"; return;
    }
}

} // namespace

bool append_json(std::string_view msgpack_bytes, std::string& out) {
    if (msgpack_bytes.empty()) {
        out += "null";
        return true;
    }
    const std::size_t mark = out.size();
    try {
        msgpack_reader in(msgpack_bytes);
        render(in, out, 0);
        if (in.at_end()) return true;
    } catch (const proto::detail::field_error&) {
    }
    out.resize(mark);
    return false;
}

result<std::string> from_msgpack(std::string_view msgpack_bytes) {
    std::string out;
    if (!append_json(msgpack_bytes, out)) return make_error(errc::invalid_payload, "not one msgpack value");
    return out;
}

} // namespace holdfast::json
