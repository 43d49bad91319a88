// Compiles Boost.JSON once for the core tests (header-only mode).
#include <boost/json/src.hpp>
