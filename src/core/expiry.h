// ExpiryQueue: what must happen at a given time (a claim ends, a reservation
// times out, a remembered id or an idle claim log is forgotten), in time order.
//
// Deletion is lazy: when a record changes, its old entry stays in the queue and
// the owner of the record ignores it when it comes due (the entry no longer
// matches the record). Entries are ordered by (time, kind, name), so the order in
// which due entries are handled depends only on the state, never on the order of
// insertion: an engine rebuilt from a snapshot expires exactly like the original.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace exactly::core {

// Lower kinds run first among entries due at the same time.
enum class ExpiryKind : uint8_t {
  kClaimEnd = 0,            // a claim's expires time
  kClaimLogForget = 1,      // a claim key with no live claim drops its CLAIMLOG
  kReservationTimeout = 2,  // a pending reservation is released
  kTransferForget = 3,      // a remembered transfer id is forgotten
  // A WAIT running out comes before a lease ending at the same time: a waiter whose
  // deadline is the grant time is not granted.
  kLockWaitEnd = 4,   // parked LOCKs on `name` whose deadline came are answered busy
  kLockLeaseEnd = 5,  // a lock's lease ends: the next waiter is granted at that time
  kLockIdForget = 6,  // a LOCK ... ID reply is forgotten (name: see locks.h)
  kIdemWaitEnd = 7,   // parked IDEM BEGINs whose deadline came are answered running
  kIdemLeaseEnd = 8,  // an IDEM runner's lease ends: the next waiter runs
  kIdemForget = 9,    // a done IDEM key's response is forgotten (its TTL)
  kLimitForget = 10,  // an idle rate-limit key is full again / its window ended
};

struct ExpiryEntry {
  int64_t time_ms = 0;
  ExpiryKind kind = ExpiryKind::kClaimEnd;
  std::string name;  // the claim key or the transfer id
};

class ExpiryQueue {
 public:
  // Schedules `kind` for `name` at `time_ms`. A time of -1 (never) is ignored.
  void Push(int64_t time_ms, ExpiryKind kind, std::string_view name);

  // Removes and returns the earliest entry due at or before `now_ms`, if any.
  bool PopDue(int64_t now_ms, ExpiryEntry* entry);

  void Clear();
  size_t size() const { return heap_.size(); }

  // Times at which a parked command may have to be answered (a lease ending with
  // waiters, a WAIT running out). Only times are kept: a time that turns out to
  // have nothing to do costs one empty batch, so entries are never deleted early.
  void PushWake(int64_t time_ms);
  // The earliest wake time still ahead, or kNoTimeMs (-1) for none.
  int64_t NextWake() const;
  // Forgets the wake times at or before `now_ms` (the batch at `now_ms` did them).
  void PopWakesDue(int64_t now_ms);

 private:
  struct Later {
    bool operator()(const ExpiryEntry& a, const ExpiryEntry& b) const;
  };
  std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, Later> heap_;
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<int64_t>> wakes_;
};

}  // namespace exactly::core
