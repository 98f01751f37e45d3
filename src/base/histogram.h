// Histogram: counts of observed values in fixed buckets, and their sum, for the
// Prometheus histograms of GET /metrics (batch sizes, records per fsync, fsync
// latency).
//
// One thread writes (Observe), any thread reads (Read). The writer's counters are
// relaxed atomics it loads and stores itself (a plain move on x86, no locked
// instruction), so observing costs a few instructions and reading never races;
// a Read concurrent with an Observe may see the bucket without the sum or the
// other way round, as a scrape of any live histogram may.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/assert.h"

namespace exactly::base {

// A histogram's counts read at one moment: `counts[i]` values were at most
// `upper_bounds[i]` and above the bound before; counts.back() were above every
// bound (the +Inf bucket). Not cumulative.
struct HistogramSnapshot {
  static constexpr size_t kBoundsMax = 24;
  std::span<const uint64_t> upper_bounds;  // ascending; points into static storage
  std::array<uint64_t, kBoundsMax + 1> counts{};
  uint64_t sum = 0;

  // Values observed: every bucket's count together.
  uint64_t count() const {
    uint64_t total = 0;
    for (size_t i = 0; i <= upper_bounds.size(); ++i) total += counts[i];
    return total;
  }
};

class Histogram {
 public:
  // `upper_bounds` must be ascending, at most kBoundsMax long, and outlive this
  // (a static table).
  explicit Histogram(std::span<const uint64_t> upper_bounds) : upper_bounds_(upper_bounds) {
    EXACTLY_ASSERT(upper_bounds_.size() <= HistogramSnapshot::kBoundsMax);
  }
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in its bucket and adds it to the sum. One writer thread at a time
  // (a hand-over between writers must be ordered, as a thread join orders it).
  void Observe(uint64_t value) {
    size_t bucket = 0;
    while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
    Bump(counts_[bucket], 1);
    Bump(sum_, value);
  }

  // The counts now; thread-safe.
  HistogramSnapshot Read() const {
    HistogramSnapshot snapshot;
    snapshot.upper_bounds = upper_bounds_;
    for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
      snapshot.counts[i] = counts_[i].load(std::memory_order_relaxed);
    }
    snapshot.sum = sum_.load(std::memory_order_relaxed);
    return snapshot;
  }

 private:
  // Only the writer stores, so a load and a store need no read-modify-write.
  static void Bump(std::atomic<uint64_t>& counter, uint64_t delta) {
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }

  const std::span<const uint64_t> upper_bounds_;
  std::array<std::atomic<uint64_t>, HistogramSnapshot::kBoundsMax + 1> counts_{};
  std::atomic<uint64_t> sum_{0};
};

// Bounds 1, 2, 4, ... 2^(kPowersOfTwo - 1): for counts such as commands per batch.
inline constexpr size_t kPowersOfTwo = 17;
inline constexpr std::array<uint64_t, kPowersOfTwo> kPowerOfTwoBounds = [] {
  std::array<uint64_t, kPowersOfTwo> bounds{};
  for (size_t i = 0; i < kPowersOfTwo; ++i) bounds[i] = uint64_t{1} << i;
  return bounds;
}();
static_assert(kPowersOfTwo <= HistogramSnapshot::kBoundsMax);

}  // namespace exactly::base
