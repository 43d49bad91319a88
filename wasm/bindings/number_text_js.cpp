// Decimal text of doubles in the browser, from JS's Number (see holdfast/detail/number_text.hpp):
// Number's toString is the shortest text that reads back to the same double, and Number() parses
// a JSON literal to the nearest double, as strtod does. Layer: bindings.
#include "holdfast/detail/number_text.hpp"

#include <emscripten/em_macros.h>  // before em_js.h, which needs it in 3.1.6
#include <emscripten/em_js.h>

// Writes String(value) (at most 25 bytes: sign, 17 digits, point, exponent) and returns its length.
EM_JS(int, hf_js_format_double, (double value, char* out, int capacity), {
    return stringToUTF8(String(value), out, capacity);
});

// The literal is ASCII (the JSON parser checked it): its bytes are its characters. UTF8ToString
// would hand anything over 16 bytes (most 17-digit doubles with their point) to a TextDecoder.
EM_JS(double, hf_js_parse_double, (const char* literal, int length), {
    for (var text = ''; length--;) text += String.fromCharCode(HEAPU8[literal++]);
    return Number(text);
});

namespace holdfast::json::detail {

void append_double(double value, std::string& out) {
    char buffer[32];
    const int length = hf_js_format_double(value, buffer, static_cast<int>(sizeof buffer));
    out.append(buffer, static_cast<std::size_t>(length));
}

double parse_double(std::string_view literal) {
    return hf_js_parse_double(literal.data(), static_cast<int>(literal.size()));
}

} // namespace holdfast::json::detail
