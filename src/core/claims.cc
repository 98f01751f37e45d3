// Claims: the first owner wins; repeats by the winner answer `again`.
#include "core/claims.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/assert.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/limits.h"

namespace exactly::core {
namespace {

void AppendLog(ClaimSlot* slot, ClaimLogEntry entry) {
  if (slot->log.size() >= kClaimLogPerKeyMax) slot->log.erase(slot->log.begin());
  slot->log.push_back(std::move(entry));
}

Reply ClaimReply(Outcome outcome, std::string_view key, const ClaimSlot& slot) {
  Reply reply = Reply::WithOutcome(outcome);
  reply.fields.reserve(6);
  reply.Add("key", std::string(key))
      .Add("owner", slot.owner)
      .Add("since", slot.since_ms)
      .Add("expires", slot.expires_ms)
      .Add("window", slot.window_ms);
  return reply;
}

Reply KeyReply(Outcome outcome, std::string_view key) {
  return std::move(Reply::WithOutcome(outcome).Add("key", std::string(key)));
}

int64_t ClampCount(int64_t count) {
  if (count <= 0) return kCountDefault;
  return std::min(count, kCountMax);
}

}  // namespace

std::string_view ClaimEventName(ClaimEvent event) {
  switch (event) {
    case ClaimEvent::kWon:
      return "won";
    case ClaimEvent::kReleased:
      return "released";
    case ClaimEvent::kExpired:
      return "expired";
    case ClaimEvent::kPersisted:
      return "persisted";
  }
  return "unknown";
}

void ClaimTable::SaveForUndo(std::string_view key, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = slots_.find(key);
  context.undo->SaveClaim(key, it == slots_.end() ? nullptr : &it->second);
}

Reply ClaimTable::Claim(const Command& command, const ApplyContext& context, Effect* effect) {
  auto it = slots_.find(std::string_view(command.key));
  if (it != slots_.end() && it->second.live) {
    ClaimSlot& slot = it->second;
    effect->observed = slot.lsn;
    if (slot.owner != command.owner) return ClaimReply(Outcome::kHeld, command.key, slot);
    if (command.persist && slot.expires_ms != kNoTimeMs) {
      SaveForUndo(command.key, context);
      slot.expires_ms = kNoTimeMs;
      slot.keep_log_until_ms = kNoTimeMs;
      slot.lsn = context.lsn;
      AppendLog(&slot, ClaimLogEntry{ClaimEvent::kPersisted, context.now_ms, kNoTimeMs,
                                     slot.window_ms, slot.owner, command.note});
      effect->changed = true;
    }
    return ClaimReply(Outcome::kAgain, command.key, slot);
  }
  if (command.expires_ms != kNoTimeMs && command.expires_ms <= context.now_ms) {
    // A claim that ended before it began would answer `won` and hold nothing.
    return Reply::Error("ERR", "UNTIL is not in the future: the claim would never hold");
  }
  if (context.enforce_limits && live_ >= context.config->claims_max) {
    return Reply::Error(
        "ERR", "claims table full (max " + std::to_string(context.config->claims_max) + ")");
  }
  SaveForUndo(command.key, context);
  if (it == slots_.end()) it = slots_.try_emplace(command.key).first;
  ClaimSlot& slot = it->second;
  slot.live = true;
  slot.owner = command.owner;
  slot.since_ms = context.now_ms;
  slot.expires_ms = command.expires_ms;
  slot.window_ms = command.window_ms;
  slot.keep_log_until_ms = command.remember_until_ms;
  slot.forget_ms = kNoTimeMs;
  slot.lsn = context.lsn;
  AppendLog(&slot, ClaimLogEntry{ClaimEvent::kWon, context.now_ms, command.expires_ms,
                                 command.window_ms, command.owner, command.note});
  ++live_;
  context.expiry->Push(slot.expires_ms, ExpiryKind::kClaimEnd, command.key);
  effect->changed = true;
  return ClaimReply(Outcome::kWon, command.key, slot);
}

Reply ClaimTable::Unclaim(const Command& command, const ApplyContext& context, Effect* effect) {
  auto it = slots_.find(std::string_view(command.key));
  if (it == slots_.end()) return KeyReply(Outcome::kNotHolder, command.key);
  ClaimSlot& slot = it->second;
  effect->observed = slot.lsn;
  if (!slot.live || slot.owner != command.owner) {
    return KeyReply(Outcome::kNotHolder, command.key);
  }
  SaveForUndo(command.key, context);
  AppendLog(&slot, ClaimLogEntry{ClaimEvent::kReleased, context.now_ms, slot.expires_ms,
                                 slot.window_ms, std::move(slot.owner), std::string()});
  slot.live = false;
  slot.owner = std::string();
  slot.forget_ms = command.remember_until_ms;
  slot.lsn = context.lsn;
  --live_;
  context.expiry->Push(slot.forget_ms, ExpiryKind::kClaimLogForget, command.key);
  effect->changed = true;
  return KeyReply(Outcome::kReleased, command.key);
}

Reply ClaimTable::ClaimOf(const Command& command, Effect* effect) const {
  auto it = slots_.find(std::string_view(command.key));
  if (it != slots_.end()) effect->observed = it->second.lsn;
  if (it == slots_.end() || !it->second.live) {
    return std::move(Reply::WithOutcome(Outcome::kFree)
                         .Add("owner", std::string())
                         .Add("since", kNoTimeMs)
                         .Add("expires", kNoTimeMs));
  }
  const ClaimSlot& slot = it->second;
  return std::move(Reply::WithOutcome(Outcome::kHeld)
                       .Add("owner", slot.owner)
                       .Add("since", slot.since_ms)
                       .Add("expires", slot.expires_ms));
}

Reply ClaimTable::ClaimLog(const Command& command, Effect* effect) const {
  std::vector<Reply> entries;
  auto it = slots_.find(std::string_view(command.key));
  if (it != slots_.end()) {
    effect->observed = it->second.lsn;
    const auto& log = it->second.log;
    const size_t count = std::min(log.size(), static_cast<size_t>(ClampCount(command.count)));
    entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const ClaimLogEntry& entry = log[log.size() - 1 - i];
      Reply reply;
      reply.fields.reserve(6);
      reply.Add("event", std::string(ClaimEventName(entry.event)))
          .Add("owner", entry.owner)
          .Add("at", entry.at_ms)
          .Add("expires", entry.expires_ms)
          .Add("window", entry.window_ms)
          .Add("note", entry.note);
      entries.push_back(std::move(reply));
    }
  }
  return std::move(Reply::WithOutcome(Outcome::kOk).Add("entries", std::move(entries)));
}

