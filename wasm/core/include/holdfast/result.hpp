// A small expected-like result used across the core: expected failures are values, not exceptions,
// so nothing throws through the JS/WASM boundary. Layer: portable core.
#pragma once
#include "holdfast/errc.hpp"

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace holdfast {

struct error {
    errc code = errc::ok;
    std::string detail;  // human-readable: which field, which limit
};

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    result(error err) : state_(std::in_place_index<1>, std::move(err)) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(state_); }
    const T& value() const& { assert(has_value()); return std::get<0>(state_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const error& err() const { assert(!has_value()); return std::get<1>(state_); }

private:
    std::variant<T, error> state_;
};

struct ok_t {};

inline error make_error(errc code, std::string detail = {}) { return error{code, std::move(detail)}; }

} // namespace holdfast
