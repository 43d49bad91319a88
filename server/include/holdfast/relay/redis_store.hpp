// A store shared by several relay nodes: Redis 7 through hiredis (blocking calls on the relay's
// own thread, like sqlite_store's). Layer: relay. Per session, with the session id as a hash tag:
//   hf:{S}:meta   hash  epoch, head                      (the incarnation and the last serial)
//   hf:{S}:log    stream, entry id "<serial>-0"           (one entry per event; trimmed by retention)
//   hf:{S}:prod   hash  producer_id -> "epoch:last_seq"   (the producer rules' positions)
//   hf:{S}:dedup  hash  "producer_id\nepoch\nseq" -> serial (answers to retried publishes)
//   channel hf:{S}:notify, message "<serial>:<epoch>"    (published by the append script)
// One Lua script (EVALSHA) per append checks the producer rules, takes the next serial with
// HINCRBY, XADDs the event (trimming with MAXLEN ~ retain_events) and PUBLISHes its serial: Redis
// runs a script alone, so two nodes appending at once never get one serial or leave a hole.
// A lost connection is re-opened by the next call; until then every call fails with
// store_failure (retryable: an append whose reply was lost is answered by dedup on retry).
#pragma once
#include "holdfast/relay/store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

struct redisContext;
struct redisReply;

namespace holdfast::relay {

/// Where a redis store connects and how long it keeps events. Parsed from
/// redis://HOST:PORT/DB[?retain_events=N].
struct redis_address {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::uint32_t db = 0;
    /// Per-session stream length kept (approximately: MAXLEN ~); 0 keeps everything.
    std::uint64_t retain_events = 1'000'000;
};

/// Parses a redis:// URL. Errors: store_failure naming the bad part.
result<redis_address> parse_redis_url(std::string_view url);

/// The key names and notification channel of one session (also used by node_bus and tests).
std::string redis_key(std::string_view session, std::string_view suffix);
std::string redis_channel(std::string_view session);
/// The session named by a notification channel; empty when `channel` is not one.
std::string session_of_channel(std::string_view channel);

class redis_store final : public store {
public:
    /// Connects once to check the address (a relay started against a down Redis fails fast).
    static result<std::unique_ptr<redis_store>> open(redis_address address, epoch_source epochs = random_epoch);
    ~redis_store() override;

    result<std::optional<session_info>> load(std::string_view session) override;
    result<session_info> create(std::string_view session) override;
    result<std::optional<producer_position>> producer_state(std::string_view session,
                                                            std::string_view producer_id) override;
    result<std::optional<std::uint64_t>> find_producer(std::string_view session, std::string_view producer_id,
                                                       std::uint64_t producer_epoch,
                                                       std::uint64_t producer_seq) override;
    /// Not used with a store that assigns serials; kept for the contract: appends only when
    /// e.event.serial is the head + 1.
    result<ok_t> append(std::string_view session, const stored_event& e) override;
    result<std::vector<proto::event>> read(std::string_view session, std::uint64_t after_serial,
                                           std::size_t limit) override;

    bool assigns_serials() const override { return true; }
    result<assigned_serial> append_assigning(std::string_view session, const stored_event& e) override;
    result<std::uint64_t> first_retained(std::string_view session) override;
    bool healthy() override;
    /// hf:present:<key> with PX ttl_ms, in one script call.
    result<ok_t> keep_present(const std::vector<std::string>& keys, std::uint64_t ttl_ms) override;
    result<std::vector<bool>> present(const std::vector<std::string>& keys) override;

    const redis_address& address() const noexcept { return address_; }
    /// Commands sent to Redis so far (for the benchmark's commands-per-event figure).
    std::uint64_t commands_sent() const noexcept { return commands_sent_; }

private:
    redis_store(redis_address address, epoch_source epochs);
    struct reply_deleter {
        void operator()(redisReply* r) const;
    };
    using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

    /// Connects (SELECT db, SCRIPT LOAD) if not connected. Errors: store_failure.
    result<ok_t> connect();
    void disconnect();
    /// Runs one command given as binary-safe arguments; reconnects first if needed. A transport
    /// failure drops the connection (the next call reconnects) and is a store_failure; a Redis
    /// error reply is returned as a reply of type REDIS_REPLY_ERROR.
    result<reply_ptr> command(const std::vector<std::string>& args);
    /// EVALSHA of the script, loading it again after NOSCRIPT (a restarted Redis forgets scripts).
    result<reply_ptr> eval(const std::string& sha, const std::string& source, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args);

    redis_address address_;
    epoch_source epochs_;
    redisContext* context_ = nullptr;
    std::string append_sha_;
    std::string create_sha_;
    std::string presence_sha_;
    std::uint64_t commands_sent_ = 0;
    std::chrono::steady_clock::time_point last_failure_{};  // of the last connect; zero after success
};

} // namespace holdfast::relay
