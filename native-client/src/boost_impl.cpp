// Boost.Asio, Boost.Beast and Boost.JSON compiled once for this library (the target defines
// BOOST_*_SEPARATE_COMPILATION), so the other files only parse declarations. Layer: native host
// build plumbing.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/json/src.hpp>