void ClaimTable::Expire(const ExpiryEntry& entry, ExpiryQueue* expiry) {
  auto it = slots_.find(std::string_view(entry.name));
  if (it == slots_.end()) return;
  ClaimSlot& slot = it->second;
  if (entry.kind == ExpiryKind::kClaimEnd) {
    if (!slot.live || slot.expires_ms != entry.time_ms) return;
    // Stamped with the expiry time, not the batch time, so that the result does not
    // depend on which batch happened to notice the expiry.
    AppendLog(&slot, ClaimLogEntry{ClaimEvent::kExpired, entry.time_ms, slot.expires_ms,
                                   slot.window_ms, std::move(slot.owner), std::string()});
    slot.live = false;
    slot.owner = std::string();
    slot.forget_ms = slot.keep_log_until_ms;
    --live_;
    expiry->Push(slot.forget_ms, ExpiryKind::kClaimLogForget, entry.name);
    return;
  }
  EXACTLY_ASSERT(entry.kind == ExpiryKind::kClaimLogForget);
  if (slot.live || slot.forget_ms != entry.time_ms) return;
  slots_.erase(it);
}

void ClaimTable::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [key, slot] : slots_) {
    if (slot.live) {
      expiry->Push(slot.expires_ms, ExpiryKind::kClaimEnd, key);
    } else {
      expiry->Push(slot.forget_ms, ExpiryKind::kClaimLogForget, key);
    }
  }
}

void ClaimTable::Restore(std::string_view key, std::optional<ClaimSlot> slot) {
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    if (it->second.live) --live_;
    if (!slot) {
      slots_.erase(it);
      return;
    }
    it->second = std::move(*slot);
    if (it->second.live) ++live_;
    return;
  }
  if (!slot) return;
  if (slot->live) ++live_;
  slots_.emplace(std::string(key), std::move(*slot));
}

void ClaimTable::Clear() {
  slots_.clear();
  live_ = 0;
}

}  // namespace exactly::core
