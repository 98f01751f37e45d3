// Idempotency keys: one runner per key, stored responses, parked duplicates.
#include "core/idempotency.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/assert.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/time_math.h"

namespace exactly::core {
namespace {

Reply IdemReply(Outcome outcome, uint64_t token, std::string response) {
  Reply reply = Reply::WithOutcome(outcome);
  reply.fields.reserve(3);
  reply.Add("token", static_cast<int64_t>(token)).Add("response", std::move(response));
  return reply;
}

int64_t LeaseOf(const Command& command) {
  return command.lease_ms > 0 ? command.lease_ms : kIdemLeaseMsDefault;
}
int64_t TtlOf(const Command& command) {
  return command.ttl_ms > 0 ? command.ttl_ms : kIdemTtlMsDefault;
}

}  // namespace

void IdemTable::SaveForUndo(std::string_view key, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = keys_.find(key);
  context.undo->SaveIdem(key, it == keys_.end() ? nullptr : &it->second);
}

void IdemTable::TakeRun(std::string_view key, IdemKey* idem, int64_t at_ms, int64_t lease_ms,
                        int64_t ttl_ms, const ApplyContext& context) {
  idem->state = IdemState::kRunning;
  idem->token = ++context.counters->last_token;
  idem->lease_end_ms = AddMs(at_ms, lease_ms);
  idem->ttl_ms = ttl_ms;
  idem->forget_ms = kNoTimeMs;
  idem->response.clear();
  idem->lsn = context.lsn;
  context.expiry->Push(idem->lease_end_ms, ExpiryKind::kIdemLeaseEnd, key);
  if (!idem->waiters.empty()) context.expiry->PushWake(idem->lease_end_ms);
}

Reply IdemTable::Begin(const Command& command, const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(command.key));
  if (it == keys_.end()) {
    if (context.enforce_limits && keys_.size() >= context.config->idem_keys_max) {
      return Reply::Error("ERR", "idempotency keys table full (max " +
                                     std::to_string(context.config->idem_keys_max) + ")");
    }
    SaveForUndo(command.key, context);
    IdemKey& idem = keys_.try_emplace(command.key).first->second;
    idem.fingerprint = command.note;
    TakeRun(command.key, &idem, context.now_ms, LeaseOf(command), TtlOf(command), context);
    effect->changed = true;
    return IdemReply(Outcome::kRun, idem.token, std::string());
  }
  IdemKey& idem = it->second;
  effect->observed = idem.lsn;
  if (!idem.fingerprint.empty() && !command.note.empty() && idem.fingerprint != command.note) {
    return IdemReply(Outcome::kMismatch, 0, std::string());
  }
  if (idem.state == IdemState::kDone) return IdemReply(Outcome::kDone, 0, idem.response);
  const bool running = idem.state == IdemState::kRunning && idem.lease_end_ms > context.now_ms;
  // A free key with waiters (only inside a group, before Settle) is theirs.
  if (running || !idem.waiters.empty()) {
    if (command.wait_ms <= 0 || context.undo != nullptr) {
      return IdemReply(Outcome::kRunning, 0, std::string());
    }
    if (context.enforce_limits && idem.waiters.size() >= kWaitersPerNameMax) {
      return Reply::Error(
          "ERR", "too many waiters on this key (max " + std::to_string(kWaitersPerNameMax) + ")");
    }
    if (context.enforce_limits && context.waiters_now >= context.config->waiters_max) {
      return Reply::Error(
          "ERR", "waiters table full (max " + std::to_string(context.config->waiters_max) + ")");
    }
    IdemWaiter waiter{++context.counters->last_waiter, LeaseOf(command), TtlOf(command),
                      AddMs(context.now_ms, command.wait_ms)};
    context.expiry->Push(waiter.deadline_ms, ExpiryKind::kIdemWaitEnd, command.key);
    context.expiry->PushWake(waiter.deadline_ms);
    if (running) context.expiry->PushWake(idem.lease_end_ms);
    waiter_keys_[waiter.waiter] = command.key;
    idem.waiters.push_back(waiter);
    effect->parked = waiter.waiter;
    effect->changed = true;
    return Reply{};
  }
  SaveForUndo(command.key, context);
  if (idem.fingerprint.empty()) idem.fingerprint = command.note;
  TakeRun(command.key, &idem, context.now_ms, LeaseOf(command), TtlOf(command), context);
  effect->changed = true;
  return IdemReply(Outcome::kRun, idem.token, std::string());
}

