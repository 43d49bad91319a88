// Equality of two short texts, always inlined. Layer: portable core.
// The browser build compiles the core for size (-Oz), and under it LLVM keeps string_view's
// operator== a call (to compare, then to char_traits, then to memcmp), and V8 inlines none of
// them: per event, the kind, message id and producer comparisons were a quarter of a replay's
// time in the core. Kinds, ids and keys are short, so a plain loop is also the faster compare.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace holdfast::detail {

[[gnu::always_inline]] inline bool same_text(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    std::size_t i = 0;
    // Eight bytes a step (ids are UUIDs, 36 characters and more); memcpy is one unaligned load.
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        if (x != y) return false;
    }
    for (; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

} // namespace holdfast::detail
