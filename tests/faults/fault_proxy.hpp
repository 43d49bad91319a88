// fault_proxy: a TCP proxy on 127.0.0.1:0 in front of the relay that breaks links on purpose —
// cuts each connection after a seeded number of bytes (cut_plan; at most max_cuts per run), cuts
// every link on demand, and can stall links (stop forwarding without closing, as a sleeping
// laptop or a mobile hand-over does). Layer: tests (faults). Single-threaded on the caller's
// io_context. It keeps a trace of what it did for failure reports.
#pragma once
#include "cut_plan.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace holdfast::faults {

class fault_proxy {
public:
    fault_proxy(boost::asio::io_context& ioc, std::uint16_t upstream_port, cut_config config);
    ~fault_proxy();
    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::uint64_t seed() const noexcept { return plan_.config().seed; }
    void set_upstream_port(std::uint16_t port) noexcept { upstream_port_ = port; }

    /// Seeded cuts on or off (off: links are forwarded untouched from now on; armed ones disarm).
    void set_cuts_enabled(bool enabled) noexcept { cuts_enabled_ = enabled; }
    /// Cuts every open link now (not counted against max_cuts).
    void cut_all();
    /// Stops forwarding on every open link, both ways, without closing; new links are not stalled.
    void stall_all();
    void resume_all();

    std::size_t cuts_done() const noexcept { return cuts_done_; }
    std::size_t connections_accepted() const noexcept { return accepted_; }
    const std::vector<std::string>& trace() const noexcept { return trace_; }
    std::string trace_text() const;

private:
    class link;
    friend class link;

    void do_accept();
    void note(std::string line);
    bool arm_cut();  // whether one more cut may be armed now

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::uint16_t upstream_port_;
    cut_plan plan_;
    bool cuts_enabled_ = true;
    std::size_t cuts_done_ = 0;
    std::size_t cuts_armed_ = 0;  // armed on live links, not yet fired
    std::size_t accepted_ = 0;
    std::set<std::shared_ptr<link>> links_;
    std::vector<std::string> trace_;
};

} // namespace holdfast::faults
