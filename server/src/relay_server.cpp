// relay_server: the public face of the Beast shell; forwards to relay_shell. Layer: relay shell.
#include "holdfast/relay/relay_server.hpp"

#include "relay_shell.hpp"

namespace holdfast::relay {

relay_server::relay_server(server_config config, std::unique_ptr<store> backing)
    : shell_(std::make_unique<relay_shell>(std::move(config), std::move(backing))) {}

relay_server::~relay_server() = default;

result<std::uint16_t> relay_server::start() { return shell_->start(); }
void relay_server::run() { shell_->run(); }
void relay_server::stop() { shell_->stop(); }

} // namespace holdfast::relay
