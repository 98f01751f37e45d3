// Wall-clock time in unix milliseconds (claims and windows are calendar times).
#include "server/clock.h"

#include <chrono>

namespace exactly::server {

TimestampMs WallClockNow() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return TimestampMs{std::chrono::duration_cast<std::chrono::milliseconds>(now).count()};
}

}  // namespace exactly::server
