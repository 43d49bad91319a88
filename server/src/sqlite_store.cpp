// sqlite_store: schema, pragmas and the prepared statements behind the store contract.
// Layer: relay. Unsigned 64-bit values are stored as SQLite's signed INTEGER by bit pattern; serials
// and timestamps stay far below 2^63, producer_seq round-trips exactly either way (but only values
// below 2^63 order correctly, which is why the relay refuses larger producer epochs and sequences).
#include "holdfast/relay/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>

namespace holdfast::relay {
namespace {

// Version 3 (2 plus the index below). producer_epoch comes last because version 1 databases get it by ALTER TABLE, which
// appends; both then have the same layout.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  epoch INTEGER NOT NULL,
  head_serial INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  session TEXT NOT NULL,
  serial INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  producer_id TEXT NOT NULL,
  producer_seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  payload BLOB,
  producer_epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (session, serial)
) WITHOUT ROWID;
)sql";

// Serves both the dedup lookup (equality on all four) and a producer's position (the last entry
// for (session, producer_id)); partial, so queries repeat its condition for the planner. Sequence
// 0 is left out: the relay's own events (producer "relay") carry no sequence and may repeat
// (epoch 0, seq 0); clients cannot send sequence 0 with a producer id.
constexpr const char* producer_index_sql = R"sql(
DROP INDEX IF EXISTS events_by_producer;
DROP INDEX IF EXISTS events_by_producer_epoch;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_producer_seq
  ON events (session, producer_id, producer_epoch, producer_seq) WHERE producer_id <> '' AND producer_seq <> 0;
)sql";

sqlite3_int64 to_db(std::uint64_t v) { return static_cast<sqlite3_int64>(v); }
std::uint64_t from_db(sqlite3_int64 v) { return static_cast<std::uint64_t>(v); }

void bind_text(sqlite3_stmt* s, int index, std::string_view text) {
    sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* s, int index) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, index));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, index))) : std::string();
}

/// Resets a statement on scope exit so it never holds a read transaction open.
struct statement_reset {
    sqlite3_stmt* stmt;
    ~statement_reset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
};

} // namespace

result<std::unique_ptr<sqlite_store>> sqlite_store::open(const std::string& path, epoch_source epochs) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        std::string detail = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return make_error(errc::store_failure, std::move(detail));
    }
    std::unique_ptr<sqlite_store> store(new sqlite_store(db, std::move(epochs)));
    sqlite3_busy_timeout(db, 5000);
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
        if (auto ok = store->exec(sql); !ok) return ok.err();
    }
    if (auto ok = store->migrate(); !ok) return ok.err();
    if (auto ok = store->prepare_all(); !ok) return ok.err();
    return store;
}

result<ok_t> sqlite_store::migrate() {
    // One transaction: a crash half-way leaves the version 1 file as it was.
    if (auto ok = exec("BEGIN IMMEDIATE"); !ok) return ok;
    auto fail = [this](error err) -> result<ok_t> {
        (void)exec("ROLLBACK");
        return err;
    };
    auto single_int = [this](const char* sql) -> result<std::int64_t> {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return failure(sql);
        const int rc = sqlite3_step(stmt);
        const std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return failure(sql);
        return value;
    };
    auto version = single_int("PRAGMA user_version");
    if (!version) return fail(version.err());
    if (version.value() > schema_version) {
        return fail(make_error(errc::store_failure, "database schema version " + std::to_string(version.value()) +
                                                        " is newer than this relay's (" +
                                                        std::to_string(schema_version) + ")"));
    }
    if (auto ok = exec(schema_sql); !ok) return fail(ok.err());
    // A version 1 file (user_version 0) has the events table without producer_epoch: its events
    // become epoch 0, which is what version 1 producers sent.
    auto has_epoch = single_int("SELECT count(*) FROM pragma_table_info('events') WHERE name = 'producer_epoch'");
    if (!has_epoch) return fail(has_epoch.err());
    if (has_epoch.value() == 0) {
        if (auto ok = exec("ALTER TABLE events ADD COLUMN producer_epoch INTEGER NOT NULL DEFAULT 0"); !ok) {
            return fail(ok.err());
        }
    }
    if (auto ok = exec(producer_index_sql); !ok) return fail(ok.err());
    const std::string set_version = "PRAGMA user_version = " + std::to_string(schema_version);
    if (auto ok = exec(set_version.c_str()); !ok) return fail(ok.err());
    if (auto ok = exec("COMMIT"); !ok) return fail(ok.err());
    return ok_t{};
}

sqlite_store::sqlite_store(sqlite3* db, epoch_source epochs) : db_(db), epochs_(std::move(epochs)) {}

