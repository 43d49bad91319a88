// Maps GET paths to files: `/` and other paths under the static directory (the demo page), and
// `/sdk/<file>` under the SDK directory (the built WASM client). Layer: relay; reads files but
// owns no socket. Rejects `..` traversal and anything that resolves outside its root.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast::relay {

struct static_file {
    std::string body;
    std::string content_type;
    /// A strong validator from the file's size and modification time (quoted, as sent): with
    /// `no-cache` a browser revalidates every use, and If-None-Match gets a 304 instead of the
    /// SDK's ~220 KB again.
    std::string etag;
};

class static_files {
public:
    static_files(std::filesystem::path static_dir, std::filesystem::path sdk_dir);

    /// The file for a request target (query ignored), or nullopt: not found, or not allowed.
    std::optional<static_file> lookup(std::string_view target) const;

    /// Whether an If-None-Match header value names `etag` (a list of tags, or "*").
    static bool matches(std::string_view if_none_match, std::string_view etag);

    /// Content type by extension; application/octet-stream when unknown.
    static std::string_view content_type_for(const std::filesystem::path& file);

private:
    static std::optional<static_file> read_under(const std::filesystem::path& root, std::string_view relative);

    std::filesystem::path static_dir_;
    std::filesystem::path sdk_dir_;
};

} // namespace holdfast::relay
