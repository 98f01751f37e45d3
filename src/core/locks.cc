// Locks: leases, fencing tokens, re-entry and FIFO waiters.
#include "core/locks.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/assert.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/restore_entry.h"
#include "core/time_math.h"

namespace exactly::core {
namespace {

Reply LockReply(Outcome outcome, int64_t token, int64_t depth, int64_t expires_ms) {
  Reply reply = Reply::WithOutcome(outcome);
  reply.Add("token", token).Add("depth", depth).Add("expires", expires_ms);
  return reply;
}

Reply BusyReply(const Lock* lock) {
  const bool held = lock != nullptr && !lock->owner.empty();
  Reply reply = LockReply(Outcome::kBusy, -1, 0, held ? lock->expires_ms : kNoTimeMs);
  reply.Add("holder", held ? lock->owner : std::string());
  return reply;
}

Reply StaleReply(uint64_t token) {
  return LockReply(Outcome::kStale, static_cast<int64_t>(token), 0, kNoTimeMs);
}

Reply IdReply(const LockIdReply& stored) {
  if (stored.outcome == Outcome::kBusy) {
    Reply reply = LockReply(Outcome::kBusy, -1, 0, stored.expires_ms);
    reply.Add("holder", stored.holder);
    return reply;
  }
  return LockReply(stored.outcome, static_cast<int64_t>(stored.token), stored.depth,
                   stored.expires_ms);
}

}  // namespace

std::string LockIdKey(std::string_view name, std::string_view request_id) {
  // Names are at most kKeyBytesMax bytes, so a fixed-width length prefix is
  // enough to keep (name, id) pairs apart.
  std::string key;
  key.reserve(4 + name.size() + request_id.size());
  const auto size = static_cast<uint32_t>(name.size());
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(size >> shift));
  key.append(name);
  key.append(request_id);
  return key;
}

void LockTable::SaveForUndo(std::string_view name, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = locks_.find(name);
  context.undo->SaveLock(name, it == locks_.end() ? nullptr : &it->second);
}

void LockTable::SaveIdForUndo(std::string_view key, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = ids_.find(key);
  context.undo->SaveLockId(key, it == ids_.end() ? nullptr : &it->second);
}

void LockTable::SetHolder(struct Lock* lock, std::string owner, uint64_t token, int64_t depth,
                          int64_t expires_ms) {
  if (lock->owner.empty() && !owner.empty()) ++held_;
  if (!lock->owner.empty() && owner.empty()) --held_;
  lock->owner = std::move(owner);
  lock->token = token;
  lock->depth = depth;
  lock->expires_ms = expires_ms;
}

void LockTable::EraseIfIdle(LockMap::iterator it) {
  if (it->second.owner.empty() && it->second.waiters.empty()) locks_.erase(it);
}

