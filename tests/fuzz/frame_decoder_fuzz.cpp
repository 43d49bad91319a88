// libFuzzer target: the frame decoder (relay and WASM client both run it on untrusted bytes).
// Anything may be refused, nothing may crash, leak or trip ASan/UBSan, and whatever decodes must
// re-encode to bytes that decode to the same frame (an events batch in both its forms). Layer:
// tests (fuzz).
#include "holdfast/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (auto decoded = holdfast::proto::decode(bytes)) {
        auto again = holdfast::proto::decode(holdfast::proto::encode(decoded.value()));
        if (!again || !(again.value() == decoded.value())) __builtin_trap();
        // An events batch also survives its packed form (which falls back to the plain one for
        // events that are not consecutive, or a ts past 2^63).
        if (const auto* batch = std::get_if<holdfast::proto::event_batch>(&decoded.value())) {
            auto unpacked = holdfast::proto::decode(holdfast::proto::encode_packed(*batch));
            if (!unpacked || !(unpacked.value() == decoded.value())) __builtin_trap();
        }
    }
    (void)holdfast::proto::decode_event(bytes);
    return 0;
}
