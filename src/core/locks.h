// LockTable: leased, fair, reentrant, fenced locks (LOCK, RENEW, UNLOCK, FENCE,
// the IFLOCK check) with their FIFO wait queues.
//
// A lock is held while it has an owner and its lease has not ended (expires > now),
// so a holder's token goes stale the moment its lease ends even before any batch
// notices. Every grant takes a fresh token from the engine-wide counter
// (Counters::last_token), so tokens strictly increase for each name, across
// snapshots and replay. Re-entry by the owner counts depth and keeps the token;
// the lock frees at depth 0 (UNLOCK) or when the lease ends.
//
// LOCK ... WAIT on a busy lock parks the command as a waiter (FIFO per name, at
// most kWaitersPerNameMax). When the lock frees, the first waiter whose deadline
// is still ahead is granted at the time it freed (the batch time for UNLOCK, the
// lease end for an expiry), so replay reproduces token and expiry exactly. A grant
// made by UNLOCK waits until the command (or its MULTI group) has been applied:
// Settle() does it, so a rolled-back group never grants. Waiters never change
// inside a group (a group never parks).
//
// LOCK ... ID remembers the first reply for (name, id) until the id retention
// ends; while that request is still parked a repeat answers busy.
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
#include "core/outcome.h"
#include "core/reply.h"
#include "core/waiter_queue.h"

namespace exactly::core {

struct LockWaiter {
  uint64_t waiter = 0;
  std::string owner;
  std::string request_id;  // LOCK ... ID, or empty
  int64_t lease_ms = 0;
  int64_t deadline_ms = 0;                // not granted at or after this time
  int64_t remember_until_ms = kNoTimeMs;  // for request_id's reply
  bool operator==(const LockWaiter&) const = default;
};

struct Lock {
  std::string owner;  // empty: free (then the lock exists only for its waiters)
  uint64_t token = 0;
  int64_t depth = 0;
  int64_t expires_ms = kNoTimeMs;  // lease end
  Lsn lsn;                         // the last batch that changed the holder
  WaiterQueue<LockWaiter> waiters;
  bool operator==(const Lock&) const = default;
};

// The remembered first reply of a LOCK ... ID.
struct LockIdReply {
  Outcome outcome = Outcome::kBusy;
  uint64_t token = 0;  // 0 with busy (the reply says -1)
  int64_t depth = 0;
  int64_t expires_ms = kNoTimeMs;
  std::string holder;
  int64_t forget_ms = kNoTimeMs;
  uint64_t waiter = 0;  // non-zero while the request is still parked
  Lsn lsn;
  bool operator==(const LockIdReply&) const = default;
};

using LockMap = IncrementalMap<std::string, Lock, NameHash, NameEqual>;
using LockIdMap = boost::unordered_flat_map<std::string, LockIdReply, NameHash, NameEqual>;

// The LockIdMap key of (lock name, request id): unambiguous for binary names.
std::string LockIdKey(std::string_view name, std::string_view request_id);

class LockTable {
 public:
  // Mutations; `command` is resolved.
  Reply Apply(const cmd::Lock& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Renew& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Unlock& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  // Read.
  Reply Apply(const cmd::Fence& args, const Command& command, const ApplyContext& context,
              Effect* effect) const;

  // True if `token` holds lock `name` at `now_ms` (IFLOCK). Sets `*observed`.
  bool Holds(std::string_view name, uint64_t token, int64_t now_ms, Lsn* observed) const;

  // Grants locks freed by the last command to their next waiters, at
  // context.now_ms. Call after each command or group that was not rolled back.
  void Settle(const ApplyContext& context);
  // Forgets the locks freed by a rolled-back group (their holders are restored).
  void DropUnsettled() { unsettled_.clear(); }

  // Removes parked command `waiter` (its client is gone); false if unknown.
  bool Cancel(uint64_t waiter);
  // Removes every waiter; true if there was one.
  bool DropWaiters();

  // Handles a due lock entry; true if it granted a lock (a change the journal must
  // carry, so the batch gets a record).
  bool Expire(const ExpiryEntry& entry, const ApplyContext& context);
  void ScheduleAll(ExpiryQueue* expiry) const;

  // Group rollback and the state codec.
  void Restore(std::string_view name, std::optional<struct Lock> lock);
  void RestoreId(std::string_view key, std::optional<LockIdReply> reply);

  const LockMap& locks() const { return locks_; }
  const LockIdMap& ids() const { return ids_; }
  size_t held() const { return held_; }
  size_t waiters() const { return waiter_names_.size(); }

 private:
  void SaveForUndo(std::string_view name, const ApplyContext& context) const;
  void SaveIdForUndo(std::string_view key, const ApplyContext& context) const;
  Reply Park(const Command& command, struct Lock* lock, const ApplyContext& context,
             Effect* effect);
  // Grants `name` to its first waiter whose deadline is after `at_ms`, or erases
  // the lock if nobody waits. True if granted.
  bool GrantNext(std::string_view name, int64_t at_ms, const ApplyContext& context);
  // Stores the reply a parked LOCK ... ID finally got (busy, or acquired with the
  // lock's current holder), for its repeats.
  void Remember(const LockWaiter& waiter, std::string_view name, Outcome outcome,
                const struct Lock& lock, Lsn lsn, ExpiryQueue* expiry);
  // Answers a waiter whose WAIT ran out (busy) and remembers that answer.
  void AnswerLate(const LockWaiter& waiter, std::string_view name, const struct Lock& lock,
                  const ApplyContext& context);
  // Forgets the parked LOCK ... ID of `waiter`, which will never be answered.
  void ForgetParkedId(const LockWaiter& waiter, std::string_view name);
  void SetHolder(struct Lock* lock, std::string owner, uint64_t token, int64_t depth,
                 int64_t expires_ms);
  void EraseIfIdle(LockMap::iterator it);

  LockMap locks_;
  LockIdMap ids_;
  // Derived from locks_ (rebuilt by Restore): which lock each waiter waits on.
  WaiterIndex waiter_names_;
  size_t held_ = 0;
  std::vector<std::string> unsettled_;
  // The last batch that released or erased a lock, so a stale FENCE of a lock that
  // no longer exists waits for the release to be durable. Not saved: after a
  // restart everything is durable.
  Lsn last_release_lsn_;
};

}  // namespace exactly::core
