// One synchronized round of `exactly race` over HTTP/1.1 or RESP: every connection
// is opened (and, for RESP, warmed with PING) first, every request is sent but its
// last byte, then one thread releases all last bytes back to back, so the target
// receives the N requests within the release spread. The naive mode does what
// grequests does: one thread per request, each connecting and sending on its own.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "race/release.h"
#include "race/wire.h"

namespace exactly::race {

enum class SyncMode { kLastByte, kNaive };

// What happened to one request. Times are µs from the round's first release.
struct RequestResult {
  int64_t index = 0;  // 1-based request number
  std::string user;
  int64_t start_us = -1;  // the request's last byte left
  int64_t end_us = -1;    // its response was complete; -1 when none came
  int status = 0;         // 0 when no response
  std::string body;
  std::string error;     // why there is no response (empty when there is one)
  bool success = false;  // set by the caller's rules
};

struct RoundRun {
  std::vector<RequestResult> requests;  // in request order
  // From the first last-byte send starting to the last one returning (µs).
  int64_t release_spread_us = 0;
  std::string release_method;  // "io_uring" or "send" (last-byte rounds only)
};

struct FireOptions {
  SyncMode sync = SyncMode::kLastByte;
  int timeout_ms = 10000;                        // per round, for all responses
  int settle_ms = 20;                            // pause between the withheld sends and the release
  ReleaseMethod release = ReleaseMethod::kAuto;  // how the last bytes leave (release.h)
};

// Raises the calling thread's scheduling priority for its lifetime when the process
// may (CAP_SYS_NICE): SCHED_FIFO, else nice -20; otherwise does nothing. Used around
// releases, which last milliseconds at most, so nothing else starves for long.
class ReleasePriority {
 public:
  ReleasePriority();
  ~ReleasePriority();
  ReleasePriority(const ReleasePriority&) = delete;
  ReleasePriority& operator=(const ReleasePriority&) = delete;

 private:
  int old_ = 0;
  bool raised_ = false;
  int old_policy_ = 0;
  sched_param old_param_{};
  bool fifo_ = false;
};

// Sends `payloads` (complete request bytes, one per request, each at least one
// byte) to `target` and reads one response per request. Fails with an IoError only
// when the target cannot be reached at all (resolution or connection refused);
// a request that later loses its connection is an error result, not a failure.
base::Result<RoundRun> Fire(const Target& target, const std::vector<std::string>& payloads,
                            const FireOptions& options);

}  // namespace exactly::race
