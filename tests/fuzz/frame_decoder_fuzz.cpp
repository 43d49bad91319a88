// libFuzzer target: the frame decoder (relay and WASM client both run it on untrusted bytes).
// Anything may be refused, nothing may crash, leak or trip ASan/UBSan, and whatever decodes must
// re-encode to bytes that decode to the same frame (an events batch in both its forms), and the
// client's in-place reading must agree with the decoder. Layer: tests (fuzz).
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
    // The client's receive path reads packed frames in place: as a message, frame by frame, it
    // must agree with decode_message (the same frames, the same errors), except that it reads no
    // frame only clients send: such a frame is protocol_violation, whatever is inside it.
    auto whole = holdfast::proto::decode_message(bytes);
    auto in_place = holdfast::proto::decode_message_in_place(bytes);
    if (whole.has_value() != in_place.has_value()) __builtin_trap();
    constexpr std::string_view unexpected = "unexpected frame from relay: ";
    const auto client_frame_name = [&](const auto& b) -> std::string_view {
        if (b || b.err().code != holdfast::errc::protocol_violation || !b.err().detail.starts_with(unexpected)) return {};
        return std::string_view(b.err().detail).substr(unexpected.size());
    };
    if (whole) {
        if (whole->size() != in_place->size()) __builtin_trap();
        for (std::size_t i = 0; i < whole->size(); ++i) {
            const auto& a = (*whole)[i];
            const auto& b = (*in_place)[i];
            if (const std::string_view name = client_frame_name(b); !name.empty()) {
                // hello, attach, detach, publish, control and ping come first in proto::frame.
                if (a && (a.value().index() > 5 || holdfast::proto::type_name(a.value()) != name)) __builtin_trap();
                if (name != "hello" && name != "attach" && name != "detach" && name != "publish" &&
                    name != "control" && name != "ping") {
                    __builtin_trap();
                }
                continue;
            }
            if (!a) {
                if (b || b.err().code != a.err().code || b.err().detail != a.err().detail) __builtin_trap();
                continue;
            }
            if (!b) __builtin_trap();
            if (const auto* view = std::get_if<holdfast::proto::event_batch_view>(&b.value())) {
                const auto* batch = std::get_if<holdfast::proto::event_batch>(&a.value());
                if (!batch || batch->session != view->session || batch->events.size() != view->events.size()) __builtin_trap();
                for (std::size_t k = 0; k < batch->events.size(); ++k) {
                    if (!(holdfast::proto::to_event(view->events[k]) == batch->events[k])) __builtin_trap();
                }
            } else if (!(std::get<holdfast::proto::frame>(b.value()) == a.value())) {
                __builtin_trap();
            }
        }
    }
    (void)holdfast::proto::decode_event(bytes);
    return 0;
}
