// Decimal text of doubles through the C library (the native build; see detail/number_text.hpp for
// the browser's). Layer: portable core.
#include "holdfast/detail/number_text.hpp"

#include <cstdio>
#include <cstdlib>

namespace holdfast::json::detail {

void append_double(double value, std::string& out) {
    // Shortest text that round-trips (0.1 stays "0.1"), as JSON.stringify does. Any double whose
    // shortest form has <= 15 significant digits prints exactly that at %.15g (%g drops the
    // trailing zeros), so the search starts there: at most three formatting passes. Not
    // std::to_chars: Emscripten 3.1.6's libc++ lacks its floating-point overloads.
    char buffer[32];
    int length = 0;
    for (int precision = 15; precision <= 17; ++precision) {
        length = std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
        if (precision == 17 || std::strtod(buffer, nullptr) == value) break;
    }
    out.append(buffer, static_cast<std::size_t>(length));
}

double parse_double(std::string_view literal) {
    // strtod needs a terminated buffer; numbers are short.
    const std::string copy(literal);
    return std::strtod(copy.c_str(), nullptr);
}

} // namespace holdfast::json::detail
