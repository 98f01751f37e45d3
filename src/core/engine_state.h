// EngineState: everything an Engine holds, in one struct so that the engine,
// the state codec and group rollback share it without friendship.
#pragma once

#include <cstdint>

#include "base/units.h"
#include "core/apply_context.h"
#include "core/claims.h"
#include "core/expiry.h"
#include "core/idempotency.h"
#include "core/ledger.h"
#include "core/locks.h"
#include "core/rate_limits.h"

namespace exactly::core {

struct EngineState {
  ClaimTable claims;
  Ledger ledger;
  LockTable locks;
  IdemTable idem;
  LimitTable limits;  // volatile: in snapshots, never in the journal
  Counters counters;
  // Derived from the tables (ScheduleAll), never saved: see expiry.h.
  ExpiryQueue expiry;
  Lsn applied_lsn;
  int64_t last_timestamp_ms = 0;
};

}  // namespace exactly::core