Reply IdemTable::End(const Command& command, const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(command.key));
  if (it == keys_.end() || it->second.token != command.token) {
    if (it != keys_.end()) effect->observed = it->second.lsn;
    return IdemReply(Outcome::kStale, command.token, std::string());
  }
  IdemKey& idem = it->second;
  effect->observed = idem.lsn;
  if (idem.state == IdemState::kDone) return IdemReply(Outcome::kDone, idem.token, idem.response);
  if (idem.state != IdemState::kRunning || idem.lease_end_ms <= context.now_ms) {
    return IdemReply(Outcome::kStale, command.token, std::string());
  }
  SaveForUndo(command.key, context);
  idem.state = IdemState::kDone;
  idem.response = command.note;
  idem.lease_end_ms = kNoTimeMs;
  idem.forget_ms = AddMs(context.now_ms, idem.ttl_ms);
  idem.lsn = context.lsn;
  context.expiry->Push(idem.forget_ms, ExpiryKind::kIdemForget, command.key);
  if (!idem.waiters.empty()) unsettled_.push_back(command.key);
  effect->changed = true;
  return IdemReply(Outcome::kDone, idem.token, idem.response);
}

Reply IdemTable::Abort(const Command& command, const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(command.key));
  if (it != keys_.end()) effect->observed = it->second.lsn;
  if (it == keys_.end() || it->second.token != command.token ||
      it->second.state != IdemState::kRunning || it->second.lease_end_ms <= context.now_ms) {
    return IdemReply(Outcome::kStale, command.token, std::string());
  }
  SaveForUndo(command.key, context);
  IdemKey& idem = it->second;
  idem.state = IdemState::kFree;
  idem.lease_end_ms = kNoTimeMs;
  idem.lsn = context.lsn;
  unsettled_.push_back(command.key);
  effect->changed = true;
  return IdemReply(Outcome::kReleased, command.token, std::string());
}

void IdemTable::Settle(const ApplyContext& context) {
  for (const std::string& key : unsettled_) {
    auto it = keys_.find(std::string_view(key));
    if (it == keys_.end()) continue;
    IdemKey& idem = it->second;
    if (idem.state == IdemState::kFree) {
      PromoteNext(key, context.now_ms, context);
    } else if (idem.state == IdemState::kDone) {
      for (const IdemWaiter& waiter : idem.waiters) {
        waiter_keys_.erase(waiter.waiter);
        context.wakes->push_back(BatchOutput::Wake{
            waiter.waiter, IdemReply(Outcome::kDone, 0, idem.response), idem.lsn});
      }
      idem.waiters.clear();
    }
  }
  unsettled_.clear();
}

bool IdemTable::PromoteNext(std::string_view key, int64_t at_ms, const ApplyContext& context) {
  auto it = keys_.find(key);
  EXACTLY_ASSERT(it != keys_.end());
  IdemKey& idem = it->second;
  EXACTLY_ASSERT(idem.state == IdemState::kFree);
  while (!idem.waiters.empty()) {
    const IdemWaiter waiter = idem.waiters.front();
    idem.waiters.pop_front();
    waiter_keys_.erase(waiter.waiter);
    if (waiter.deadline_ms <= at_ms) {
      context.wakes->push_back(BatchOutput::Wake{
          waiter.waiter, IdemReply(Outcome::kRunning, 0, std::string()), idem.lsn});
      continue;
    }
    TakeRun(key, &idem, at_ms, waiter.lease_ms, waiter.ttl_ms, context);
    context.wakes->push_back(BatchOutput::Wake{
        waiter.waiter, IdemReply(Outcome::kRun, idem.token, std::string()), context.lsn});
    return true;
  }
  keys_.erase(it);
  return false;
}

