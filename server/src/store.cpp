// The store factory and the default epoch source. Layer: relay.
#include "holdfast/relay/memory_store.hpp"
#include "holdfast/relay/sqlite_store.hpp"
#ifdef HOLDFAST_WITH_REDIS
#include "holdfast/relay/redis_store.hpp"
#endif

#include <random>

namespace holdfast::relay {

std::uint64_t random_epoch() {
    // Seeded once from the OS; epochs only need to differ between incarnations of a session.
    static std::mt19937_64 generator{std::random_device{}()};
    constexpr std::uint64_t js_safe_mask = (std::uint64_t{1} << 53) - 1;
    for (;;) {
        const std::uint64_t epoch = generator() & js_safe_mask;
        if (epoch != 0) return epoch;
    }
}

result<std::unique_ptr<store>> open_store(std::string_view url, epoch_source epochs) {
    if (url == "memory:") return std::unique_ptr<store>(std::make_unique<memory_store>(std::move(epochs)));
    constexpr std::string_view sqlite_prefix = "sqlite:";
    if (url.starts_with(sqlite_prefix) && url.size() > sqlite_prefix.size()) {
        auto opened = sqlite_store::open(std::string(url.substr(sqlite_prefix.size())), std::move(epochs));
        if (!opened) return opened.err();
        return std::unique_ptr<store>(std::move(opened).value());
    }
    if (url.starts_with("redis://")) {
#ifdef HOLDFAST_WITH_REDIS
        auto address = parse_redis_url(url);
        if (!address) return address.err();
        auto opened = redis_store::open(std::move(address).value(), std::move(epochs));
        if (!opened) return opened.err();
        return std::unique_ptr<store>(std::move(opened).value());
#else
        return make_error(errc::store_failure, "this relay was built without hiredis (install libhiredis-dev)");
#endif
    }
    return make_error(errc::store_failure, "unknown store URL '" + std::string(url) +
                                               "' (expected memory:, sqlite:PATH or redis://HOST:PORT/DB)");
}

} // namespace holdfast::relay
