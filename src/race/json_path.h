// Reading JSON for `exactly race`: a body parsed with Boost.JSON and a dotted path
// into it (`--observe-json balance`, `data.items.0.count`). Boost.JSON itself is
// compiled once, in base/boost_json.cc.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace exactly::race {

// Parses `text` as one JSON value; InvalidArgument names the error and its offset.
base::Result<boost::json::value> ParseJson(std::string_view text);

// Checks a dotted path: non-empty segments separated by '.'.
base::Status CheckJsonPath(std::string_view path);

// The integer at `path` in `root`: each segment is an object key or, in an array, a
// 0-based index. An integer, a float with no fraction, or a string holding an
// integer counts; anything else (absent, null, text, object) fails and says what
// was found instead.
base::Result<int64_t> IntegerAt(const boost::json::value& root, std::string_view path);

// Parses a whole string as an int64 (optional sign, surrounding spaces allowed).
base::Result<int64_t> ParseInteger(std::string_view text);

}  // namespace exactly::race
