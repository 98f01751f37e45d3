// Calendar windows: boundaries, AT/TZ shifts, weeks, months, negative times.
#include "core/windows.h"

#include <gtest/gtest.h>

namespace exactly::core {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t Utc(int64_t year, int32_t month, int32_t day, int64_t hour = 0, int64_t minute = 0) {
  return DaysFromCivil(year, month, day) * kDay + hour * kHour + minute * kMinute;
}

TEST(WindowsTest, CivilDaysKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29) + 1, DaysFromCivil(2024, 3, 1));
  EXPECT_EQ(DaysFromCivil(2023, 2, 28) + 1, DaysFromCivil(2023, 3, 1));
  EXPECT_EQ(DaysFromCivil(1900, 2, 28) + 1, DaysFromCivil(1900, 3, 1));  // not leap
}

TEST(WindowsTest, CivilDaysRoundTrip) {
  for (int64_t days = -800'000; days <= 800'000; days += 13) {
    int64_t year = 0;
    int32_t month = 0;
    int32_t day = 0;
    CivilFromDays(days, &year, &month, &day);
    ASSERT_GE(month, 1);
    ASSERT_LE(month, 12);
    ASSERT_GE(day, 1);
    ASSERT_LE(day, 31);
    ASSERT_EQ(DaysFromCivil(year, month, day), days) << year << "-" << month << "-" << day;
  }
}

TEST(WindowsTest, DayInUtc) {
  const Window window = WindowAt(Utc(2024, 5, 17, 13, 45), Period::kDay, 0, 0);
  EXPECT_EQ(window.start_ms, Utc(2024, 5, 17));
  EXPECT_EQ(window.end_ms, Utc(2024, 5, 18));
}

TEST(WindowsTest, DayBoundaryIsInclusiveStartExclusiveEnd) {
  EXPECT_EQ(WindowAt(Utc(2024, 5, 17), Period::kDay, 0, 0).start_ms, Utc(2024, 5, 17));
  EXPECT_EQ(WindowAt(Utc(2024, 5, 17) - 1, Period::kDay, 0, 0).start_ms, Utc(2024, 5, 16));
}

TEST(WindowsTest, AtEightInPlusEightStartsAtUtcMidnight) {
  // 08:00 at UTC+08:00 is 00:00 UTC.
  const int64_t eight_local = Utc(2024, 5, 17);
  const Window window = WindowAt(eight_local + 5 * kHour, Period::kDay, 8 * 60, 8 * 60);
  EXPECT_EQ(window.start_ms, Utc(2024, 5, 17));
  EXPECT_EQ(window.end_ms, Utc(2024, 5, 18));
}

TEST(WindowsTest, SignInsAtSevenFiftyNineAndEightAreInDifferentWindows) {
  const int64_t at_0759_local = Utc(2024, 5, 17) - kMinute;  // 07:59 +08:00
  const int64_t at_0800_local = Utc(2024, 5, 17);            // 08:00 +08:00
  const Window before = WindowAt(at_0759_local, Period::kDay, 8 * 60, 8 * 60);
  const Window after = WindowAt(at_0800_local, Period::kDay, 8 * 60, 8 * 60);
  EXPECT_NE(before.start_ms, after.start_ms);
  EXPECT_EQ(before.end_ms, after.start_ms);
}

TEST(WindowsTest, DayInMinusFive) {
  // 03:00 UTC is 22:00 the day before at -05:00; that local day starts at 05:00 UTC.
  const Window window = WindowAt(Utc(2024, 5, 17, 3), Period::kDay, 0, -5 * 60);
  EXPECT_EQ(window.start_ms, Utc(2024, 5, 16, 5));
  EXPECT_EQ(window.end_ms, Utc(2024, 5, 17, 5));
}

TEST(WindowsTest, HourUsesMinutesOfAt) {
  const Window window = WindowAt(Utc(2024, 5, 17, 10, 10), Period::kHour, 2 * 60 + 30, 0);
  EXPECT_EQ(window.start_ms, Utc(2024, 5, 17, 9, 30));
  EXPECT_EQ(window.end_ms, Utc(2024, 5, 17, 10, 30));
  const Window plain = WindowAt(Utc(2024, 5, 17, 10, 10), Period::kHour, 0, 0);
  EXPECT_EQ(plain.start_ms, Utc(2024, 5, 17, 10));
  EXPECT_EQ(plain.end_ms - plain.start_ms, kHour);
}

TEST(WindowsTest, HourInHalfHourZone) {
  // India is UTC+05:30: local hours begin at :30 UTC.
  const Window window = WindowAt(Utc(2024, 5, 17, 10, 10), Period::kHour, 0, 5 * 60 + 30);
  EXPECT_EQ(window.start_ms, Utc(2024, 5, 17, 9, 30));
}

