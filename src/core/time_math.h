// Saturating arithmetic on unix-ms times, shared by the tables that turn a
// relative duration into an absolute time.
#pragma once

#include <cstdint>
#include <limits>

#include "base/checked_math.h"

namespace exactly::core {

// a + b, or the int64 maximum if that overflows: a time past int64 means "not
// within any run of this program", so it simply never comes due.
inline int64_t AddMs(int64_t a, int64_t b) {
  return base::CheckedAdd(a, b).value_or(std::numeric_limits<int64_t>::max());
}

}  // namespace exactly::core
