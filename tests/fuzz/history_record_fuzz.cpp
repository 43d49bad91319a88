// libFuzzer target: the local history's record decoder and loader (IndexedDB content is as
// untrusted as the network: another script, a broken disk, a downgrade). The first byte picks
// the path: a bare history_record, or a whole segment file loaded by history::open — with the
// input wrapped in a correct [length][CRC-32] header so the fuzzer reaches the decoder rather
// than stopping at the checksum. Layer: tests (fuzz).
#include "holdfast/codec.hpp"
#include "holdfast/file_system.hpp"
#include "holdfast/history.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

std::uint32_t crc32(std::string_view bytes) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : bytes) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::uint8_t mode = data[0] % 3;
    if (mode == 0) {
        (void)holdfast::proto::decode_struct<holdfast::client::history_record>(body, {});
        return 0;
    }
    holdfast::memory_file_system fs;
    {
        auto created = holdfast::client::history::open(fs, "/h", "s", 1);
        if (!created || !created.value()->set_epoch(7)) __builtin_trap();
    }
    std::string segment;
    if (mode == 1) {  // one record with a valid header around the fuzzer's body
        put_u32(segment, static_cast<std::uint32_t>(body.size()));
        put_u32(segment, crc32(body));
        segment.append(body);
    } else {  // raw bytes: torn headers, bad lengths, checksum mismatches
        segment.assign(body);
    }
    fs.files()["/h/r00000000000000000001"] = segment;
    auto loaded = holdfast::client::history::open(fs, "/h", "s", 2);
    if (loaded) (void)loaded.value()->last_serial();
    return 0;
}
