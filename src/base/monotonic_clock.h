// Milliseconds on the monotonic clock: for idle timeouts and uptime, never for
// anything the engine decides (that time comes from the batch timestamp).
#pragma once

#include <chrono>
#include <cstdint>

namespace exactly::base {

inline int64_t MonotonicNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace exactly::base
