// Decimal text of doubles for the JSON bridge. Layer: portable core.
// Two implementations, one per build: src/number_text.cpp (to_chars/strtod) natively, and in the
// browser wasm/bindings/number_text_js.cpp, which asks JS's Number: the same text, and it keeps
// printf's floating-point path and strtod (about 20 KB of code, with 128-bit long double software
// arithmetic) out of the SDK's download. Both are the slow path: json.cpp formats and parses most
// payload numbers itself (Clinger's fast path, both ways).
#pragma once
#include <string>
#include <string_view>

namespace holdfast::json::detail {

/// Appends the shortest decimal text that reads back as `value` (finite; the caller prints whole
/// numbers below 2^53 and non-finite ones itself), exactly as JSON.stringify does.
void append_double(double value, std::string& out);

/// The double nearest to a JSON number literal (already validated by the parser).
double parse_double(std::string_view literal);

} // namespace holdfast::json::detail
