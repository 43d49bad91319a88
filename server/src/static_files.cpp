// static_files: safe path resolution, content types, whole-file reads. Layer: relay.
#include "holdfast/relay/static_files.hpp"

#include "holdfast/relay/http_api.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

namespace holdfast::relay {

static_files::static_files(std::filesystem::path static_dir, std::filesystem::path sdk_dir)
    : static_dir_(std::move(static_dir)), sdk_dir_(std::move(sdk_dir)) {}

std::string_view static_files::content_type_for(const std::filesystem::path& file) {
    const std::string ext = file.extension().string();
    if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".wasm") return "application/wasm";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json" || ext == ".map") return "application/json";
    if (ext == ".ts" || ext == ".txt") return "text/plain; charset=utf-8";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".ico") return "image/x-icon";
    return "application/octet-stream";
}

std::optional<static_file> static_files::lookup(std::string_view target) const {
    const std::string_view path = target.substr(0, target.find('?'));
    auto decoded = percent_decode(path);
    if (!decoded || decoded->empty() || decoded->front() != '/') return std::nullopt;
    std::string_view relative = *decoded;
    relative.remove_prefix(1);
    constexpr std::string_view sdk_prefix = "sdk/";
    if (relative.starts_with(sdk_prefix)) return read_under(sdk_dir_, relative.substr(sdk_prefix.size()));
    if (relative.empty() || relative.ends_with('/')) return read_under(static_dir_, std::string(relative) + "index.html");
    return read_under(static_dir_, relative);
}

std::optional<static_file> static_files::read_under(const std::filesystem::path& root, std::string_view relative) {
    if (relative.empty() || relative.find('\\') != std::string_view::npos) return std::nullopt;
    // Refuse every "..", "." and empty segment outright rather than normalizing them away.
    for (std::size_t start = 0; start <= relative.size();) {
        const auto slash = std::min(relative.find('/', start), relative.size());
        const auto segment = relative.substr(start, slash - start);
        if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
        start = slash + 1;
    }
    std::error_code ec;
    const auto canonical_root = std::filesystem::weakly_canonical(root, ec);
    if (ec) return std::nullopt;
    const auto file = std::filesystem::weakly_canonical(canonical_root / std::filesystem::path(relative), ec);
    if (ec) return std::nullopt;
    // A symlink inside the root may point elsewhere: the resolved file must still be under the root.
    auto [root_end, file_it] = std::mismatch(canonical_root.begin(), canonical_root.end(), file.begin(), file.end());
    if (root_end != canonical_root.end()) return std::nullopt;
    if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;

    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    static_file out;
    out.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    out.content_type = std::string(content_type_for(file));
    const auto modified = std::filesystem::last_write_time(file, ec);
    if (!ec) {
        char tag[64];
        std::snprintf(tag, sizeof tag, "\"%zx-%llx\"", out.body.size(),
                      static_cast<unsigned long long>(modified.time_since_epoch().count()));
        out.etag = tag;
    }
    return out;
}

bool static_files::matches(std::string_view if_none_match, std::string_view etag) {
    if (etag.empty()) return false;
    for (std::size_t start = 0; start < if_none_match.size();) {
        const auto comma = std::min(if_none_match.find(',', start), if_none_match.size());
        std::string_view tag = if_none_match.substr(start, comma - start);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
        if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison, as If-None-Match asks
        if (tag == "*" || tag == etag) return true;
        start = comma + 1;
    }
    return false;
}

} // namespace holdfast::relay
