// Tests for race/histogram: bucket bounds and percentiles.
#include "race/histogram.h"

#include <gtest/gtest.h>

namespace exactly::race {
namespace {

TEST(HistogramTest, BucketsCoverEveryValueWithBoundedError) {
  for (int64_t v : {0LL, 1LL, 127LL, 128LL, 129LL, 1000LL, 65535LL, 1234567LL, 1LL << 40}) {
    const size_t i = Histogram::IndexOf(v);
    EXPECT_LE(Histogram::LowestOf(i), v) << v;
    EXPECT_GE(Histogram::HighestOf(i), v) << v;
    // 64 sub-buckets per power of two: a bucket is at most 1/64 of its value wide.
    EXPECT_LE(Histogram::HighestOf(i) - Histogram::LowestOf(i), v / 64 + 1) << v;
  }
  // Buckets are contiguous.
  for (size_t i = 1; i < 2000; ++i) {
    EXPECT_EQ(Histogram::LowestOf(i), Histogram::HighestOf(i - 1) + 1) << i;
  }
}

TEST(HistogramTest, Percentiles) {
  Histogram h;
  for (int64_t v = 1; v <= 1000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 1000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 1000);
  EXPECT_NEAR(static_cast<double>(h.ValueAt(50)), 500.0, 8.0);
  EXPECT_NEAR(static_cast<double>(h.ValueAt(99)), 990.0, 16.0);
  EXPECT_EQ(h.ValueAt(100), 1000);
  EXPECT_NEAR(h.Mean(), 500.5, 0.01);
}

TEST(HistogramTest, CorrectedRecordingFillsMissedSamples) {
  Histogram h;
  h.RecordCorrected(1000, 100);
  // 1000, 900, ..., 100: what a waiting client would have missed.
  EXPECT_EQ(h.count(), 10);
  EXPECT_EQ(h.min(), 100);
}

}  // namespace
}  // namespace exactly::race
