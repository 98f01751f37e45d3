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
  reply.fields.reserve(5);
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

Reply LockTable::Lock(const Command& command, const ApplyContext& context, Effect* effect) {
  std::string id_key;
  if (!command.id.empty()) {
    id_key = LockIdKey(command.key, command.id);
    auto id = ids_.find(std::string_view(id_key));
    if (id != ids_.end()) {
      effect->observed = id->second.lsn;
      if (id->second.waiter == 0) return IdReply(id->second);
      // The first request is still parked: say who holds the lock, remember nothing.
      auto it = locks_.find(std::string_view(command.key));
      return BusyReply(it == locks_.end() ? nullptr : &it->second);
    }
  }
  auto it = locks_.find(std::string_view(command.key));
  struct Lock* lock = it == locks_.end() ? nullptr : &it->second;
  if (lock != nullptr) effect->observed = lock->lsn;
  const bool held = lock != nullptr && !lock->owner.empty() && lock->expires_ms > context.now_ms;
  const int64_t lease_end_ms = AddMs(context.now_ms, command.lease_ms);
  Reply reply;
  Outcome outcome = Outcome::kBusy;
  if (held && lock->owner == command.owner) {
    SaveForUndo(command.key, context);
    lock->depth += 1;
    lock->expires_ms = std::max(lock->expires_ms, lease_end_ms);
    lock->lsn = context.lsn;
    context.expiry->Push(lock->expires_ms, ExpiryKind::kLockLeaseEnd, command.key);
    if (!lock->waiters.empty()) context.expiry->PushWake(lock->expires_ms);
    outcome = Outcome::kReentered;
    reply = LockReply(outcome, static_cast<int64_t>(lock->token), lock->depth, lock->expires_ms);
  } else if (held || (lock != nullptr && !lock->waiters.empty())) {
    // A free lock with waiters (only seen inside a group, before Settle) belongs
    // to its first waiter, not to a newcomer.
    if (command.wait_ms > 0 && context.undo == nullptr) {
      return Park(command, lock, context, effect);
    }
    reply = BusyReply(lock);
    if (command.id.empty()) return reply;
  } else {
    if (lock == nullptr) {
      if (context.enforce_limits && locks_.size() >= context.config->locks_max) {
        return Reply::Error(
            "ERR", "locks table full (max " + std::to_string(context.config->locks_max) + ")");
      }
      SaveForUndo(command.key, context);
      lock = &locks_.try_emplace(command.key).first->second;
    } else {
      SaveForUndo(command.key, context);
    }
    SetHolder(lock, command.owner, ++context.counters->last_token, 1, lease_end_ms);
    lock->lsn = context.lsn;
    context.expiry->Push(lock->expires_ms, ExpiryKind::kLockLeaseEnd, command.key);
    outcome = Outcome::kAcquired;
    reply = LockReply(outcome, static_cast<int64_t>(lock->token), 1, lock->expires_ms);
  }
  if (!command.id.empty()) {
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
  EXACTLY_ASSERT(lock != nullptr);
  if (context.enforce_limits && lock->waiters.size() >= kWaitersPerNameMax) {
    return Reply::Error(
        "ERR", "too many waiters on this lock (max " + std::to_string(kWaitersPerNameMax) + ")");
  }
  if (context.enforce_limits && context.waiters_now >= context.config->waiters_max) {
    return Reply::Error(
        "ERR", "waiters table full (max " + std::to_string(context.config->waiters_max) + ")");
  }
  LockWaiter waiter;
  waiter.waiter = ++context.counters->last_waiter;
  waiter.owner = command.owner;
  waiter.request_id = command.id;
  waiter.lease_ms = command.lease_ms;
  waiter.deadline_ms = AddMs(context.now_ms, command.wait_ms);
  waiter.remember_until_ms = command.remember_until_ms;
  context.expiry->Push(waiter.deadline_ms, ExpiryKind::kLockWaitEnd, command.key);
  context.expiry->PushWake(waiter.deadline_ms);
  if (!lock->owner.empty()) context.expiry->PushWake(lock->expires_ms);
  waiter_names_[waiter.waiter] = command.key;
  if (!command.id.empty()) {
    LockIdReply& stored = ids_[LockIdKey(command.key, command.id)];
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

Reply LockTable::Renew(const Command& command, const ApplyContext& context, Effect* effect) {
  if (!Holds(command.key, command.token, context.now_ms, &effect->observed)) {
    return StaleReply(command.token);
  }
  SaveForUndo(command.key, context);
  struct Lock& lock = locks_.find(std::string_view(command.key))->second;
  lock.expires_ms = AddMs(context.now_ms, command.lease_ms);
  lock.lsn = context.lsn;
  context.expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, command.key);
  if (!lock.waiters.empty()) context.expiry->PushWake(lock.expires_ms);
  effect->changed = true;
  return LockReply(Outcome::kRenewed, static_cast<int64_t>(lock.token), lock.depth,
                   lock.expires_ms);
}

Reply LockTable::Unlock(const Command& command, const ApplyContext& context, Effect* effect) {
  if (!Holds(command.key, command.token, context.now_ms, &effect->observed)) {
    return StaleReply(command.token);
  }
  SaveForUndo(command.key, context);
  struct Lock& lock = locks_.find(std::string_view(command.key))->second;
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
  unsettled_.push_back(command.key);
  return LockReply(Outcome::kReleased, static_cast<int64_t>(token), 0, kNoTimeMs);
}

Reply LockTable::Fence(const Command& command, const ApplyContext& context, Effect* effect) const {
  if (!Holds(command.key, command.token, context.now_ms, &effect->observed)) {
    return StaleReply(command.token);
  }
  const struct Lock& lock = locks_.find(std::string_view(command.key))->second;
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

void LockTable::Remember(const LockWaiter& waiter, std::string_view name, const Reply& reply,
                         Lsn lsn, ExpiryQueue* expiry) {
  if (waiter.request_id.empty()) return;
  auto it = ids_.find(std::string_view(LockIdKey(name, waiter.request_id)));
  if (it == ids_.end() || it->second.waiter != waiter.waiter) return;
  LockIdReply& stored = it->second;
  stored.waiter = 0;
  stored.lsn = lsn;
  stored.outcome = reply.Is(Outcome::kBusy) ? Outcome::kBusy : Outcome::kAcquired;
  for (const auto& [field, value] : reply.fields) {
    const int64_t* number = std::get_if<int64_t>(&value);
    if (field == "token" && number != nullptr) stored.token = *number < 0 ? 0 : *number;
    if (field == "depth" && number != nullptr) stored.depth = *number;
    if (field == "expires" && number != nullptr) stored.expires_ms = *number;
    if (field == "holder") stored.holder = std::get<std::string>(value);
  }
  expiry->Push(stored.forget_ms, ExpiryKind::kLockIdForget, it->first);
}

bool LockTable::GrantNext(std::string_view name, int64_t at_ms, const ApplyContext& context) {
  auto it = locks_.find(name);
  EXACTLY_ASSERT(it != locks_.end());
  struct Lock& lock = it->second;
  EXACTLY_ASSERT(lock.owner.empty());
  while (!lock.waiters.empty()) {
    LockWaiter waiter = std::move(lock.waiters.front());
    lock.waiters.pop_front();
    waiter_names_.erase(waiter.waiter);
    if (waiter.deadline_ms <= at_ms) {
      Reply reply = BusyReply(&lock);
      Remember(waiter, name, reply, lock.lsn, context.expiry);
      context.wakes->push_back(BatchOutput::Wake{waiter.waiter, std::move(reply), lock.lsn});
      continue;
    }
    SetHolder(&lock, std::move(waiter.owner), ++context.counters->last_token, 1,
              AddMs(at_ms, waiter.lease_ms));
    lock.lsn = context.lsn;
    context.expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, name);
    if (!lock.waiters.empty()) context.expiry->PushWake(lock.expires_ms);
    Reply reply =
        LockReply(Outcome::kAcquired, static_cast<int64_t>(lock.token), 1, lock.expires_ms);
    Remember(waiter, name, reply, context.lsn, context.expiry);
    context.wakes->push_back(BatchOutput::Wake{waiter.waiter, std::move(reply), context.lsn});
    return true;
  }
  EraseIfIdle(it);
  return false;
}

bool LockTable::Cancel(uint64_t waiter) {
  auto named = waiter_names_.find(waiter);
  if (named == waiter_names_.end()) return false;
  auto it = locks_.find(std::string_view(named->second));
  EXACTLY_ASSERT(it != locks_.end());
  auto& waiters = it->second.waiters;
  auto found = std::find_if(waiters.begin(), waiters.end(),
                            [&](const LockWaiter& w) { return w.waiter == waiter; });
  EXACTLY_ASSERT(found != waiters.end());
  if (!found->request_id.empty()) {
    auto id = ids_.find(std::string_view(LockIdKey(it->first, found->request_id)));
    if (id != ids_.end() && id->second.waiter == waiter) ids_.erase(id);
  }
  waiters.erase(found);
  waiter_names_.erase(named);
  EraseIfIdle(it);
  return true;
}

bool LockTable::DropWaiters() {
  if (waiter_names_.empty()) return false;
  std::vector<std::string> idle;
  for (auto& [name, lock] : locks_) {
    for (const LockWaiter& waiter : lock.waiters) {
      if (waiter.request_id.empty()) continue;
      auto id = ids_.find(std::string_view(LockIdKey(name, waiter.request_id)));
      if (id != ids_.end() && id->second.waiter == waiter.waiter) ids_.erase(id);
    }
    lock.waiters.clear();
    if (lock.owner.empty()) idle.push_back(name);
  }
  for (const std::string& name : idle) locks_.erase(std::string_view(name));
  waiter_names_.clear();
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
  std::deque<LockWaiter> kept;
  for (LockWaiter& waiter : lock.waiters) {
    if (waiter.deadline_ms > entry.time_ms) {
      kept.push_back(std::move(waiter));
      continue;
    }
    waiter_names_.erase(waiter.waiter);
    Reply reply = BusyReply(&lock);
    Remember(waiter, entry.name, reply, lock.lsn, context.expiry);
    context.wakes->push_back(BatchOutput::Wake{waiter.waiter, std::move(reply), lock.lsn});
  }
  lock.waiters = std::move(kept);
  EraseIfIdle(it);
  return false;
}

void LockTable::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [name, lock] : locks_) {
    if (!lock.owner.empty()) {
      expiry->Push(lock.expires_ms, ExpiryKind::kLockLeaseEnd, name);
      if (!lock.waiters.empty()) expiry->PushWake(lock.expires_ms);
    }
    for (const LockWaiter& waiter : lock.waiters) {
      expiry->Push(waiter.deadline_ms, ExpiryKind::kLockWaitEnd, name);
      expiry->PushWake(waiter.deadline_ms);
    }
  }
  for (const auto& [key, stored] : ids_) {
    if (stored.waiter == 0) expiry->Push(stored.forget_ms, ExpiryKind::kLockIdForget, key);
  }
}

void LockTable::Restore(std::string_view name, std::optional<struct Lock> lock) {
  auto it = locks_.find(name);
  if (it != locks_.end()) {
    if (!it->second.owner.empty()) --held_;
    for (const LockWaiter& waiter : it->second.waiters) waiter_names_.erase(waiter.waiter);
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
  for (const LockWaiter& waiter : it->second.waiters) waiter_names_[waiter.waiter] = it->first;
}

void LockTable::RestoreId(std::string_view key, std::optional<LockIdReply> reply) {
  RestoreEntry(ids_, key, std::move(reply));
}

}  // namespace exactly::core
