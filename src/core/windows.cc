// Calendar window arithmetic (Gregorian calendar, fixed UTC offsets).
#include "core/windows.h"

namespace exactly::core {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t quotient = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

}  // namespace

// Eras of 400 years repeat exactly (146097 days); the year is counted from March
// so that the leap day is the last day of the counted year.
int64_t DaysFromCivil(int64_t year, int32_t month, int32_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(year, 400);
  const int64_t year_of_era = year - era * 400;
  const int64_t month_from_march = (month + 9) % 12;
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, int32_t* month, int32_t* day) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;
  *day = static_cast<int32_t>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  *month =
      static_cast<int32_t>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

Window WindowAt(int64_t time_ms, Period period, int32_t at_minutes, int32_t tz_minutes) {
  const int64_t at_ms =
      (period == Period::kHour ? FloorMod(at_minutes, 60) : at_minutes) * kMinuteMs;
  // Shift so that the window boundary falls on a multiple of the period in
  // "local" time; shift back at the end.
  const int64_t offset_ms = tz_minutes * kMinuteMs - at_ms;
  const int64_t local_ms = time_ms + offset_ms;
  int64_t local_start = 0;
  int64_t local_end = 0;
  switch (period) {
    case Period::kHour:
      local_start = FloorDiv(local_ms, kHourMs) * kHourMs;
      local_end = local_start + kHourMs;
      break;
    case Period::kDay:
      local_start = FloorDiv(local_ms, kDayMs) * kDayMs;
      local_end = local_start + kDayMs;
      break;
    case Period::kWeek: {
      const int64_t days = FloorDiv(local_ms, kDayMs);
      // 1970-01-01 was a Thursday: (days + 3) mod 7 counts days since Monday.
      const int64_t monday = days - FloorMod(days + 3, 7);
      local_start = monday * kDayMs;
      local_end = local_start + 7 * kDayMs;
      break;
    }
    case Period::kMonth: {
      int64_t year = 0;
      int32_t month = 0;
      int32_t day = 0;
      CivilFromDays(FloorDiv(local_ms, kDayMs), &year, &month, &day);
      local_start = DaysFromCivil(year, month, 1) * kDayMs;
      const int64_t next_year = month == 12 ? year + 1 : year;
      const int32_t next_month = month == 12 ? 1 : month + 1;
      local_end = DaysFromCivil(next_year, next_month, 1) * kDayMs;
      break;
    }
  }
  return Window{local_start - offset_ms, local_end - offset_ms};
}

}  // namespace exactly::core