Reply LockTable::Apply(const cmd::Lock& args, const Command& command, const ApplyContext& context,
                       Effect* effect) {
  std::string id_key;
  if (!args.id.empty()) {
    id_key = LockIdKey(args.name, args.id);
    auto id = ids_.find(std::string_view(id_key));
    if (id != ids_.end()) {
      effect->observed = id->second.lsn;
      if (id->second.waiter == 0) return IdReply(id->second);
      // The first request is still parked: say who holds the lock, remember nothing.
      auto it = locks_.find(std::string_view(args.name));
      return BusyReply(it == locks_.end() ? nullptr : &it->second);
    }
  }
  auto it = locks_.find(std::string_view(args.name));
  struct Lock* lock = it == locks_.end() ? nullptr : &it->second;
  if (lock != nullptr) effect->observed = lock->lsn;
  const bool held = lock != nullptr && !lock->owner.empty() && lock->expires_ms > context.now_ms;
  const int64_t lease_end_ms = AddMs(context.now_ms, args.lease_ms);
  Reply reply;
  Outcome outcome = Outcome::kBusy;
  if (held && lock->owner == args.owner) {
    SaveForUndo(args.name, context);
    lock->depth += 1;
    lock->expires_ms = std::max(lock->expires_ms, lease_end_ms);
    lock->lsn = context.lsn;
    context.expiry->Push(lock->expires_ms, ExpiryKind::kLockLeaseEnd, args.name);
    if (!lock->waiters.empty()) context.expiry->PushWake(lock->expires_ms);
    outcome = Outcome::kReentered;
    reply = LockReply(outcome, static_cast<int64_t>(lock->token), lock->depth, lock->expires_ms);
  } else if (held || (lock != nullptr && !lock->waiters.empty())) {
    // A free lock with waiters (only seen inside a group, before Settle) belongs
    // to its first waiter, not to a newcomer.
    if (args.wait_ms > 0 && context.undo == nullptr) {
      return Park(command, lock, context, effect);
    }
    reply = BusyReply(lock);
    if (args.id.empty()) return reply;
  } else {
    if (lock == nullptr) {
      if (context.enforce_limits && locks_.size() >= context.config->locks_max) {
        return Reply::Error(
            "ERR", "locks table full (max " + std::to_string(context.config->locks_max) + ")");
      }
      SaveForUndo(args.name, context);
      lock = &locks_.try_emplace(args.name).first->second;
    } else {
      SaveForUndo(args.name, context);
    }
    SetHolder(lock, args.owner, ++context.counters->last_token, 1, lease_end_ms);
    lock->lsn = context.lsn;
    context.expiry->Push(lock->expires_ms, ExpiryKind::kLockLeaseEnd, args.name);
    outcome = Outcome::kAcquired;
    reply = LockReply(outcome, static_cast<int64_t>(lock->token), 1, lock->expires_ms);
  }
  if (!args.id.empty()) {
    SaveIdForUndo(id_key, context);
    LockIdReply& stored = ids_[id_key];
    stored = LockIdReply{};
    stored.outcome = outcome;
    if (outcome == Outcome::kBusy) {
      stored.expires_ms = lock != nullptr && !lock->owner.empty() ? lock->expires_ms : kNoTimeMs;
      stored.holder = lock != nullptr ? lock->owner : std::string();
    } else {
      stored.token = lock->token;
      stored.depth = lock->depth;
      stored.expires_ms = lock->expires_ms;
    }
    stored.forget_ms = command.remember_until_ms;
    stored.lsn = context.lsn;
    context.expiry->Push(stored.forget_ms, ExpiryKind::kLockIdForget, id_key);
  }
  effect->changed = true;
  return reply;
}

Reply LockTable::Park(const Command& command, struct Lock* lock, const ApplyContext& context,
                      Effect* effect) {
  const cmd::Lock& args = command.As<cmd::Lock>();
  EXACTLY_ASSERT(lock != nullptr);
  LockWaiter waiter;
  if (auto refused = AdmitWaiter(args.name, lock->waiters.size(), args.wait_ms, "lock",
                                 ExpiryKind::kLockWaitEnd, context, &waiter_names_, &waiter.waiter,
                                 &waiter.deadline_ms)) {
    return std::move(*refused);
  }
  waiter.owner = args.owner;
  waiter.request_id = args.id;
  waiter.lease_ms = args.lease_ms;
  waiter.remember_until_ms = command.remember_until_ms;
  if (!lock->owner.empty()) context.expiry->PushWake(lock->expires_ms);
  if (!args.id.empty()) {
    LockIdReply& stored = ids_[LockIdKey(args.name, args.id)];
    stored = LockIdReply{};
    stored.waiter = waiter.waiter;
    stored.forget_ms = command.remember_until_ms;
    stored.lsn = context.lsn;
  }
  effect->parked = waiter.waiter;
  effect->changed = true;
  lock->waiters.push_back(std::move(waiter));
  return Reply{};
}

Reply LockTable::Apply(const cmd::Renew& args, const Command& command, const ApplyContext& context,
                       Effect* effect) {
  if (!Holds(args.name, args.token, context.now_ms, &effect->observed)) {
    return StaleReply(args.token);
  }
  SaveForUndo(args.name, context);
  struct Lock& lock = locks_.find(std::string_view(args.name))->second;
  lock.expires_ms = AddMs(context.now_ms, args.lease_ms);
  lock.lsn = context.lsn;
  context.expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, args.name);
  if (!lock.waiters.empty()) context.expiry->PushWake(lock.expires_ms);
  effect->changed = true;
  return LockReply(Outcome::kRenewed, static_cast<int64_t>(lock.token), lock.depth,
                   lock.expires_ms);
}

