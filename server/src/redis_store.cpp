// redis_store: the shared store on Redis through hiredis. Layer: relay. See redis_store.hpp for
// the key layout; docs/architecture.md for why the calls block the relay's thread.
#include "holdfast/relay/redis_store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace holdfast::relay {

namespace {

// The producer rules and the serial in one step. Returns {serial, duplicate(0/1)} or a negative
// code: {-1} no such session, {-2, epoch} stale epoch, {-3, last_seq} a skipped sequence, {-4,
// last_seq} a sequence below the position that was never appended. The XADD comes before the
// head moves: a script stopped by an error keeps what it wrote, so a failed XADD must leave the
// head where it was (no hole). Epochs and sequences arrive below 2^53 (checked by the caller), so
// Lua's doubles hold them exactly; stored values are the caller's decimal strings.
constexpr const char* append_script = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return {-1, ''} end
local pid = ARGV[1]
local sequenced = pid ~= '' and ARGV[3] ~= '0'
local dkey
if sequenced then
  dkey = pid .. '\n' .. ARGV[2] .. '\n' .. ARGV[3]
  local pos = redis.call('HGET', KEYS[3], pid)
  if pos then
    local sep = string.find(pos, ':', 1, true)
    local pe = tonumber(string.sub(pos, 1, sep - 1))
    local ps = tonumber(string.sub(pos, sep + 1))
    local ce = tonumber(ARGV[2])
    local cs = tonumber(ARGV[3])
    if ce < pe then return {-2, string.sub(pos, 1, sep - 1)} end
    if ce == pe and cs ~= ps + 1 then
      if cs > ps then return {-3, string.sub(pos, sep + 1)} end
      local earlier = redis.call('HGET', KEYS[4], dkey)
      if earlier then return {tonumber(earlier), 1} end
      return {-4, string.sub(pos, sep + 1)}
    end
  end
end
local serial = tonumber(redis.call('HGET', KEYS[1], 'head') or '0') + 1
local id = string.format('%d-0', serial)
if ARGV[9] ~= '0' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], id, 'ts', ARGV[4], 'p', pid, 'k', ARGV[5], 'm', ARGV[6],
             'a', ARGV[7], 'd', ARGV[8], 'pe', ARGV[2], 'ps', ARGV[3])
else
  redis.call('XADD', KEYS[2], id, 'ts', ARGV[4], 'p', pid, 'k', ARGV[5], 'm', ARGV[6], 'a', ARGV[7], 'd', ARGV[8],
             'pe', ARGV[2], 'ps', ARGV[3])
end
redis.call('HSET', KEYS[1], 'head', serial)
if sequenced then
  redis.call('HSET', KEYS[3], pid, ARGV[2] .. ':' .. ARGV[3])
  redis.call('HSET', KEYS[4], dkey, serial)
end
redis.call('PUBLISH', ARGV[10], string.format('%d', serial) .. ':' .. epoch)
return {serial, 0}
)lua";

// A new incarnation starts with an empty log: whatever an older one left under its keys goes.
constexpr const char* create_script = R"lua(
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'head', 0)
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
end
return redis.call('HMGET', KEYS[1], 'epoch', 'head')
)lua";

// Renews the presence keys of one node: ARGV[1] the TTL in ms, then the keys.
constexpr const char* presence_script = R"lua(
for i = 2, #ARGV do
  redis.call('SET', 'hf:present:' .. ARGV[i], '1', 'PX', ARGV[1])
end
return #ARGV - 1
)lua";

constexpr std::uint64_t lua_exact_limit = std::uint64_t{1} << 53;
constexpr auto reconnect_pause = std::chrono::milliseconds(100);

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::string_view as_view(const redisReply* r) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR)) {
        return {};
    }
    return {r->str, r->len};
}

std::optional<std::uint64_t> as_u64(const redisReply* r) {
    if (!r) return std::nullopt;
    if (r->type == REDIS_REPLY_INTEGER) {
        if (r->integer < 0) return std::nullopt;
        return static_cast<std::uint64_t>(r->integer);
    }
    if (r->type == REDIS_REPLY_STRING) return parse_u64(as_view(r));
    return std::nullopt;
}

error unexpected(std::string_view what, const redisReply* r) {
    std::string detail = "redis: unexpected reply to " + std::string(what);
    if (r && r->type == REDIS_REPLY_ERROR) detail += ": " + std::string(as_view(r));
    return make_error(errc::store_failure, std::move(detail));
}

/// The serial in a stream entry id "<serial>-0".
std::optional<std::uint64_t> serial_of_id(std::string_view id) {
    const auto dash = id.find('-');
    return parse_u64(id.substr(0, dash));
}

} // namespace

