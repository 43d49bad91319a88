// The default store: one SQLite database in WAL mode with synchronous=NORMAL, prepared statements
// and one transaction per append (group commit is a later step). Layer: relay. Single-threaded:
// the relay core calls it from its one thread. Survives a process crash; with synchronous=NORMAL a
// power loss may drop the last transactions (WAL keeps the file consistent).
#pragma once
#include "holdfast/relay/store.hpp"

#include <memory>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace holdfast::relay {

class sqlite_store final : public store {
public:
    /// Opens (creating if needed) the database at `path`. Errors: store_failure.
    static result<std::unique_ptr<sqlite_store>> open(const std::string& path, epoch_source epochs = random_epoch);
    ~sqlite_store() override;
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    result<std::optional<session_info>> load(std::string_view session) override;
    result<session_info> create(std::string_view session) override;
    result<std::optional<producer_position>> producer_state(std::string_view session,
                                                            std::string_view producer_id) override;
    result<std::optional<std::uint64_t>> find_producer(std::string_view session, std::string_view producer_id,
                                                       std::uint64_t producer_epoch,
                                                       std::uint64_t producer_seq) override;

    /// The schema this code writes (PRAGMA user_version). Version 1 (no producer_epoch) and
    /// version 2 (an index that also covered producer_seq 0) are migrated on open; a newer
    /// version is refused.
    static constexpr int schema_version = 3;
    result<ok_t> append(std::string_view session, const stored_event& e) override;
    void begin_group() override;
    result<ok_t> end_group() override;
    result<std::vector<proto::event>> read(std::string_view session, std::uint64_t after_serial,
                                           std::size_t limit) override;

private:
    sqlite_store(sqlite3* db, epoch_source epochs);
    result<ok_t> migrate();
    result<ok_t> prepare_all();
    error failure(std::string_view what) const;
    result<ok_t> exec(const char* sql);

    sqlite3* db_ = nullptr;
    epoch_source epochs_;
    sqlite3_stmt* load_ = nullptr;
    sqlite3_stmt* insert_session_ = nullptr;
    sqlite3_stmt* producer_state_ = nullptr;
    sqlite3_stmt* find_producer_ = nullptr;
    sqlite3_stmt* advance_head_ = nullptr;
    sqlite3_stmt* insert_event_ = nullptr;
    sqlite3_stmt* read_ = nullptr;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
    sqlite3_stmt* rollback_ = nullptr;
    // Inside a group each append is a savepoint of the group's transaction.
    sqlite3_stmt* savepoint_ = nullptr;
    sqlite3_stmt* release_ = nullptr;
    sqlite3_stmt* rollback_to_ = nullptr;
    bool in_group_ = false;
};

} // namespace holdfast::relay
