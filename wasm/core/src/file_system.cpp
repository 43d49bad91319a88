// POSIX and in-memory file systems for the history. Layer: portable core. The POSIX one uses
// only file descriptors and <dirent.h>/<sys/stat.h>, which Emscripten's FS (and so IDBFS)
// implements; not C stdio, whose buffered streams would add their code to the browser's download.
#include "holdfast/file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace holdfast {
namespace {

/// The failures a history store meets, by name; others by number. Not strerror: in the browser
/// its table of every errno's message is about a kilobyte of the gzipped download.
std::string errno_text(int code) {
    switch (code) {
    case ENOENT: return "no such file or directory";
    case EEXIST: return "file exists";
    case EACCES: return "permission denied";
    case EPERM: return "operation not permitted";
    case ENOSPC: return "no space left on device";
    case EDQUOT: return "disk quota exceeded";
    case EIO: return "input/output error";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "is a directory";
    case ENOTEMPTY: return "directory not empty";
    case EROFS: return "read-only file system";
    case EMFILE: return "too many open files";
    case ENAMETOOLONG: return "file name too long";
    default: return "errno " + std::to_string(code);
    }
}

error fs_error(const char* what, const std::string& path) {
    return make_error(errc::store_failure, std::string(what) + " " + path + ": " + errno_text(errno));
}

/// Writes all of `bytes` to `fd` (write may take less than asked).
bool write_all(int fd, std::string_view bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

/// write_all, then closes `fd`; errno is the first failure's.
bool write_and_close(int fd, std::string_view bytes) {
    const bool ok = write_all(fd, bytes);
    const int saved = errno;
    const bool closed = ::close(fd) == 0;
    if (!ok) errno = saved;
    return ok && closed;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

result<std::vector<std::string>> posix_file_system::list(const std::string& dir) {
    std::vector<std::string> names;
    DIR* handle = ::opendir(dir.c_str());
    if (!handle) {
        if (errno == ENOENT) return names;
        return fs_error("opendir", dir);
    }
    while (const dirent* entry = ::readdir(handle)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(handle);
    return names;
}

result<std::string> posix_file_system::read(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return fs_error("open", path);
    std::string content;
    char buffer[16 * 1024];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return fs_error("read", path);
        }
        content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return content;
}

result<std::size_t> posix_file_system::file_size(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fs_error("stat", path);
    return static_cast<std::size_t>(st.st_size);
}

posix_file_system::~posix_file_system() { close_append_file(); }

void posix_file_system::close_append_file() noexcept {
    if (append_fd_ >= 0) ::close(append_fd_);
    append_fd_ = -1;
    append_path_.clear();
    append_noted_ = false;
}

std::vector<std::string> posix_file_system::take_changed_paths() {
    std::vector<std::string> out(changed_.begin(), changed_.end());
    changed_.clear();
    append_noted_ = false;
    return out;
}

result<ok_t> posix_file_system::append(const std::string& path, std::string_view bytes) {
    if (append_fd_ < 0 || path != append_path_) {
        close_append_file();
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) return fs_error("open", path);
        append_fd_ = fd;
        append_path_ = path;
    }
    if (!append_noted_) {
        note(path);
        append_noted_ = tracking_;
    }
    if (!write_all(append_fd_, bytes)) {
        const error failed = fs_error("append", path);
        close_append_file();
        return failed;
    }
    return ok_t{};
}

result<ok_t> posix_file_system::write(const std::string& path, std::string_view bytes) {
    close_append_file();
    const std::string temporary = path + ".tmp";
    note(temporary);  // gone again on success; its removal is a change too if a failure left it
    note(path);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fs_error("open", temporary);
    if (!write_and_close(fd, bytes)) {
        const error failed = fs_error("write", temporary);
        ::unlink(temporary.c_str());
        return failed;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) return fs_error("rename", path);
    return ok_t{};
}

result<ok_t> posix_file_system::truncate(const std::string& path, std::size_t size) {
    close_append_file();
    note(path);
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return fs_error("truncate", path);
    return ok_t{};
}

result<ok_t> posix_file_system::remove(const std::string& path) {
    close_append_file();
    note(path);
    if (is_directory(path)) {
        auto names = list(path);
        if (!names) return names.err();
        for (const auto& name : names.value()) {
            if (auto removed = remove(path + "/" + name); !removed) return removed;
        }
        if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return fs_error("rmdir", path);
        return ok_t{};
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fs_error("remove", path);
    return ok_t{};
}

result<ok_t> posix_file_system::make_dirs(const std::string& dir) {
    for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string prefix = dir.substr(0, slash);
        if (!prefix.empty()) {
            if (::mkdir(prefix.c_str(), 0755) == 0) note(prefix);
            else if (errno != EEXIST) return fs_error("mkdir", prefix);
        }
        if (slash == std::string::npos) break;
    }
    return ok_t{};
}

// ---- memory_file_system ---------------------------------------------------------------------

result<std::vector<std::string>> memory_file_system::list(const std::string& dir) {
    std::vector<std::string> names;
    const std::string prefix = dir + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        const std::string rest = it->first.substr(prefix.size());
        const std::string name = rest.substr(0, rest.find('/'));
        if (names.empty() || names.back() != name) names.push_back(name);
    }
    return names;
}

result<std::string> memory_file_system::read(const std::string& path) {
    auto it = files_.find(path);
    if (it == files_.end()) return make_error(errc::store_failure, "no such file " + path);
    return it->second;
}

result<std::size_t> memory_file_system::file_size(const std::string& path) {
    auto it = files_.find(path);
    if (it == files_.end()) return make_error(errc::store_failure, "no such file " + path);
    return it->second.size();
}

result<ok_t> memory_file_system::append(const std::string& path, std::string_view bytes) {
    files_[path].append(bytes);
    bytes_written_ += bytes.size();
    return ok_t{};
}

result<ok_t> memory_file_system::write(const std::string& path, std::string_view bytes) {
    files_[path] = std::string(bytes);
    bytes_written_ += bytes.size();
    return ok_t{};
}

result<ok_t> memory_file_system::truncate(const std::string& path, std::size_t size) {
    auto it = files_.find(path);
    if (it == files_.end()) return make_error(errc::store_failure, "no such file " + path);
    it->second.resize(std::min(size, it->second.size()));
    return ok_t{};
}

result<ok_t> memory_file_system::remove(const std::string& path) {
    files_.erase(path);
    const std::string prefix = path + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
        it = files_.erase(it);
    }
    return ok_t{};
}

result<ok_t> memory_file_system::make_dirs(const std::string&) { return ok_t{}; }

} // namespace holdfast
