// POSIX and in-memory file systems for the history. Layer: portable core. The POSIX one uses
// only C stdio and <dirent.h>/<sys/stat.h>, which Emscripten's FS (and so IDBFS) implements.
#include "holdfast/file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace holdfast {
namespace {

error fs_error(const char* what, const std::string& path) {
    return make_error(errc::store_failure, std::string(what) + " " + path + ": " + std::strerror(errno));
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
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return fs_error("open", path);
    std::string content;
    char buffer[16 * 1024];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, n);
    const bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed) return fs_error("read", path);
    return content;
}

result<std::size_t> posix_file_system::file_size(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fs_error("stat", path);
    return static_cast<std::size_t>(st.st_size);
}

result<ok_t> posix_file_system::append(const std::string& path, std::string_view bytes) {
    std::FILE* file = std::fopen(path.c_str(), "ab");
    if (!file) return fs_error("open", path);
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    const bool closed = std::fclose(file) == 0;
    if (!written || !closed) return fs_error("append", path);
    return ok_t{};
}

result<ok_t> posix_file_system::write(const std::string& path, std::string_view bytes) {
    const std::string temporary = path + ".tmp";
    std::FILE* file = std::fopen(temporary.c_str(), "wb");
    if (!file) return fs_error("open", temporary);
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    const bool closed = std::fclose(file) == 0;
    if (!written || !closed) {
        std::remove(temporary.c_str());
        return fs_error("write", temporary);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) return fs_error("rename", path);
    return ok_t{};
}

result<ok_t> posix_file_system::truncate(const std::string& path, std::size_t size) {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return fs_error("truncate", path);
    return ok_t{};
}

result<ok_t> posix_file_system::remove(const std::string& path) {
    if (is_directory(path)) {
        auto names = list(path);
        if (!names) return names.err();
        for (const auto& name : names.value()) {
            if (auto removed = remove(path + "/" + name); !removed) return removed;
        }
        if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return fs_error("rmdir", path);
        return ok_t{};
    }
    if (std::remove(path.c_str()) != 0 && errno != ENOENT) return fs_error("remove", path);
    return ok_t{};
}

result<ok_t> posix_file_system::make_dirs(const std::string& dir) {
    for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string prefix = dir.substr(0, slash);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return fs_error("mkdir", prefix);
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
