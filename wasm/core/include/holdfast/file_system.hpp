// The file system the local history writes through: a small interface so the same History runs
// on a real directory (native tests), on Emscripten's in-memory FS mounted over IndexedDB (IDBFS,
// in the browser: plain POSIX calls, persisted by the JS glue's syncfs), and on an in-memory FS
// that a simulator can crash (losing what was not synced). Layer: portable core.
#pragma once
#include "holdfast/result.hpp"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast {

class file_system {
public:
    virtual ~file_system() = default;
    /// Names (not paths) of the entries of a directory; an absent directory is empty.
    virtual result<std::vector<std::string>> list(const std::string& dir) = 0;
    /// The whole file.
    virtual result<std::string> read(const std::string& path) = 0;
    virtual result<std::size_t> file_size(const std::string& path) = 0;
    virtual result<ok_t> append(const std::string& path, std::string_view bytes) = 0;
    /// Replaces the file's content: written to a temporary name, then renamed over it, so a crash
    /// leaves the old content or the new one, never half of it.
    virtual result<ok_t> write(const std::string& path, std::string_view bytes) = 0;
    virtual result<ok_t> truncate(const std::string& path, std::size_t size) = 0;
    /// Removes a file, or a directory with everything in it. Absent is fine.
    virtual result<ok_t> remove(const std::string& path) = 0;
    virtual result<ok_t> make_dirs(const std::string& dir) = 0;
};

/// POSIX calls (open, rename, opendir…): a real directory natively, IDBFS under Emscripten.
/// It keeps the file it last appended to open: the history appends every live event to its
/// active segment, and under Emscripten each open()/close() resolves the path in JavaScript
/// (about half the cost of a live event in the page). Any other change closes it first, so the
/// descriptor never outlives a rename, truncation or removal of its file.
///
/// With track_changes(true) it also notes every path it creates, changes or removes, for the
/// browser's glue to copy just those to IndexedDB (IDBFS's own sync walks every stored file and
/// every IndexedDB key each time).
class posix_file_system final : public file_system {
public:
    posix_file_system() = default;
    posix_file_system(const posix_file_system&) = delete;
    posix_file_system& operator=(const posix_file_system&) = delete;
    ~posix_file_system() override;
    result<std::vector<std::string>> list(const std::string& dir) override;
    result<std::string> read(const std::string& path) override;
    result<std::size_t> file_size(const std::string& path) override;
    result<ok_t> append(const std::string& path, std::string_view bytes) override;
    result<ok_t> write(const std::string& path, std::string_view bytes) override;
    result<ok_t> truncate(const std::string& path, std::size_t size) override;
    result<ok_t> remove(const std::string& path) override;
    result<ok_t> make_dirs(const std::string& dir) override;

    void track_changes(bool on) { tracking_ = on; }
    /// The paths created, changed or removed since the last call, sorted (a directory before what
    /// it holds); each once, whatever happened to it. Empty unless tracking.
    std::vector<std::string> take_changed_paths();

private:
    void close_append_file() noexcept;
    void note(const std::string& path) {
        if (tracking_) changed_.insert(path);
    }

    std::string append_path_;
    int append_fd_ = -1;
    bool append_noted_ = false;  // append_path_ is in changed_ (spares a set lookup per event)
    bool tracking_ = false;
    std::set<std::string> changed_;
};

/// Files in a map. bytes_written() counts every byte handed to it (for benchmarks);
/// snapshot()/restore() let a test or simulator model a crash that loses unsynced writes.
class memory_file_system final : public file_system {
public:
    result<std::vector<std::string>> list(const std::string& dir) override;
    result<std::string> read(const std::string& path) override;
    result<std::size_t> file_size(const std::string& path) override;
    result<ok_t> append(const std::string& path, std::string_view bytes) override;
    result<ok_t> write(const std::string& path, std::string_view bytes) override;
    result<ok_t> truncate(const std::string& path, std::size_t size) override;
    result<ok_t> remove(const std::string& path) override;
    result<ok_t> make_dirs(const std::string& dir) override;

    std::map<std::string, std::string>& files() noexcept { return files_; }
    std::size_t bytes_written() const noexcept { return bytes_written_; }

private:
    std::map<std::string, std::string> files_;  // path -> content; directories are implied
    std::size_t bytes_written_ = 0;
};

} // namespace holdfast
