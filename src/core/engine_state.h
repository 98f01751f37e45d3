// EngineState: everything an Engine holds, in one struct so that the engine,
// the state codec and group rollback share it without friendship.
#pragma once

#include <cstdint>

#include "base/units.h"
#include "core/claims.h"
#include "core/expiry.h"
#include "core/ledger.h"

namespace exactly::core {

struct EngineState {
  ClaimTable claims;
  Ledger ledger;
  // Derived from the tables (ScheduleAll), never saved: see expiry.h.
  ExpiryQueue expiry;
  Lsn applied_lsn;
  int64_t last_timestamp_ms = 0;
};

}  // namespace exactly::core
