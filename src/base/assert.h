// Invariant checks that stay on in every build type.
//
// An assertion states something the code guarantees; a failure is a bug, never a
// reaction to user input (user input gets a named error from net/errors.h).
// One condition per assertion so the failure message names exactly what broke.
#pragma once

namespace exactly::base {

[[noreturn]] void AssertionFailed(const char* condition, const char* file, int line);

}  // namespace exactly::base

#define EXACTLY_ASSERT(condition)                                       \
  do {                                                                  \
    if (!(condition)) [[unlikely]] {                                    \
      ::exactly::base::AssertionFailed(#condition, __FILE__, __LINE__); \
    }                                                                   \
  } while (false)