Reply LockTable::Apply(const cmd::Unlock& args, const Command& command, const ApplyContext& context,
                       Effect* effect) {
  if (!Holds(args.name, args.token, context.now_ms, &effect->observed)) {
    return StaleReply(args.token);
  }
  SaveForUndo(args.name, context);
  struct Lock& lock = locks_.find(std::string_view(args.name))->second;
  lock.lsn = context.lsn;
  effect->changed = true;
  if (lock.depth > 1) {
    lock.depth -= 1;
    return LockReply(Outcome::kReleased, static_cast<int64_t>(lock.token), lock.depth,
                     lock.expires_ms);
  }
  const uint64_t token = lock.token;
  SetHolder(&lock, std::string(), token, 0, kNoTimeMs);
  last_release_lsn_ = context.lsn;
  unsettled_.push_back(args.name);
  return LockReply(Outcome::kReleased, static_cast<int64_t>(token), 0, kNoTimeMs);
}

Reply LockTable::Apply(const cmd::Fence& args, const Command& command, const ApplyContext& context,
                       Effect* effect) const {
  if (!Holds(args.name, args.token, context.now_ms, &effect->observed)) {
    return StaleReply(args.token);
  }
  const struct Lock& lock = locks_.find(std::string_view(args.name))->second;
  return LockReply(Outcome::kValid, static_cast<int64_t>(lock.token), lock.depth, lock.expires_ms);
}

bool LockTable::Holds(std::string_view name, uint64_t token, int64_t now_ms, Lsn* observed) const {
  auto it = locks_.find(name);
  if (it == locks_.end()) {
    *observed = std::max(*observed, last_release_lsn_);
    return false;
  }
  const struct Lock& lock = it->second;
  *observed = std::max(*observed, lock.lsn);
  return !lock.owner.empty() && lock.token == token && lock.expires_ms > now_ms;
}

void LockTable::Settle(const ApplyContext& context) {
  for (const std::string& name : unsettled_) {
    auto it = locks_.find(std::string_view(name));
    if (it == locks_.end() || !it->second.owner.empty()) continue;
    GrantNext(name, context.now_ms, context);
  }
  unsettled_.clear();
}

void LockTable::Remember(const LockWaiter& waiter, std::string_view name, Outcome outcome,
                         const struct Lock& lock, Lsn lsn, ExpiryQueue* expiry) {
  if (waiter.request_id.empty()) return;
  auto it = ids_.find(std::string_view(LockIdKey(name, waiter.request_id)));
  if (it == ids_.end() || it->second.waiter != waiter.waiter) return;
  LockIdReply& stored = it->second;
  stored.waiter = 0;
  stored.lsn = lsn;
  stored.outcome = outcome;
  const bool held = !lock.owner.empty();
  if (outcome == Outcome::kBusy) {
    // What BusyReply(&lock) said.
    stored.token = 0;
    stored.depth = 0;
    stored.expires_ms = held ? lock.expires_ms : kNoTimeMs;
    stored.holder = held ? lock.owner : std::string();
  } else {
    stored.token = lock.token;
    stored.depth = lock.depth;
    stored.expires_ms = lock.expires_ms;
  }
  expiry->Push(stored.forget_ms, ExpiryKind::kLockIdForget, it->first);
}

void LockTable::AnswerLate(const LockWaiter& waiter, std::string_view name, const struct Lock& lock,
                           const ApplyContext& context) {
  waiter_names_.Remove(waiter.waiter);
  Remember(waiter, name, Outcome::kBusy, lock, lock.lsn, context.expiry);
  context.wakes->push_back(BatchOutput::Wake{waiter.waiter, BusyReply(&lock), lock.lsn});
}

void LockTable::ForgetParkedId(const LockWaiter& waiter, std::string_view name) {
  if (waiter.request_id.empty()) return;
  auto id = ids_.find(std::string_view(LockIdKey(name, waiter.request_id)));
  if (id != ids_.end() && id->second.waiter == waiter.waiter) ids_.erase(id);
}