bool IdemTable::Cancel(uint64_t waiter) {
  auto named = waiter_keys_.find(waiter);
  if (named == waiter_keys_.end()) return false;
  auto it = keys_.find(std::string_view(named->second));
  EXACTLY_ASSERT(it != keys_.end());
  auto& waiters = it->second.waiters;
  auto found = std::find_if(waiters.begin(), waiters.end(),
                            [&](const IdemWaiter& w) { return w.waiter == waiter; });
  EXACTLY_ASSERT(found != waiters.end());
  waiters.erase(found);
  waiter_keys_.erase(named);
  return true;
}

bool IdemTable::DropWaiters() {
  if (waiter_keys_.empty()) return false;
  for (auto& [key, idem] : keys_) idem.waiters.clear();
  waiter_keys_.clear();
  return true;
}

bool IdemTable::Expire(const ExpiryEntry& entry, const ApplyContext& context) {
  auto it = keys_.find(std::string_view(entry.name));
  if (it == keys_.end()) return false;
  IdemKey& idem = it->second;
  switch (entry.kind) {
    case ExpiryKind::kIdemLeaseEnd:
      if (idem.state != IdemState::kRunning || idem.lease_end_ms != entry.time_ms) return false;
      // The runner is presumed dead from its lease end on; the next waiter (or the
      // next BEGIN) runs from that instant.
      idem.state = IdemState::kFree;
      idem.lease_end_ms = kNoTimeMs;
      return PromoteNext(entry.name, entry.time_ms, context);
    case ExpiryKind::kIdemWaitEnd: {
      std::deque<IdemWaiter> kept;
      for (const IdemWaiter& waiter : idem.waiters) {
        if (waiter.deadline_ms > entry.time_ms) {
          kept.push_back(waiter);
          continue;
        }
        waiter_keys_.erase(waiter.waiter);
        context.wakes->push_back(BatchOutput::Wake{
            waiter.waiter, IdemReply(Outcome::kRunning, 0, std::string()), idem.lsn});
      }
      idem.waiters = std::move(kept);
      return false;
    }
    case ExpiryKind::kIdemForget:
      if (idem.state == IdemState::kDone && idem.forget_ms == entry.time_ms) keys_.erase(it);
      return false;
    default:
      EXACTLY_ASSERT(false);
      return false;
  }
}

void IdemTable::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [key, idem] : keys_) {
    if (idem.state == IdemState::kRunning) {
      expiry->Push(idem.lease_end_ms, ExpiryKind::kIdemLeaseEnd, key);
      if (!idem.waiters.empty()) expiry->PushWake(idem.lease_end_ms);
    } else if (idem.state == IdemState::kDone) {
      expiry->Push(idem.forget_ms, ExpiryKind::kIdemForget, key);
    }
    for (const IdemWaiter& waiter : idem.waiters) {
      expiry->Push(waiter.deadline_ms, ExpiryKind::kIdemWaitEnd, key);
      expiry->PushWake(waiter.deadline_ms);
    }
  }
}

void IdemTable::Restore(std::string_view key, std::optional<IdemKey> idem) {
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    for (const IdemWaiter& waiter : it->second.waiters) waiter_keys_.erase(waiter.waiter);
    if (!idem) {
      keys_.erase(it);
      return;
    }
    it->second = std::move(*idem);
  } else {
    if (!idem) return;
    it = keys_.emplace(std::string(key), std::move(*idem)).first;
  }
  for (const IdemWaiter& waiter : it->second.waiters) waiter_keys_[waiter.waiter] = it->first;
}

}  // namespace exactly::core