TEST(WindowsTest, WeekStartsOnMonday) {
  // 2024-01-01 was a Monday.
  const Window window = WindowAt(Utc(2024, 1, 3, 12), Period::kWeek, 0, 0);
  EXPECT_EQ(window.start_ms, Utc(2024, 1, 1));
  EXPECT_EQ(window.end_ms, Utc(2024, 1, 8));
  // Sunday night still belongs to the week that began the Monday before.
  EXPECT_EQ(WindowAt(Utc(2024, 1, 7, 23, 59), Period::kWeek, 0, 0).start_ms, Utc(2024, 1, 1));
  EXPECT_EQ(WindowAt(Utc(2024, 1, 8), Period::kWeek, 0, 0).start_ms, Utc(2024, 1, 8));
}

TEST(WindowsTest, WeekBeforeEpoch) {
  // 1969-12-29 was a Monday.
  const Window window = WindowAt(Utc(1970, 1, 1, 5), Period::kWeek, 0, 0);
  EXPECT_EQ(window.start_ms, Utc(1969, 12, 29));
  EXPECT_LT(window.start_ms, 0);
  EXPECT_EQ(window.end_ms, Utc(1970, 1, 5));
}

TEST(WindowsTest, WeekWithTimeZone) {
  // Monday 02:00 at +08:00 is Sunday 18:00 UTC: already the new local week.
  const Window window = WindowAt(Utc(2024, 1, 7, 18), Period::kWeek, 0, 8 * 60);
  EXPECT_EQ(window.start_ms, Utc(2024, 1, 7, 16));
}

TEST(WindowsTest, LeapFebruary) {
  const Window window = WindowAt(Utc(2024, 2, 29, 12), Period::kMonth, 0, 0);
  EXPECT_EQ(window.start_ms, Utc(2024, 2, 1));
  EXPECT_EQ(window.end_ms, Utc(2024, 3, 1));
  EXPECT_EQ(window.end_ms - window.start_ms, 29 * kDay);
}

TEST(WindowsTest, CommonFebruary) {
  const Window window = WindowAt(Utc(2023, 2, 28, 23, 59), Period::kMonth, 0, 0);
  EXPECT_EQ(window.end_ms - window.start_ms, 28 * kDay);
  EXPECT_EQ(WindowAt(Utc(2023, 3, 1), Period::kMonth, 0, 0).start_ms, Utc(2023, 3, 1));
}

TEST(WindowsTest, ThirtyAndThirtyOneDayMonths) {
  const Window april = WindowAt(Utc(2024, 4, 30, 23), Period::kMonth, 0, 0);
  EXPECT_EQ(april.end_ms - april.start_ms, 30 * kDay);
  const Window january = WindowAt(Utc(2024, 1, 31, 23), Period::kMonth, 0, 0);
  EXPECT_EQ(january.end_ms - january.start_ms, 31 * kDay);
  const Window december = WindowAt(Utc(2023, 12, 15), Period::kMonth, 0, 0);
  EXPECT_EQ(december.start_ms, Utc(2023, 12, 1));
  EXPECT_EQ(december.end_ms, Utc(2024, 1, 1));
}

TEST(WindowsTest, MonthInMinusFive) {
  // 2024-03-01 03:00 UTC is 2024-02-29 22:00 at -05:00: still February locally.
  const Window window = WindowAt(Utc(2024, 3, 1, 3), Period::kMonth, 0, -5 * 60);
  EXPECT_EQ(window.start_ms, Utc(2024, 2, 1, 5));
  EXPECT_EQ(window.end_ms, Utc(2024, 3, 1, 5));
}

TEST(WindowsTest, MonthWithAt) {
  // AT 06:00: the month starts on the 1st at 06:00 local.
  const Window window = WindowAt(Utc(2024, 3, 1, 5), Period::kMonth, 6 * 60, 0);
  EXPECT_EQ(window.start_ms, Utc(2024, 2, 1, 6));
  EXPECT_EQ(window.end_ms, Utc(2024, 3, 1, 6));
}

TEST(WindowsTest, NegativeTimesFloor) {
  const Window window = WindowAt(-1, Period::kDay, 0, 0);
  EXPECT_EQ(window.start_ms, -kDay);
  EXPECT_EQ(window.end_ms, 0);
  const Window month = WindowAt(-1, Period::kMonth, 0, 0);
  EXPECT_EQ(month.start_ms, Utc(1969, 12, 1));
  EXPECT_EQ(month.end_ms, 0);
}

TEST(WindowsTest, EveryTimeLiesInItsWindow) {
  for (int64_t time = -3 * kDay; time < 400 * kDay; time += 7 * kHour + 13 * kMinute + 1) {
    for (Period period : {Period::kHour, Period::kDay, Period::kWeek, Period::kMonth}) {
      const Window window = WindowAt(time, period, 75, -210);
      ASSERT_LE(window.start_ms, time);
      ASSERT_LT(time, window.end_ms);
      // The next window starts where this one ends.
      ASSERT_EQ(WindowAt(window.end_ms, period, 75, -210).start_ms, window.end_ms);
    }
  }
}

}  // namespace
}  // namespace exactly::core
