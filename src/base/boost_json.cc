// Compiles Boost.JSON (header-only: `boost/json/src.hpp`) once for the whole
// binary, so every layer that reads or writes JSON (race, http) links the same
// definitions instead of each compiling its own.
#include <boost/json/src.hpp>
