// Strong types for quantities that must not mix: a log position is not a time.
#pragma once

#include <compare>
#include <cstdint>

namespace exactly {

// Log sequence number: position of a batch record in the journal, starting at 1.
// 0 means "nothing": state that no record has touched yet.
struct Lsn {
  uint64_t value = 0;
  constexpr auto operator<=>(const Lsn&) const = default;
  constexpr Lsn Next() const { return Lsn{value + 1}; }
};

// Milliseconds since the Unix epoch, UTC. The only clock the engine knows is the
// batch timestamp, so every TimestampMs inside core/ came from the log.
struct TimestampMs {
  int64_t value = 0;
  constexpr auto operator<=>(const TimestampMs&) const = default;
};

// Minor units of a ledger balance (cents, quota points, items of stock).
using Amount = int64_t;

// "No time": the wire shows it as -1 (no expiry, no window).
inline constexpr int64_t kNoTimeMs = -1;

}  // namespace exactly
