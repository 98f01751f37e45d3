// A small HdrHistogram-style latency histogram: log-bucketed with 64 linear
// sub-buckets per power of two, so every recorded value keeps ~1.6% precision
// from 1 µs to hours in a few thousand counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace exactly::race {

class Histogram {
 public:
  Histogram();

  // Records one value (µs); negative values count as 0.
  void Record(int64_t value_us);
  // Records `value_us` and, as HdrHistogram's coordinated-omission correction does,
  // the values a client that waited would have missed: value - interval,
  // value - 2*interval, ... down to interval. Not needed when latency is already
  // measured from the intended send time (open-loop), but kept for closed loops.
  void RecordCorrected(int64_t value_us, int64_t expected_interval_us);

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  double Mean() const;
  // The value at `percentile` (0..100), reported as the highest value of its bucket
  // (never below the true value), clamped to the recorded max.
  int64_t ValueAt(double percentile) const;

  // Non-empty buckets as (lowest value, highest value, count), in order.
  struct Bucket {
    int64_t low_us;
    int64_t high_us;
    int64_t count;
  };
  std::vector<Bucket> Buckets() const;

  static size_t IndexOf(int64_t value_us);
  static int64_t LowestOf(size_t index);
  static int64_t HighestOf(size_t index);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t max_ = 0;
  int64_t min_ = 0;
  double sum_ = 0;
};

}  // namespace exactly::race
