// fault_proxy: accept, connect upstream, two forwarding pumps per link, seeded cuts, stalls.
// Layer: tests (faults).
#include "fault_proxy.hpp"

#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <sstream>

namespace holdfast::faults {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

/// One proxied connection: client <-> relay. Direction 0 is up (client to relay), 1 is down.
class fault_proxy::link : public std::enable_shared_from_this<link> {
public:
    link(fault_proxy& owner, tcp::socket client, std::size_t id, std::optional<std::size_t> budget)
        : owner_(&owner), client_(std::move(client)), upstream_(client_.get_executor()), id_(id), budget_(budget) {}

    void start(std::uint16_t upstream_port) {
        upstream_.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), upstream_port),
                                [self = shared_from_this()](error_code ec) {
                                    if (self->closed_) return;
                                    if (ec) return self->close("upstream connect failed: " + ec.message());
                                    error_code ignored;
                                    self->client_.set_option(tcp::no_delay(true), ignored);
                                    self->upstream_.set_option(tcp::no_delay(true), ignored);
                                    self->read(0);
                                    self->read(1);
                                });
    }

    void detach() noexcept { owner_ = nullptr; }
    bool armed() const noexcept { return budget_.has_value(); }
    void disarm() noexcept { budget_.reset(); }

    void stall() { stalled_ = true; }
    void resume() {
        stalled_ = false;
        for (int dir = 0; dir < 2; ++dir) {
            if (pipes_[dir].parked) {
                pipes_[dir].parked = false;
                write(dir, pipes_[dir].parked_bytes, pipes_[dir].parked_cut);
            }
        }
    }

    /// Closes both sides (FIN after what was already written): the peers see the link end.
    void close(const std::string& why) {
        if (closed_) return;
        closed_ = true;
        error_code ignored;
        client_.shutdown(tcp::socket::shutdown_both, ignored);
        upstream_.shutdown(tcp::socket::shutdown_both, ignored);
        client_.close(ignored);
        upstream_.close(ignored);
        if (!owner_) return;
        if (budget_) --owner_->cuts_armed_;
        budget_.reset();
        owner_->note("link " + std::to_string(id_) + " closed after " + std::to_string(forwarded_) + " bytes: " + why);
        owner_->links_.erase(shared_from_this());
    }

private:
    struct pipe {
        std::array<char, 16 * 1024> buffer;
        bool parked = false;  // a chunk waits for resume()
        std::size_t parked_bytes = 0;
        bool parked_cut = false;
    };

    tcp::socket& source(int dir) { return dir == 0 ? client_ : upstream_; }
    tcp::socket& sink(int dir) { return dir == 0 ? upstream_ : client_; }

    void read(int dir) {
        source(dir).async_read_some(net::buffer(pipes_[dir].buffer),
                                    [self = shared_from_this(), dir](error_code ec, std::size_t n) {
                                        self->on_read(dir, ec, n);
                                    });
    }

    void on_read(int dir, error_code ec, std::size_t n) {
        if (closed_) return;
        if (ec) return close(std::string(dir == 0 ? "client" : "relay") + " side ended: " + ec.message());
        bool cut_after = false;
        if (budget_ && owner_ && owner_->cuts_enabled_) {
            const std::size_t remaining = *budget_ - forwarded_;
            if (n >= remaining) {
                n = remaining;  // forward up to the cut point, mid-frame as likely as not
                cut_after = true;
            }
        }
        forwarded_ += n;
        if (stalled_) {
            pipes_[dir] = pipe{pipes_[dir].buffer, true, n, cut_after};
            return;
        }
        write(dir, n, cut_after);
    }

    void write(int dir, std::size_t n, bool cut_after) {
        net::async_write(sink(dir), net::buffer(pipes_[dir].buffer.data(), n),
                         [self = shared_from_this(), dir, cut_after](error_code ec, std::size_t) {
                             if (self->closed_) return;
                             if (ec) return self->close("write failed: " + ec.message());
                             if (cut_after) return self->cut(dir);
                             self->read(dir);
                         });
    }

    void cut(int dir) {
        if (owner_) {
            ++owner_->cuts_done_;
            owner_->note("link " + std::to_string(id_) + " CUT " + (dir == 0 ? "up" : "down") + " at byte " +
                         std::to_string(forwarded_));
        }
        close("seeded cut");
    }

    fault_proxy* owner_;
    tcp::socket client_;
    tcp::socket upstream_;
    std::size_t id_;
    std::optional<std::size_t> budget_;  // cut once this many bytes crossed (both ways)
    std::size_t forwarded_ = 0;
    bool stalled_ = false;
    bool closed_ = false;
    std::array<pipe, 2> pipes_{};
};

fault_proxy::fault_proxy(net::io_context& ioc, std::uint16_t upstream_port, cut_config config)
    : ioc_(ioc), acceptor_(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0)),
      upstream_port_(upstream_port), plan_(config) {
    port_ = acceptor_.local_endpoint().port();
    note("seed " + std::to_string(config.seed) + ", max " + std::to_string(config.max_cuts) + " cuts, budget " +
         std::to_string(config.min_bytes) + ".." + std::to_string(config.max_bytes) + " bytes");
    do_accept();
}

fault_proxy::~fault_proxy() {
    error_code ignored;
    acceptor_.close(ignored);
    auto links = links_;
    for (const auto& l : links) {
        l->detach();  // pending handlers must not reach this destroyed proxy
        l->close("proxy destroyed");
    }
}

bool fault_proxy::arm_cut() { return cuts_enabled_ && cuts_done_ + cuts_armed_ < plan_.config().max_cuts; }

void fault_proxy::do_accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            const std::size_t id = ++accepted_;
            const std::size_t budget = plan_.draw_budget();
            std::optional<std::size_t> armed;
            if (arm_cut()) {
                armed = budget;
                ++cuts_armed_;
            }
            note("link " + std::to_string(id) + " accepted" +
                 (armed ? ", cut armed at byte " + std::to_string(budget) : std::string(", not armed")));
            auto l = std::make_shared<link>(*this, std::move(socket), id, armed);
            links_.insert(l);
            l->start(upstream_port_);
        }
        do_accept();
    });
}

void fault_proxy::cut_all() {
    auto links = links_;
    for (const auto& l : links) l->close("cut_all");
}

void fault_proxy::stall_all() {
    note("stall all " + std::to_string(links_.size()) + " links");
    for (const auto& l : links_) l->stall();
}

void fault_proxy::resume_all() {
    note("resume all");
    for (const auto& l : links_) l->resume();
}

void fault_proxy::note(std::string line) { trace_.push_back(std::move(line)); }

std::string fault_proxy::trace_text() const {
    std::ostringstream out;
    for (const auto& line : trace_) out << "  proxy: " << line << '\n';
    return out.str();
}

} // namespace holdfast::faults
