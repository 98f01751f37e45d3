// ExpiryQueue: what must happen at a given time (a claim ends, a reservation
// times out, a remembered id or an idle claim log is forgotten), in time order.
//
// Deletion is lazy: when a record changes, its old entry stays in the queue and
// the owner of the record ignores it when it comes due (the entry no longer
// matches the record). Entries are ordered by (time, kind, name), so the order in
// which due entries are handled depends only on the state, never on the order of
// insertion: an engine rebuilt from a snapshot expires exactly like the original.
//
// The kinds that come by the million (a claim ends, a claim log or a transfer id
// is forgotten) name their record by
// its RecordHandle instead (16 bytes an entry, no copy of the key). Those entries are ordered by
// (time, kind, handle), and handles differ between a live engine and one rebuilt from a snapshot;
// that is safe because each of these kinds touches only its own record, so the order among entries
// of the same time and kind changes nothing. A handle may have been freed and reused by the time
// its entry comes due: the table checks the record it names now, which is due at that time and kind
// exactly when the check passes.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_store.h"

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

// Whether entries of `kind` name their record by handle (see above).
constexpr bool IsHandleKind(ExpiryKind kind) {
  return kind == ExpiryKind::kClaimEnd || kind == ExpiryKind::kClaimLogForget ||
         kind == ExpiryKind::kTransferForget;
}

struct ExpiryEntry {
  int64_t time_ms = 0;
  ExpiryKind kind = ExpiryKind::kClaimEnd;
  std::string name;                 // the key, for kinds that are not IsHandleKind
  RecordHandle handle = kNoRecord;  // the record, for kinds that are
};

class ExpiryQueue {
 public:
  // Schedules `kind` for `name` at `time_ms`. A time of -1 (never) is ignored.
  // `kind` must not be IsHandleKind.
  void Push(int64_t time_ms, ExpiryKind kind, std::string_view name);
  // Schedules an IsHandleKind `kind` for the record `handle` at `time_ms`.
  void Push(int64_t time_ms, ExpiryKind kind, RecordHandle handle);
  // Makes room for `count` more handle entries (before scheduling a loaded table).
  void ReserveHandles(size_t count);
  // For a bulk load: adds an entry like Push but leaves the queue unordered until
  // Heapify, which orders everything added in O(n) rather than O(n log n).
  void PushUnordered(int64_t time_ms, ExpiryKind kind, RecordHandle handle);
  void Heapify();

  // Removes and returns the earliest entry due at or before `now_ms`, if any.
  bool PopDue(int64_t now_ms, ExpiryEntry* entry);

  void Clear();
  size_t size() const { return heap_.size() + handles_.size(); }

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
  struct HandleEntry {
    int64_t time_ms;
    uint64_t kind_handle;  // kind << 32 | handle: compares as (kind, handle)
    bool operator>(const HandleEntry& other) const {
      return time_ms != other.time_ms ? time_ms > other.time_ms : kind_handle > other.kind_handle;
    }
  };
  static_assert(sizeof(HandleEntry) == 16);
  std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, Later> heap_;
  std::vector<HandleEntry> handles_;  // a min-heap by (time, kind, handle)
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<int64_t>> wakes_;
};

}  // namespace exactly::core
