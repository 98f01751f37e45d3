// LimitTable: rate limits (LIMIT key RATE ... | WINDOW ...). Volatile by design:
// LIMIT never reaches the journal (its state is kept in snapshots only), so a
// crash forgets the requests counted since the last snapshot, in the callers'
// favour. An idle key is forgotten once its bucket is full again or its window
// ends, which is exactly when forgetting changes no answer.
//
// RATE n PER ms [BURST b] [COST c] is GCRA, a token bucket kept as one time:
// the bucket holds b tokens (default n) and refills at n tokens per `per` ms,
// continuously. A request of cost c (default 1) is allowed when the bucket holds
// at least c tokens, and then takes them. With T = per / n (the emission interval)
// and TAT the theoretical arrival time (the instant the bucket would be full):
//   allowed  iff  max(TAT, now) + c*T - now <= b*T,  then TAT = max(TAT, now) + c*T.
// Times are kept exactly: TAT is tat_ms + tat_frac / n, and the arithmetic runs
// in units of 1/n ms, so no rounding ever accumulates. Reply fields:
//   remaining       whole tokens left after this request (before, when limited)
//   retry_after_ms  0 when allowed; else the ms until c tokens are there (rounded up)
//   reset_ms        the ms until the bucket is full again (rounded up)
//
// WINDOW n PER ms [COST c] is a fixed window that starts at the key's first
// request (the INCR + PEXPIRE idiom): within [start, start + per) the counts add
// up; a request is limited when count + c > n. remaining is n - count (after the
// request if allowed); retry_after_ms and reset_ms are start + per - now (0
// retry_after when allowed). A key switched between RATE and WINDOW starts over.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/units.h"
#include "core/apply_context.h"
#include "core/claims.h"
#include "core/command.h"
#include "core/expiry.h"
#include "core/incremental_map.h"
#include "core/reply.h"

namespace exactly::core {

struct LimitState {
  bool window = false;
  // RATE: TAT = tat_ms + tat_frac / rate_n, 0 <= tat_frac < rate_n.
  int64_t tat_ms = 0;
  int64_t tat_frac = 0;
  int64_t rate_n = 1;
  // WINDOW.
  int64_t window_start_ms = 0;
  int64_t count = 0;
  int64_t forget_ms = kNoTimeMs;  // when the key is idle again
  bool operator==(const LimitState&) const = default;
};

using LimitMap = IncrementalMap<std::string, LimitState, NameHash, NameEqual>;

class LimitTable {
 public:
  // Never changes durable state (effect->changed stays false).
  Reply Apply(const cmd::Limit& args, const Command& command, const ApplyContext& context,
              Effect* effect);

  void Expire(const ExpiryEntry& entry);
  void ScheduleAll(ExpiryQueue* expiry) const;
  void Restore(std::string_view key, std::optional<LimitState> state);

  const LimitMap& keys() const { return keys_; }

 private:
  Reply Rate(const cmd::Limit& command, const ApplyContext& context, LimitState* state);
  Reply Window(const cmd::Limit& command, const ApplyContext& context, LimitState* state);

  LimitMap keys_;
};

}  // namespace exactly::core