std::string redis_key(std::string_view session, std::string_view suffix) {
    std::string k = "hf:{";
    k.append(session).append("}:").append(suffix);
    return k;
}

std::string redis_channel(std::string_view session) { return redis_key(session, "notify"); }

std::string session_of_channel(std::string_view channel) {
    constexpr std::string_view head = "hf:{", tail = "}:notify";
    if (!channel.starts_with(head) || !channel.ends_with(tail) || channel.size() < head.size() + tail.size()) return {};
    return std::string(channel.substr(head.size(), channel.size() - head.size() - tail.size()));
}

result<redis_address> parse_redis_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) return make_error(errc::store_failure, "a redis URL starts with redis://");
    std::string_view rest = url.substr(scheme.size());
    redis_address address;
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view authority = rest;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        authority = rest.substr(0, slash);
        const std::string_view db = rest.substr(slash + 1);
        if (!db.empty()) {
            const auto n = parse_u64(db);
            if (!n || *n > 0xFFFF) return make_error(errc::store_failure, "bad redis database '" + std::string(db) + "'");
            address.db = static_cast<std::uint32_t>(*n);
        }
    }
    if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        const auto port = parse_u64(authority.substr(colon + 1));
        if (!port || *port == 0 || *port > 65535) {
            return make_error(errc::store_failure, "bad redis port in '" + std::string(url) + "'");
        }
        address.port = static_cast<std::uint16_t>(*port);
        authority = authority.substr(0, colon);
    }
    if (!authority.empty()) address.host = std::string(authority);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::nullopt : parse_u64(pair.substr(eq + 1));
        if (name == "retain_events" && value) {
            address.retain_events = *value;
        } else {
            return make_error(errc::store_failure, "unknown or bad redis URL parameter '" + std::string(pair) +
                                                       "' (known: retain_events=N)");
        }
    }
    return address;
}

void redis_store::reply_deleter::operator()(redisReply* r) const { freeReplyObject(r); }

redis_store::redis_store(redis_address address, epoch_source epochs)
    : address_(std::move(address)), epochs_(std::move(epochs)) {}

redis_store::~redis_store() { disconnect(); }

result<std::unique_ptr<redis_store>> redis_store::open(redis_address address, epoch_source epochs) {
    std::unique_ptr<redis_store> s(new redis_store(std::move(address), std::move(epochs)));
    if (auto connected = s->connect(); !connected) return connected.err();
    return s;
}

void redis_store::disconnect() {
    if (context_) redisFree(context_);
    context_ = nullptr;
}

result<ok_t> redis_store::connect() {
    if (context_) return ok_t{};
    using clock = std::chrono::steady_clock;
    // While Redis is down, fail calls at once instead of paying a connect per publish.
    if (last_failure_ != clock::time_point{} && clock::now() - last_failure_ < reconnect_pause) {
        return make_error(errc::store_failure, "redis " + address_.host + ":" + std::to_string(address_.port) +
                                                   " unreachable (retrying)");
    }
    timeval connect_timeout{1, 0};
    redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, connect_timeout);
    if (!c || c->err) {
        std::string detail = c ? c->errstr : "out of memory";
        if (c) redisFree(c);
        last_failure_ = clock::now();
        return make_error(errc::store_failure, "redis " + address_.host + ":" + std::to_string(address_.port) + ": " +
                                                   detail);
    }
    // A stalled Redis blocks the relay's thread at most this long per call (then store_failure).
    timeval command_timeout{2, 0};
    redisSetTimeout(c, command_timeout);
    context_ = c;
    auto fail = [&](error e) {
        disconnect();
        last_failure_ = clock::now();
        return e;
    };
    if (address_.db != 0) {
        auto selected = command({"SELECT", std::to_string(address_.db)});
        if (!selected) return fail(selected.err());
        if (selected.value()->type == REDIS_REPLY_ERROR) return fail(unexpected("SELECT", selected.value().get()));
    }
    for (auto [source, sha] : {std::pair{append_script, &append_sha_}, std::pair{create_script, &create_sha_},
                                 std::pair{presence_script, &presence_sha_}}) {
        auto loaded = command({"SCRIPT", "LOAD", source});
        if (!loaded) return fail(loaded.err());
        if (loaded.value()->type != REDIS_REPLY_STRING) return fail(unexpected("SCRIPT LOAD", loaded.value().get()));
        *sha = std::string(as_view(loaded.value().get()));
    }
    last_failure_ = {};
    return ok_t{};
}

