// Calendar windows for PER day|hour|week|month [AT hh:mm] [TZ ±hh:mm].
//
// Pure functions of (time, period, AT, TZ): a window is the half-open interval
// [start_ms, end_ms) in UTC unix ms. Local time is UTC shifted by TZ; AT moves the
// window's boundary from local midnight to hh:mm. Weeks begin on Monday. For PER
// hour only AT's minutes (hh:mm modulo one hour) shift the boundary, since an
// hour cannot start at a given hour. Times before 1970 work (floor, not truncate).
#pragma once

#include <cstdint>

#include "core/command.h"

namespace exactly::core {

struct Window {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

// The window of `period` that contains `time_ms`.
Window WindowAt(int64_t time_ms, Period period, int32_t at_minutes, int32_t tz_minutes);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int64_t year, int32_t month, int32_t day);
void CivilFromDays(int64_t days, int64_t* year, int32_t* month, int32_t* day);

}  // namespace exactly::core
