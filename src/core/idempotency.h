// IdemTable: idempotency keys (IDEM BEGIN / END / ABORT): one execution per key,
// its response stored and replayed.
//
// A key is running (a runner holds it with a token from the engine-wide counter
// until its lease ends), done (END stored the response; kept for the TTL from END)
// or, only between a command and Settle(), free (ABORT, or the runner's lease
// ended). BEGIN on a free key, or on a key whose runner's lease ended, makes the
// caller the runner. BEGIN ... WAIT on a running key parks the caller (FIFO, at
// most kWaitersPerNameMax): END answers every waiter `done` with the response;
// ABORT or the lease end makes the first waiter the runner (`run`, fresh token,
// its lease from that moment); a waiter whose WAIT runs out is answered `running`.
// A fingerprint other than the key's first (both given) answers `mismatch` before
// anything else. Effects of END and ABORT on waiters wait for Settle(), so a
// rolled-back MULTI group never answers a waiter.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "core/apply_context.h"
#include "core/claims.h"
#include "core/command.h"
#include "core/expiry.h"
#include "core/incremental_map.h"
#include "core/reply.h"
#include "core/waiter_queue.h"

namespace exactly::core {

enum class IdemState : uint8_t { kRunning = 0, kDone = 1, kFree = 2 };
inline constexpr uint8_t kIdemStateLast = 2;

struct IdemWaiter {
  uint64_t waiter = 0;
  int64_t lease_ms = 0;  // the runner's lease if this waiter becomes the runner
  int64_t ttl_ms = 0;
  int64_t deadline_ms = 0;
  bool operator==(const IdemWaiter&) const = default;
};

struct IdemKey {
  IdemState state = IdemState::kRunning;
  std::string fingerprint;           // the first non-empty FINGERPRINT
  uint64_t token = 0;                // the current (or last) runner's token
  int64_t lease_end_ms = kNoTimeMs;  // running: when the runner loses the key
  int64_t ttl_ms = 0;                // how long END's response is kept
  int64_t forget_ms = kNoTimeMs;     // done: when the key is forgotten
  std::string response;
  Lsn lsn;
  WaiterQueue<IdemWaiter> waiters;
  bool operator==(const IdemKey&) const = default;
};

using IdemMap = IncrementalMap<std::string, IdemKey, NameHash, NameEqual>;

class IdemTable {
 public:
  Reply Apply(const cmd::IdemBegin& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::IdemEnd& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::IdemAbort& args, const Command& command, const ApplyContext& context,
              Effect* effect);

  // Answers the waiters of keys ended or freed by the last command (at now).
  void Settle(const ApplyContext& context);
  void DropUnsettled() { unsettled_.clear(); }

  bool Cancel(uint64_t waiter);
  bool DropWaiters();

  // Handles a due IDEM entry; true if a waiter became the runner (logged).
  bool Expire(const ExpiryEntry& entry, const ApplyContext& context);
  void ScheduleAll(ExpiryQueue* expiry) const;

  void Restore(std::string_view key, std::optional<IdemKey> idem);

  const IdemMap& keys() const { return keys_; }
  size_t waiters() const { return waiter_keys_.size(); }

 private:
  void SaveForUndo(std::string_view key, const ApplyContext& context) const;
  // Makes the first waiter still in time the runner at `at_ms`, or erases the key.
  // True if a waiter became the runner.
  bool PromoteNext(std::string_view key, int64_t at_ms, const ApplyContext& context);
  // Answers a waiter whose WAIT ran out (running).
  void AnswerLate(const IdemWaiter& waiter, const IdemKey& idem, const ApplyContext& context);
  void TakeRun(std::string_view key, IdemKey* idem, int64_t at_ms, int64_t lease_ms, int64_t ttl_ms,
               const ApplyContext& context);

  IdemMap keys_;
  WaiterIndex waiter_keys_;  // derived from keys_
  std::vector<std::string> unsettled_;
};

}  // namespace exactly::core
