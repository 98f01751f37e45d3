// `exactly race --load`: open-loop load at a fixed rate. Request k is due at
// start + k/rate whether or not earlier ones have answered, and its latency is
// measured from that intended time, so a stalled server shows as the latency its
// users would see (coordinated omission corrected, as wrk2 and HdrHistogram do).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "race/fire.h"
#include "race/histogram.h"
#include "race/rules.h"
#include "race/wire.h"

namespace exactly::race {

struct LoadOptions {
  double rate_per_s = 100;
  double duration_s = 10;
  int connections = 32;
  int timeout_ms = 10000;    // how long after the last due time answers are awaited
  size_t sample_max = 2000;  // requests kept with their times for the reports
};

struct LoadRun {
  Histogram latency;  // µs from intended send time to response complete
  Counts counts;
  std::map<int, int64_t> statuses;  // 0: no response
  int64_t sent = 0;
  double elapsed_s = 0;
  std::vector<RequestResult> sample;  // the first sample_max requests
};

// `payload(i)` gives request i's bytes (1-based); `user(i)` its user for the report.
// `progress(sent, done)` is called about once a second. Fails only when the target
// cannot be reached at the start.
base::Result<LoadRun> RunLoad(const Target& target,
                              const std::function<std::string(int64_t)>& payload,
                              const std::function<std::string(int64_t)>& user,
                              const std::vector<SuccessRule>& rules, const LoadOptions& options,
                              const std::function<void(int64_t, int64_t)>& progress);

}  // namespace exactly::race
