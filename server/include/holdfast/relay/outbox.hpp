// The relay core's output queue: frames to send and close directives, drained by the shell after
// every input. Layer: relay (sans-I/O). Counting sent frames here keeps the metric in one place.
#pragma once
#include "holdfast/codec.hpp"
#include "holdfast/relay/relay_types.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace holdfast::relay {

class outbox {
public:
    explicit outbox(relay_metrics& metrics) : metrics_(metrics) {}

    template <class Frame>
    void send(connection_id to, const Frame& f) {
        send(to, std::make_shared<const std::string>(proto::encode(f)));
    }
    void send(connection_id to, std::shared_ptr<const std::string> bytes) {
        ++metrics_.frames_sent_total;
        pending_.push_back(outbound{to, std::move(bytes)});
    }
    void close(connection_id to) { pending_.push_back(outbound{to, nullptr}); }

    std::vector<outbound> take() { return std::exchange(pending_, {}); }
    bool empty() const noexcept { return pending_.empty(); }

private:
    relay_metrics& metrics_;
    std::vector<outbound> pending_;
};

} // namespace holdfast::relay
