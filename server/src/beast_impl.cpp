// Boost.Asio and Boost.Beast compiled once (BOOST_*_SEPARATE_COMPILATION is set on the target), so
// the shell's other files only parse declarations. Layer: relay build plumbing.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
