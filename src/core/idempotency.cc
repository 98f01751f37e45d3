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
  reply.Add("token", static_cast<int64_t>(token)).Add("response", std::move(response));
  return reply;
}

int64_t LeaseOf(const cmd::IdemBegin& begin) {
  return begin.lease_ms > 0 ? begin.lease_ms : kIdemLeaseMsDefault;
}
int64_t TtlOf(const cmd::IdemBegin& begin) {
  return begin.ttl_ms > 0 ? begin.ttl_ms : kIdemTtlMsDefault;
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

Reply IdemTable::Apply(const cmd::IdemBegin& args, const Command& command,
                       const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(args.key));
  if (it == keys_.end()) {
    if (context.enforce_limits && keys_.size() >= context.config->idem_keys_max) {
      return Reply::Error("ERR", "idempotency keys table full (max " +
                                     std::to_string(context.config->idem_keys_max) + ")");
    }
    SaveForUndo(args.key, context);
    IdemKey& idem = keys_.try_emplace(args.key).first->second;
    idem.fingerprint = args.fingerprint;
    TakeRun(args.key, &idem, context.now_ms, LeaseOf(args), TtlOf(args), context);
    effect->changed = true;
    return IdemReply(Outcome::kRun, idem.token, std::string());
  }
  IdemKey& idem = it->second;
  effect->observed = idem.lsn;
  if (!idem.fingerprint.empty() && !args.fingerprint.empty() &&
      idem.fingerprint != args.fingerprint) {
    return IdemReply(Outcome::kMismatch, 0, std::string());
  }
  if (idem.state == IdemState::kDone) return IdemReply(Outcome::kDone, 0, idem.response);
  const bool running = idem.state == IdemState::kRunning && idem.lease_end_ms > context.now_ms;
  // A free key with waiters (only inside a group, before Settle) is theirs.
  if (running || !idem.waiters.empty()) {
    if (args.wait_ms <= 0 || context.undo != nullptr) {
      return IdemReply(Outcome::kRunning, 0, std::string());
    }
    IdemWaiter waiter{0, LeaseOf(args), TtlOf(args), 0};
    if (auto refused = AdmitWaiter(args.key, idem.waiters.size(), args.wait_ms, "key",
                                   ExpiryKind::kIdemWaitEnd, context, &waiter_keys_, &waiter.waiter,
                                   &waiter.deadline_ms)) {
      return std::move(*refused);
    }
    if (running) context.expiry->PushWake(idem.lease_end_ms);
    idem.waiters.push_back(waiter);
    effect->parked = waiter.waiter;
    effect->changed = true;
    return Reply{};
  }
  SaveForUndo(args.key, context);
  if (idem.fingerprint.empty()) idem.fingerprint = args.fingerprint;
  TakeRun(args.key, &idem, context.now_ms, LeaseOf(args), TtlOf(args), context);
  effect->changed = true;
  return IdemReply(Outcome::kRun, idem.token, std::string());
}

Reply IdemTable::Apply(const cmd::IdemEnd& args, const Command& command,
                       const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(args.key));
  if (it == keys_.end() || it->second.token != args.token) {
    if (it != keys_.end()) effect->observed = it->second.lsn;
    return IdemReply(Outcome::kStale, args.token, std::string());
  }
  IdemKey& idem = it->second;
  effect->observed = idem.lsn;
  if (idem.state == IdemState::kDone) return IdemReply(Outcome::kDone, idem.token, idem.response);
  if (idem.state != IdemState::kRunning || idem.lease_end_ms <= context.now_ms) {
    return IdemReply(Outcome::kStale, args.token, std::string());
  }
  SaveForUndo(args.key, context);
  idem.state = IdemState::kDone;
  idem.response = args.response;
  idem.lease_end_ms = kNoTimeMs;
  idem.forget_ms = AddMs(context.now_ms, idem.ttl_ms);
  idem.lsn = context.lsn;
  context.expiry->Push(idem.forget_ms, ExpiryKind::kIdemForget, args.key);
  if (!idem.waiters.empty()) unsettled_.push_back(args.key);
  effect->changed = true;
  return IdemReply(Outcome::kDone, idem.token, idem.response);
}

Reply IdemTable::Apply(const cmd::IdemAbort& args, const Command& command,
                       const ApplyContext& context, Effect* effect) {
  auto it = keys_.find(std::string_view(args.key));
  if (it != keys_.end()) effect->observed = it->second.lsn;
  if (it == keys_.end() || it->second.token != args.token ||
      it->second.state != IdemState::kRunning || it->second.lease_end_ms <= context.now_ms) {
    return IdemReply(Outcome::kStale, args.token, std::string());
  }
  SaveForUndo(args.key, context);
  IdemKey& idem = it->second;
  idem.state = IdemState::kFree;
  idem.lease_end_ms = kNoTimeMs;
  idem.lsn = context.lsn;
  unsettled_.push_back(args.key);
  effect->changed = true;
  return IdemReply(Outcome::kReleased, args.token, std::string());
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
        waiter_keys_.Remove(waiter.waiter);
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
  std::optional<IdemWaiter> next = idem.waiters.PopInTime(
      at_ms, [&](const IdemWaiter& late) { AnswerLate(late, idem, context); });
  if (!next) {
    keys_.erase(it);
    return false;
  }
  waiter_keys_.Remove(next->waiter);
  TakeRun(key, &idem, at_ms, next->lease_ms, next->ttl_ms, context);
  context.wakes->push_back(BatchOutput::Wake{
      next->waiter, IdemReply(Outcome::kRun, idem.token, std::string()), context.lsn});
  return true;
}

void IdemTable::AnswerLate(const IdemWaiter& waiter, const IdemKey& idem,
                           const ApplyContext& context) {
  waiter_keys_.Remove(waiter.waiter);
  context.wakes->push_back(
      BatchOutput::Wake{waiter.waiter, IdemReply(Outcome::kRunning, 0, std::string()), idem.lsn});
}

bool IdemTable::Cancel(uint64_t waiter) {
  const std::string* key = waiter_keys_.Find(waiter);
  if (key == nullptr) return false;
  auto it = keys_.find(std::string_view(*key));
  EXACTLY_ASSERT(it != keys_.end());
  const bool removed = it->second.waiters.Remove(waiter).has_value();
  EXACTLY_ASSERT(removed);
  waiter_keys_.Remove(waiter);
  return true;
}

bool IdemTable::DropWaiters() {
  if (waiter_keys_.empty()) return false;
  for (auto& [key, idem] : keys_) idem.waiters.clear();
  waiter_keys_.Clear();
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
    case ExpiryKind::kIdemWaitEnd:
      idem.waiters.RemoveDue(entry.time_ms,
                             [&](const IdemWaiter& late) { AnswerLate(late, idem, context); });
      return false;
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
    idem.waiters.ScheduleDeadlines(expiry, ExpiryKind::kIdemWaitEnd, key);
  }
}

void IdemTable::Restore(std::string_view key, std::optional<IdemKey> idem) {
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    waiter_keys_.RemoveAll(it->second.waiters);
    if (!idem) {
      keys_.erase(it);
      return;
    }
    it->second = std::move(*idem);
  } else {
    if (!idem) return;
    it = keys_.emplace(std::string(key), std::move(*idem)).first;
  }
  waiter_keys_.AddAll(it->second.waiters, it->first);
}

}  // namespace exactly::core