sqlite_store::~sqlite_store() {
    for (sqlite3_stmt* s : {load_, insert_session_, producer_state_, find_producer_, advance_head_, insert_event_, read_, begin_,
                            commit_, rollback_, savepoint_, release_, rollback_to_}) {
        sqlite3_finalize(s);
    }
    sqlite3_close(db_);
}

error sqlite_store::failure(std::string_view what) const {
    return make_error(errc::store_failure, std::string(what) + ": " + sqlite3_errmsg(db_));
}

result<ok_t> sqlite_store::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string detail = message ? message : "sqlite3_exec failed";
        sqlite3_free(message);
        return make_error(errc::store_failure, std::move(detail));
    }
    return ok_t{};
}

result<ok_t> sqlite_store::prepare_all() {
    const std::pair<sqlite3_stmt**, const char*> statements[] = {
        {&load_, "SELECT epoch, head_serial FROM sessions WHERE id = ?1"},
        {&insert_session_, "INSERT OR IGNORE INTO sessions (id, epoch, head_serial) VALUES (?1, ?2, 0)"},
        {&producer_state_,
         "SELECT producer_epoch, producer_seq FROM events WHERE session = ?1 AND producer_id = ?2 AND producer_id <> '' "
         "AND producer_seq <> 0 "
         "ORDER BY producer_epoch DESC, producer_seq DESC LIMIT 1"},
        {&find_producer_, "SELECT serial FROM events WHERE session = ?1 AND producer_id = ?2 AND producer_epoch = ?3 "
                          "AND producer_seq = ?4 AND producer_id <> '' AND producer_seq <> 0"},
        {&advance_head_, "UPDATE sessions SET head_serial = ?2 WHERE id = ?1 AND head_serial = ?2 - 1"},
        {&insert_event_, "INSERT INTO events (session, serial, ts, producer_id, producer_seq, kind, msg_id, agent, "
                         "payload, producer_epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
        {&read_, "SELECT serial, ts, producer_id, kind, msg_id, agent, payload FROM events "
                 "WHERE session = ?1 AND serial > ?2 ORDER BY serial LIMIT ?3"},
        {&begin_, "BEGIN IMMEDIATE"},
        {&commit_, "COMMIT"},
        {&rollback_, "ROLLBACK"},
        {&savepoint_, "SAVEPOINT holdfast_append"},
        {&release_, "RELEASE holdfast_append"},
        {&rollback_to_, "ROLLBACK TO holdfast_append"},
    };
    for (const auto& [slot, sql] : statements) {
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr) != SQLITE_OK) {
            return failure(std::string("prepare ") + sql);
        }
    }
    return ok_t{};
}

result<std::optional<session_info>> sqlite_store::load(std::string_view session) {
    statement_reset reset{load_};
    bind_text(load_, 1, session);
    const int rc = sqlite3_step(load_);
    if (rc == SQLITE_DONE) return std::optional<session_info>{};
    if (rc != SQLITE_ROW) return failure("load session");
    return std::optional<session_info>{
        session_info{from_db(sqlite3_column_int64(load_, 0)), from_db(sqlite3_column_int64(load_, 1))}};
}

result<session_info> sqlite_store::create(std::string_view session) {
    {
        statement_reset reset{insert_session_};
        bind_text(insert_session_, 1, session);
        sqlite3_bind_int64(insert_session_, 2, to_db(epochs_()));
        if (sqlite3_step(insert_session_) != SQLITE_DONE) return failure("create session");
    }
    // INSERT OR IGNORE keeps an existing session's epoch: read back whichever row is there.
    auto info = load(session);
    if (!info) return info.err();
    if (!info.value()) return make_error(errc::store_failure, "session vanished after create");
    return *info.value();
}

result<std::optional<producer_position>> sqlite_store::producer_state(std::string_view session,
                                                                      std::string_view producer_id) {
    statement_reset reset{producer_state_};
    bind_text(producer_state_, 1, session);
    bind_text(producer_state_, 2, producer_id);
    const int rc = sqlite3_step(producer_state_);
    if (rc == SQLITE_DONE) return std::optional<producer_position>{};
    if (rc != SQLITE_ROW) return failure("producer state");
    return std::optional<producer_position>{producer_position{from_db(sqlite3_column_int64(producer_state_, 0)),
                                                              from_db(sqlite3_column_int64(producer_state_, 1))}};
}

result<std::optional<std::uint64_t>> sqlite_store::find_producer(std::string_view session,
                                                                 std::string_view producer_id,
                                                                 std::uint64_t producer_epoch,
                                                                 std::uint64_t producer_seq) {
    statement_reset reset{find_producer_};
    bind_text(find_producer_, 1, session);
    bind_text(find_producer_, 2, producer_id);
    sqlite3_bind_int64(find_producer_, 3, to_db(producer_epoch));
    sqlite3_bind_int64(find_producer_, 4, to_db(producer_seq));
    const int rc = sqlite3_step(find_producer_);
    if (rc == SQLITE_DONE) return std::optional<std::uint64_t>{};
    if (rc != SQLITE_ROW) return failure("find producer");
    return std::optional<std::uint64_t>{from_db(sqlite3_column_int64(find_producer_, 0))};
}

