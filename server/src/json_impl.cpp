// Boost.JSON compiled once for the relay (header-only library: src.hpp in exactly one file).
// Layer: relay build plumbing.
#include <boost/json/src.hpp>