result<redis_store::reply_ptr> redis_store::command(const std::vector<std::string>& args) {
    if (!context_) {
        if (auto connected = connect(); !connected) return connected.err();
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const std::string& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    ++commands_sent_;
    auto* raw = static_cast<redisReply*>(redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                                         lengths.data()));
    if (!raw) {
        // The connection is unusable (hiredis says so): the next call opens a new one. Whether
        // this command ran is unknown; the producer rules make its retry safe.
        std::string detail = "redis: " + std::string(context_->errstr[0] ? context_->errstr : "connection lost");
        disconnect();
        return make_error(errc::store_failure, std::move(detail));
    }
    return reply_ptr(raw);
}

result<redis_store::reply_ptr> redis_store::eval(const std::string& sha, const std::string& source,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<std::string>& args) {
    std::vector<std::string> argv{"EVALSHA", sha, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = command(argv);
    if (!reply) return reply;
    if (reply.value()->type == REDIS_REPLY_ERROR && as_view(reply.value().get()).starts_with("NOSCRIPT")) {
        argv[0] = "EVAL";
        argv[1] = source;
        return command(argv);
    }
    return reply;
}

result<std::optional<session_info>> redis_store::load(std::string_view session) {
    auto reply = command({"HMGET", redis_key(session, "meta"), "epoch", "head"});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return unexpected("HMGET", r);
    if (r->element[0]->type == REDIS_REPLY_NIL) return std::optional<session_info>{};
    const auto epoch = as_u64(r->element[0]);
    const auto head = r->element[1]->type == REDIS_REPLY_NIL ? std::optional<std::uint64_t>{0} : as_u64(r->element[1]);
    if (!epoch || !head) return unexpected("HMGET", r);
    return std::optional<session_info>{session_info{*epoch, *head}};
}

result<session_info> redis_store::create(std::string_view session) {
    auto reply = eval(create_sha_, create_script,
                      {redis_key(session, "meta"), redis_key(session, "log"), redis_key(session, "prod"),
                       redis_key(session, "dedup")},
                      {std::to_string(epochs_())});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return unexpected("create", r);
    const auto epoch = as_u64(r->element[0]);
    const auto head = as_u64(r->element[1]);
    if (!epoch || !head) return unexpected("create", r);
    return session_info{*epoch, *head};
}

result<std::optional<producer_position>> redis_store::producer_state(std::string_view session,
                                                                     std::string_view producer_id) {
    auto reply = command({"HGET", redis_key(session, "prod"), std::string(producer_id)});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type == REDIS_REPLY_NIL) return std::optional<producer_position>{};
    const std::string_view text = as_view(r);
    const auto colon = text.find(':');
    if (r->type != REDIS_REPLY_STRING || colon == std::string_view::npos) return unexpected("HGET prod", r);
    const auto epoch = parse_u64(text.substr(0, colon));
    const auto seq = parse_u64(text.substr(colon + 1));
    if (!epoch || !seq) return unexpected("HGET prod", r);
    return std::optional<producer_position>{producer_position{*epoch, *seq}};
}

result<std::optional<std::uint64_t>> redis_store::find_producer(std::string_view session,
                                                                std::string_view producer_id,
                                                                std::uint64_t producer_epoch,
                                                                std::uint64_t producer_seq) {
    std::string field(producer_id);
    field.append(1, '\n').append(std::to_string(producer_epoch)).append(1, '\n').append(std::to_string(producer_seq));
    auto reply = command({"HGET", redis_key(session, "dedup"), field});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type == REDIS_REPLY_NIL) return std::optional<std::uint64_t>{};
    const auto serial = as_u64(r);
    if (!serial) return unexpected("HGET dedup", r);
    return std::optional<std::uint64_t>{*serial};
}

result<ok_t> redis_store::append(std::string_view session, const stored_event& e) {
    auto info = load(session);
    if (!info) return info.err();
    if (!info.value()) return make_error(errc::store_failure, "append to a session never created");
    if (e.event.serial != info.value()->head_serial + 1) {
        return make_error(errc::store_failure, "serial " + std::to_string(e.event.serial) + " is not head + 1");
    }
    auto assigned = append_assigning(session, e);
    if (!assigned) return assigned.err();
    if (assigned->duplicate || assigned->serial != e.event.serial) {
        return make_error(errc::store_failure, "another writer appended serial " + std::to_string(e.event.serial));
    }
    return ok_t{};
}

