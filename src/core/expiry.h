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

 private:
  struct Later {
    bool operator()(const ExpiryEntry& a, const ExpiryEntry& b) const;
  };
  std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, Later> heap_;
};

}  // namespace exactly::core
