// Reports a broken invariant and stops the process before it can do harm.
#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace exactly::base {

void AssertionFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "exactly: assertion failed: %s (%s:%d)\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace exactly::base
