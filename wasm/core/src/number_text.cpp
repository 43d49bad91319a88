// Decimal text of doubles through the C++ library (the native build; see detail/number_text.hpp
// for the browser's). Layer: portable core.
#include "holdfast/detail/number_text.hpp"

#include <charconv>
#include <cstdlib>
#include <system_error>

namespace holdfast::json::detail {

void append_double(double value, std::string& out) {
    // The shortest digits that read back (std::to_chars), laid out as JS's Number toString lays
    // them out, so native and browser builds write the same text: fixed from 1e-6 to below 1e21
    // (zeros after the digits, not more digits), exponent form outside ("1.5e-7", "1e+21").
    // Not in the browser: Emscripten 3.1.6's libc++ lacks the floating-point to_chars.
    char buffer[40];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    if (ec != std::errc{}) return;  // cannot happen: 40 bytes hold any double
    const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
    const std::size_t e = text.find('e');
    const bool negative = text.front() == '-';
    std::string digits;
    for (char c : text.substr(negative ? 1 : 0, e - (negative ? 1 : 0))) {
        if (c != '.') digits += c;
    }
    // value = 0.digits * 10^n, as the ECMAScript algorithm names it.
    int exponent = 0;
    const char* exponent_first = text.data() + e + 1;
    std::from_chars(exponent_first + (*exponent_first == '+' ? 1 : 0), end, exponent);
    const int n = exponent + 1;
    const int k = static_cast<int>(digits.size());
    if (negative) out += '-';
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, 0, static_cast<std::size_t>(n));
        out += '.';
        out.append(digits, static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out += digits;
    } else {
        out += digits.front();
        if (k > 1) {
            out += '.';
            out.append(digits, 1);
        }
        out += n - 1 >= 0 ? "e+" : "e-";
        out += std::to_string(std::abs(n - 1));
    }
}

double parse_double(std::string_view literal) {
    // strtod needs a terminated buffer; numbers are short.
    const std::string copy(literal);
    return std::strtod(copy.c_str(), nullptr);
}

} // namespace holdfast::json::detail
