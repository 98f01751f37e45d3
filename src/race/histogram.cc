// HdrHistogram-style latency histogram.
#include "race/histogram.h"

#include <algorithm>
#include <bit>

namespace exactly::race {
namespace {

constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
constexpr int64_t kSub = int64_t{1} << kSubBits;
constexpr size_t kBuckets = (64 - kSubBits) * kSub + 2 * kSub;

}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

size_t Histogram::IndexOf(int64_t value_us) {
  const uint64_t v = value_us < 0 ? 0 : static_cast<uint64_t>(value_us);
  if (v < static_cast<uint64_t>(2 * kSub)) return static_cast<size_t>(v);
  // shift keeps the top kSubBits+1 bits: (v >> shift) is in [kSub, 2*kSub).
  const int shift = std::bit_width(v) - (kSubBits + 1);
  return static_cast<size_t>(shift * kSub + static_cast<int64_t>(v >> shift));
}

int64_t Histogram::LowestOf(size_t index) {
  const int64_t i = static_cast<int64_t>(index);
  if (i < 2 * kSub) return i;
  const int64_t shift = i / kSub - 1;
  const int64_t sub = i - shift * kSub;  // in [kSub, 2*kSub)
  return sub << shift;
}

int64_t Histogram::HighestOf(size_t index) {
  const int64_t i = static_cast<int64_t>(index);
  if (i < 2 * kSub) return i;
  const int64_t shift = i / kSub - 1;
  return LowestOf(index) + (int64_t{1} << shift) - 1;
}

void Histogram::Record(int64_t value_us) {
  if (value_us < 0) value_us = 0;
  ++counts_[IndexOf(value_us)];
  if (count_ == 0 || value_us < min_) min_ = value_us;
  max_ = std::max(max_, value_us);
  ++count_;
  sum_ += static_cast<double>(value_us);
}

void Histogram::RecordCorrected(int64_t value_us, int64_t expected_interval_us) {
  Record(value_us);
  if (expected_interval_us <= 0) return;
  for (int64_t missed = value_us - expected_interval_us; missed >= expected_interval_us;
       missed -= expected_interval_us) {
    Record(missed);
  }
}

double Histogram::Mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

int64_t Histogram::ValueAt(double percentile) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(percentile, 0.0, 100.0);
  int64_t rank = static_cast<int64_t>(clamped / 100.0 * static_cast<double>(count_) + 0.5);
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

std::vector<Histogram::Bucket> Histogram::Buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) out.push_back({LowestOf(i), HighestOf(i), counts_[i]});
  }
  return out;
}

}  // namespace exactly::race