bool LockTable::GrantNext(std::string_view name, int64_t at_ms, const ApplyContext& context) {
  auto it = locks_.find(name);
  EXACTLY_ASSERT(it != locks_.end());
  struct Lock& lock = it->second;
  EXACTLY_ASSERT(lock.owner.empty());
  std::optional<LockWaiter> next = lock.waiters.PopInTime(
      at_ms, [&](const LockWaiter& late) { AnswerLate(late, name, lock, context); });
  if (!next) {
    EraseIfIdle(it);
    return false;
  }
  waiter_names_.Remove(next->waiter);
  SetHolder(&lock, next->owner, ++context.counters->last_token, 1, AddMs(at_ms, next->lease_ms));
  lock.lsn = context.lsn;
  context.expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, name);
  if (!lock.waiters.empty()) context.expiry->PushWake(lock.expires_ms);
  Remember(*next, name, Outcome::kAcquired, lock, context.lsn, context.expiry);
  context.wakes->push_back(BatchOutput::Wake{
      next->waiter,
      LockReply(Outcome::kAcquired, static_cast<int64_t>(lock.token), 1, lock.expires_ms),
      context.lsn});
  return true;
}

bool LockTable::Cancel(uint64_t waiter) {
  const std::string* name = waiter_names_.Find(waiter);
  if (name == nullptr) return false;
  auto it = locks_.find(std::string_view(*name));
  EXACTLY_ASSERT(it != locks_.end());
  std::optional<LockWaiter> removed = it->second.waiters.Remove(waiter);
  EXACTLY_ASSERT(removed.has_value());
  ForgetParkedId(*removed, it->first);
  waiter_names_.Remove(waiter);
  EraseIfIdle(it);
  return true;
}

bool LockTable::DropWaiters() {
  if (waiter_names_.empty()) return false;
  std::vector<std::string> idle;
  for (auto& [name, lock] : locks_) {
    for (const LockWaiter& waiter : lock.waiters) ForgetParkedId(waiter, name);
    lock.waiters.clear();
    if (lock.owner.empty()) idle.push_back(name);
  }
  for (const std::string& name : idle) locks_.erase(std::string_view(name));
  waiter_names_.Clear();
  return true;
}

bool LockTable::Expire(const ExpiryEntry& entry, const ApplyContext& context) {
  if (entry.kind == ExpiryKind::kLockIdForget) {
    auto id = ids_.find(std::string_view(entry.name));
    if (id != ids_.end() && id->second.waiter == 0 && id->second.forget_ms == entry.time_ms) {
      ids_.erase(id);
    }
    return false;
  }
  auto it = locks_.find(std::string_view(entry.name));
  if (it == locks_.end()) return false;
  struct Lock& lock = it->second;
  if (entry.kind == ExpiryKind::kLockLeaseEnd) {
    if (lock.owner.empty() || lock.expires_ms != entry.time_ms) return false;
    // The holder's token went stale at its lease end; the next waiter gets the lock
    // at that same instant, whichever batch notices.
    SetHolder(&lock, std::string(), lock.token, 0, kNoTimeMs);
    return GrantNext(entry.name, entry.time_ms, context);
  }
  EXACTLY_ASSERT(entry.kind == ExpiryKind::kLockWaitEnd);
  lock.waiters.RemoveDue(
      entry.time_ms, [&](const LockWaiter& late) { AnswerLate(late, entry.name, lock, context); });
  EraseIfIdle(it);
  return false;
}

void LockTable::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [name, lock] : locks_) {
    if (!lock.owner.empty()) {
      expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, name);
      if (!lock.waiters.empty()) expiry->PushWake(lock.expires_ms);
    }
    lock.waiters.ScheduleDeadlines(expiry, ExpiryKind::kLockWaitEnd, name);
  }
  for (const auto& [key, stored] : ids_) {
    if (stored.waiter == 0) expiry->Push(stored.forget_ms, ExpiryKind::kLockIdForget, key);
  }
}

void LockTable::Restore(std::string_view name, std::optional<struct Lock> lock) {
  auto it = locks_.find(name);
  if (it != locks_.end()) {
    if (!it->second.owner.empty()) --held_;
    waiter_names_.RemoveAll(it->second.waiters);
    if (!lock) {
      locks_.erase(it);
      return;
    }
    it->second = std::move(*lock);
  } else {
    if (!lock) return;
    it = locks_.emplace(std::string(name), std::move(*lock)).first;
  }
  if (!it->second.owner.empty()) ++held_;
  waiter_names_.AddAll(it->second.waiters, it->first);
}

void LockTable::RestoreId(std::string_view key, std::optional<LockIdReply> reply) {
  RestoreEntry(ids_, key, std::move(reply));
}

}  // namespace exactly::core
