// The one place the wall clock is read. The pipeline reads it once per batch; the
// value goes into the journal, so nothing downstream ever reads a clock.
#pragma once

#include "base/units.h"

namespace exactly::server {

TimestampMs WallClockNow();

}  // namespace exactly::server