result<store::assigned_serial> redis_store::append_assigning(std::string_view session, const stored_event& e) {
    if (e.producer_epoch >= lua_exact_limit || e.producer_seq >= lua_exact_limit) {
        return make_error(errc::limit_exceeded, "the redis store takes producer epochs and sequences below 2^53");
    }
    auto reply = eval(append_sha_, append_script,
                      {redis_key(session, "meta"), redis_key(session, "log"), redis_key(session, "prod"),
                       redis_key(session, "dedup")},
                      {e.event.producer_id, std::to_string(e.producer_epoch), std::to_string(e.producer_seq),
                       std::to_string(e.event.ts), e.event.kind, e.event.msg_id, e.event.agent, e.event.payload.bytes,
                       std::to_string(address_.retain_events), redis_channel(session)});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
        return unexpected("append script", r);
    }
    const long long code = r->element[0]->integer;
    const std::string detail(as_view(r->element[1]));
    switch (code) {
    case -1: return make_error(errc::store_failure, "append to a session never created");
    case -2:
        return make_error(errc::stale_epoch, "producer epoch " + std::to_string(e.producer_epoch) +
                                                 " is older than its current epoch " + detail + ": fenced");
    case -3: {
        const auto last = parse_u64(detail);
        return make_error(errc::sequence_gap, "expected " + std::to_string(last.value_or(0) + 1));
    }
    case -4: {
        const auto last = parse_u64(detail);
        return make_error(errc::sequence_gap, "sequence " + std::to_string(e.producer_seq) + " of epoch " +
                                                  std::to_string(e.producer_epoch) + " was never appended (expected " +
                                                  std::to_string(last.value_or(0) + 1) + ")");
    }
    default: break;
    }
    if (code <= 0 || r->element[1]->type != REDIS_REPLY_INTEGER) return unexpected("append script", r);
    return assigned_serial{static_cast<std::uint64_t>(code), r->element[1]->integer != 0};
}

result<std::vector<proto::event>> redis_store::read(std::string_view session, std::uint64_t after_serial,
                                                    std::size_t limit) {
    std::vector<proto::event> events;
    if (limit == 0) return events;
    auto reply = command({"XRANGE", redis_key(session, "log"), std::to_string(after_serial + 1) + "-0", "+", "COUNT",
                          std::to_string(limit)});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY) return unexpected("XRANGE", r);
    events.reserve(r->elements);
    for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* entry = r->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) {
            return unexpected("XRANGE entry", entry);
        }
        proto::event e;
        const auto serial = serial_of_id(as_view(entry->element[0]));
        if (!serial) return unexpected("XRANGE id", entry->element[0]);
        e.serial = *serial;
        const redisReply* fields = entry->element[1];
        for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
            const std::string_view name = as_view(fields->element[f]);
            const std::string_view value = as_view(fields->element[f + 1]);
            if (name == "ts") e.ts = parse_u64(value).value_or(0);
            else if (name == "p") e.producer_id = std::string(value);
            else if (name == "k") e.kind = std::string(value);
            else if (name == "m") e.msg_id = std::string(value);
            else if (name == "a") e.agent = std::string(value);
            else if (name == "d") e.payload.bytes = std::string(value);
        }
        events.push_back(std::move(e));
    }
    return events;
}

result<std::uint64_t> redis_store::first_retained(std::string_view session) {
    auto reply = command({"XRANGE", redis_key(session, "log"), "-", "+", "COUNT", "1"});
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY) return unexpected("XRANGE", r);
    if (r->elements == 0) {
        auto info = load(session);
        if (!info) return info.err();
        return info.value() ? info.value()->head_serial + 1 : 1;
    }
    const redisReply* entry = r->element[0];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) return unexpected("XRANGE entry", entry);
    const auto serial = serial_of_id(as_view(entry->element[0]));
    if (!serial) return unexpected("XRANGE id", entry->element[0]);
    return *serial;
}

bool redis_store::healthy() {
    auto reply = command({"PING"});
    return reply && reply.value()->type == REDIS_REPLY_STATUS;
}

} // namespace holdfast::relay

namespace holdfast::relay {

result<ok_t> redis_store::keep_present(const std::vector<std::string>& keys, std::uint64_t ttl_ms) {
    if (keys.empty()) return ok_t{};
    std::vector<std::string> args{std::to_string(std::max<std::uint64_t>(ttl_ms, 1))};
    args.insert(args.end(), keys.begin(), keys.end());
    auto reply = eval(presence_sha_, presence_script, {}, args);
    if (!reply) return reply.err();
    if (reply.value()->type == REDIS_REPLY_ERROR) return unexpected("presence script", reply.value().get());
    return ok_t{};
}

result<std::vector<bool>> redis_store::present(const std::vector<std::string>& keys) {
    std::vector<bool> out(keys.size(), false);
    if (keys.empty()) return out;
    std::vector<std::string> args{"MGET"};
    for (const std::string& k : keys) args.push_back("hf:present:" + k);
    auto reply = command(args);
    if (!reply) return reply.err();
    const redisReply* r = reply.value().get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) return unexpected("MGET", r);
    for (std::size_t i = 0; i < keys.size(); ++i) out[i] = r->element[i]->type != REDIS_REPLY_NIL;
    return out;
}

} // namespace holdfast::relay