result<ok_t> sqlite_store::append(std::string_view session, const stored_event& stored) {
    const proto::event& e = stored.event;
    // Alone, an append is its own transaction; in a group, a savepoint of the group's.
    sqlite3_stmt* const begin = in_group_ ? savepoint_ : begin_;
    sqlite3_stmt* const commit = in_group_ ? release_ : commit_;
    sqlite3_stmt* const rollback = in_group_ ? rollback_to_ : rollback_;
    {
        statement_reset reset{begin};
        if (sqlite3_step(begin) != SQLITE_DONE) return failure("begin");
    }
    auto undo = [&] {
        {
            statement_reset reset{rollback};
            sqlite3_step(rollback);
        }
        if (in_group_) {  // ROLLBACK TO leaves the savepoint open
            statement_reset release{release_};
            sqlite3_step(release_);
        }
    };
    auto abort = [&](std::string_view what) {
        error err = failure(what);
        undo();
        return err;
    };
    {
        statement_reset reset{advance_head_};
        bind_text(advance_head_, 1, session);
        sqlite3_bind_int64(advance_head_, 2, to_db(e.serial));
        if (sqlite3_step(advance_head_) != SQLITE_DONE) return abort("advance head");
        if (sqlite3_changes(db_) != 1) {
            undo();
            return make_error(errc::store_failure, "serial " + std::to_string(e.serial) +
                                                       " is not head + 1 (or the session does not exist)");
        }
    }
    {
        statement_reset reset{insert_event_};
        bind_text(insert_event_, 1, session);
        sqlite3_bind_int64(insert_event_, 2, to_db(e.serial));
        sqlite3_bind_int64(insert_event_, 3, to_db(e.ts));
        bind_text(insert_event_, 4, e.producer_id);
        sqlite3_bind_int64(insert_event_, 5, to_db(stored.producer_seq));
        bind_text(insert_event_, 6, e.kind);
        bind_text(insert_event_, 7, e.msg_id);
        bind_text(insert_event_, 8, e.agent);
        if (e.payload.bytes.empty()) {
            sqlite3_bind_null(insert_event_, 9);
        } else {
            sqlite3_bind_blob(insert_event_, 9, e.payload.bytes.data(), static_cast<int>(e.payload.bytes.size()),
                              SQLITE_TRANSIENT);
        }
        sqlite3_bind_int64(insert_event_, 10, to_db(stored.producer_epoch));
        if (sqlite3_step(insert_event_) != SQLITE_DONE) return abort("insert event");
    }
    statement_reset reset{commit};
    if (sqlite3_step(commit) != SQLITE_DONE) return abort("commit");
    return ok_t{};
}

void sqlite_store::begin_group() {
    if (in_group_) return;
    statement_reset reset{begin_};
    // If the transaction cannot start, appends run as their own transactions, as without a group.
    in_group_ = sqlite3_step(begin_) == SQLITE_DONE;
}

result<ok_t> sqlite_store::end_group() {
    if (!in_group_) return ok_t{};
    in_group_ = false;
    statement_reset reset{commit_};
    if (sqlite3_step(commit_) == SQLITE_DONE) return ok_t{};
    error err = failure("group commit");
    statement_reset rollback{rollback_};
    sqlite3_step(rollback_);
    return err;
}

result<std::vector<proto::event>> sqlite_store::read(std::string_view session, std::uint64_t after_serial,
                                                     std::size_t limit) {
    std::vector<proto::event> out;
    statement_reset reset{read_};
    bind_text(read_, 1, session);
    sqlite3_bind_int64(read_, 2, to_db(after_serial));
    sqlite3_bind_int64(read_, 3, static_cast<sqlite3_int64>(std::min<std::size_t>(limit, INT64_MAX)));
    int rc;
    while ((rc = sqlite3_step(read_)) == SQLITE_ROW) {
        proto::event e;
        e.serial = from_db(sqlite3_column_int64(read_, 0));
        e.ts = from_db(sqlite3_column_int64(read_, 1));
        e.producer_id = column_text(read_, 2);
        e.kind = column_text(read_, 3);
        e.msg_id = column_text(read_, 4);
        e.agent = column_text(read_, 5);
        if (const void* blob = sqlite3_column_blob(read_, 6)) {
            e.payload.bytes.assign(static_cast<const char*>(blob),
                                   static_cast<std::size_t>(sqlite3_column_bytes(read_, 6)));
        }
        out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return failure("read events");
    return out;
}

} // namespace holdfast::relay
