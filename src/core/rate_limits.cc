// Rate limits: GCRA and fixed windows, in exact integer arithmetic.
#include "core/rate_limits.h"

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

using Wide = __int128;

// ceil(a / b) for a >= 0, b > 0.
Wide CeilDiv(Wide a, Wide b) { return (a + b - 1) / b; }

Reply LimitReply(bool allowed, Wide remaining, Wide retry_after_ms, Wide reset_ms) {
  Reply reply = Reply::WithOutcome(allowed ? Outcome::kAllowed : Outcome::kLimited);
  reply.Add("remaining", static_cast<int64_t>(remaining))
      .Add("retry_after_ms", static_cast<int64_t>(retry_after_ms))
      .Add("reset_ms", static_cast<int64_t>(reset_ms));
  return reply;
}

}  // namespace

Reply LimitTable::Apply(const cmd::Limit& args, const Command& command, const ApplyContext& context,
                        Effect* effect) {
  EXACTLY_ASSERT(args.n >= 1 && args.per_ms >= 1 && args.cost >= 1);
  auto it = keys_.find(std::string_view(args.key));
  if (it == keys_.end() && keys_.size() >= context.config->limit_keys_max) {
    return Reply::Error("ERR", "limit keys table full (max " +
                                   std::to_string(context.config->limit_keys_max) + ")");
  }
  if (context.undo != nullptr) {
    context.undo->SaveLimit(args.key, it == keys_.end() ? nullptr : &it->second);
  }
  const bool fresh = it == keys_.end() || it->second.window != args.window;
  if (it == keys_.end()) it = keys_.try_emplace(args.key).first;
  LimitState& state = it->second;
  if (fresh) {
    state = LimitState{};
    state.window = args.window;
    state.rate_n = args.n;
    state.tat_ms = context.now_ms;
    state.window_start_ms = context.now_ms;
  }
  Reply reply = args.window ? Window(args, context, &state) : Rate(args, context, &state);
  context.expiry->Push(state.forget_ms, ExpiryKind::kLimitForget, args.key);
  return reply;
}

Reply LimitTable::Rate(const cmd::Limit& command, const ApplyContext& context, LimitState* state) {
  const Wide n = command.n;
  const Wide per = command.per_ms;
  const Wide capacity = command.burst > 0 ? command.burst : command.n;
  const Wide now = Wide{context.now_ms} * n;
  // The stored TAT in units of 1/n ms; rounded up if n changed since (the bucket
  // never appears fuller than it was).
  Wide tat = Wide{state->tat_ms} * n;
  if (state->rate_n == command.n) {
    tat += state->tat_frac;
  } else {
    tat += CeilDiv(Wide{state->tat_frac} * n, state->rate_n);
  }
  const Wide base = std::max(tat, now);
  const Wide full = capacity * per;  // b * T
  const Wide next = base + Wide{command.cost} * per;
  Reply reply;
  if (next - now <= full) {
    tat = next;
    reply = LimitReply(true, (full - (next - now)) / per, 0, CeilDiv(next - now, n));
  } else {
    tat = base;
    reply = LimitReply(false, (full - (base - now)) / per, CeilDiv(next - full - now, n),
                       CeilDiv(base - now, n));
  }
  state->rate_n = command.n;
  state->tat_ms = static_cast<int64_t>(tat / n);
  state->tat_frac = static_cast<int64_t>(tat % n);
  state->forget_ms = state->tat_ms + (state->tat_frac > 0 ? 1 : 0);
  return reply;
}

Reply LimitTable::Window(const cmd::Limit& command, const ApplyContext& context,
                         LimitState* state) {
  if (context.now_ms >= AddMs(state->window_start_ms, command.per_ms)) {
    state->window_start_ms = context.now_ms;
    state->count = 0;
  }
  const int64_t end_ms = AddMs(state->window_start_ms, command.per_ms);
  state->forget_ms = end_ms;
  const int64_t left_ms = end_ms - context.now_ms;
  if (state->count + command.cost > command.n) {
    return LimitReply(false, command.n - state->count, left_ms, left_ms);
  }
  state->count += command.cost;
  return LimitReply(true, command.n - state->count, 0, left_ms);
}

void LimitTable::Expire(const ExpiryEntry& entry) {
  auto it = keys_.find(std::string_view(entry.name));
  if (it != keys_.end() && it->second.forget_ms == entry.time_ms) keys_.erase(it);
}

void LimitTable::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [key, state] : keys_) {
    expiry->Push(state.forget_ms, ExpiryKind::kLimitForget, key);
  }
}

void LimitTable::Restore(std::string_view key, std::optional<LimitState> state) {
  RestoreEntry(keys_, key, std::move(state));
}

}  // namespace exactly::core
