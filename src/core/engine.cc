// Engine: batches in, replies and journal records out. Runs expiry at the start
// of every batch, resolves relative times, dispatches each command to its table
// and applies MULTI groups all or nothing.
#include "core/engine.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "core/engine_state.h"
#include "core/group.h"
#include "core/record_codec.h"
#include "core/resolve.h"
#include "core/state_codec.h"

namespace exactly::core {

struct Engine::State : EngineState {};

namespace {

bool IsRefusalWord(std::string_view word) {
  for (int i = static_cast<int>(Outcome::kWon); i <= static_cast<int>(Outcome::kSkipped); ++i) {
    const auto outcome = static_cast<Outcome>(i);
    if (OutcomeName(outcome) == word) return IsRefusal(outcome);
  }
  return false;
}

// Expiry is a pure function of (state, time): every effect is stamped with the
// entry's own due time, so expiring in one step or in several (as a live engine
// does across batches that the journal never sees) ends in the same state.
void RunExpiry(EngineState* state, int64_t now_ms) {
  ExpiryEntry entry;
  while (state->expiry.PopDue(now_ms, &entry)) {
    switch (entry.kind) {
      case ExpiryKind::kClaimEnd:
      case ExpiryKind::kClaimLogForget:
        state->claims.Expire(entry, &state->expiry);
        break;
      case ExpiryKind::kReservationTimeout:
      case ExpiryKind::kTransferForget:
        state->ledger.Expire(entry, &state->expiry);
        break;
    }
  }
}

Reply ApplySingle(EngineState* state, const Command& command, const ApplyContext& context,
                  Effect* effect) {
  switch (command.kind) {
    case CommandKind::kClaim:
      return state->claims.Claim(command, context, effect);
    case CommandKind::kUnclaim:
      return state->claims.Unclaim(command, context, effect);
    case CommandKind::kClaimOf:
      return state->claims.ClaimOf(command, effect);
    case CommandKind::kClaimLog:
      return state->claims.ClaimLog(command, effect);
    case CommandKind::kAccount:
      return state->ledger.CreateAccount(command, context, effect);
    case CommandKind::kTransfer:
      return state->ledger.ApplyTransfer(command, context, effect);
    case CommandKind::kReserve:
      return state->ledger.Reserve(command, context, effect);
    case CommandKind::kCommit:
      return state->ledger.Commit(command, context, effect);
    case CommandKind::kCancel:
      return state->ledger.Cancel(command, context, effect);
    case CommandKind::kBalance:
      return state->ledger.Balance(command, effect);
    case CommandKind::kHistory:
      return state->ledger.History(command, effect);
    case CommandKind::kGroup:
      break;
  }
  EXACTLY_ASSERT(command.kind != CommandKind::kGroup);
  return Reply::Error("ERR", "unknown command");
}

// MULTI/EXEC: every sub-command runs with an undo log; the first refusal or error
// undoes them all. `keep` marks the sub-commands that changed state (what the
// journal needs to repeat the group).
Reply ApplyGroup(EngineState* state, const Command& group, const ApplyContext& context,
                 Effect* effect, std::vector<uint8_t>* keep) {
  EXACTLY_ASSERT(context.undo == nullptr);
  UndoLog undo;
  ApplyContext inner = context;
  inner.undo = &undo;
  keep->assign(group.group.size(), 0);
  std::vector<Reply> results;
  results.reserve(group.group.size());
  bool failed = false;
  bool changed = false;
  for (size_t i = 0; i < group.group.size(); ++i) {
    const Command& sub = group.group[i];
    if (failed) {
      results.push_back(Reply::WithOutcome(Outcome::kSkipped));
      continue;
    }
    EXACTLY_ASSERT(sub.kind != CommandKind::kGroup);
    Effect sub_effect;
    Reply reply = ApplySingle(state, sub, inner, &sub_effect);
    effect->observed = std::max(effect->observed, sub_effect.observed);
    (*keep)[i] = sub_effect.changed ? 1 : 0;
    changed = changed || sub_effect.changed;
    // A read's answer (CLAIMOF `held`, BALANCE `no_account`) is information, not a
    // refusal: only mutations roll the group back.
    if (reply.is_error() || (IsMutating(sub.kind) && IsRefusalWord(reply.result()))) {
      reply.Add("failed", int64_t{1});
      failed = true;
    }
    results.push_back(std::move(reply));
  }
  if (failed) {
    undo.Rollback(&state->claims, &state->ledger);
    effect->changed = false;
    return std::move(Reply::WithOutcome(Outcome::kRolledBack).Add("results", std::move(results)));
  }
  effect->changed = changed;
  return std::move(Reply::WithOutcome(Outcome::kExecuted).Add("results", std::move(results)));
}

}  // namespace

Engine::Engine(EngineConfig config) : state_(std::make_unique<State>()), config_(config) {}

Engine::~Engine() = default;

void Engine::ApplyBatch(std::span<Command> commands, TimestampMs now, Lsn lsn, BatchOutput* out) {
  EXACTLY_ASSERT(lsn > state_->applied_lsn);
  out->replies.clear();
  out->wait_lsn.clear();
  out->record.clear();
  out->replies.reserve(commands.size());
  out->wait_lsn.reserve(commands.size());

  const int64_t now_ms = std::max(now.value, state_->last_timestamp_ms);
  state_->last_timestamp_ms = now_ms;
  RunExpiry(state_.get(), now_ms);

  ApplyContext context;
  context.now_ms = now_ms;
  context.lsn = lsn;
  context.config = &config_;
  context.expiry = &state_->expiry;

  RecordWriter writer(&out->record);
  std::vector<uint8_t> keep;
  bool logged = false;
  for (Command& command : commands) {
    Resolve(&command, now_ms, config_);
    Effect effect;
    Reply reply = command.kind == CommandKind::kGroup
                      ? ApplyGroup(state_.get(), command, context, &effect, &keep)
                      : ApplySingle(state_.get(), command, context, &effect);
    if (effect.changed) {
      if (!logged) writer.Begin(now_ms);
      logged = true;
      if (command.kind == CommandKind::kGroup) {
        writer.AddGroup(command, keep);
      } else {
        writer.Add(command);
      }
    }
    out->replies.push_back(std::move(reply));
    out->wait_lsn.push_back(effect.changed ? lsn : effect.observed);
  }
  if (logged) state_->applied_lsn = lsn;
}

base::Status Engine::Replay(Lsn lsn, std::string_view record) {
  if (lsn <= state_->applied_lsn) {
    return base::Status::Corruption("record " + std::to_string(lsn.value) +
                                    " is not after applied LSN " +
                                    std::to_string(state_->applied_lsn.value));
  }
  auto decoded = DecodeRecord(record);
  if (!decoded.ok()) return decoded.status();
  const int64_t now_ms = std::max(decoded->timestamp_ms, state_->last_timestamp_ms);
  state_->last_timestamp_ms = now_ms;
  RunExpiry(state_.get(), now_ms);

  ApplyContext context;
  context.now_ms = now_ms;
  context.lsn = lsn;
  context.config = &config_;
  context.expiry = &state_->expiry;
  context.enforce_limits = false;
  std::vector<uint8_t> keep;
  for (const Command& command : decoded->commands) {
    Effect effect;
    if (command.kind == CommandKind::kGroup) {
      ApplyGroup(state_.get(), command, context, &effect, &keep);
    } else {
      ApplySingle(state_.get(), command, context, &effect);
    }
  }
  state_->applied_lsn = lsn;
  return base::Status::Ok();
}

std::string Engine::SaveState() const { return EncodeState(*state_); }

base::Status Engine::LoadState(std::string_view bytes) {
  auto loaded = std::make_unique<State>();
  EXACTLY_RETURN_IF_ERROR(DecodeState(bytes, loaded.get()));
  state_ = std::move(loaded);
  return base::Status::Ok();
}

Lsn Engine::applied_lsn() const { return state_->applied_lsn; }

TimestampMs Engine::last_timestamp() const { return TimestampMs{state_->last_timestamp_ms}; }

EngineStats Engine::stats() const {
  EngineStats stats;
  stats.claims = state_->claims.live();
  stats.accounts = state_->ledger.accounts().size();
  stats.transfers = state_->ledger.transfers().size();
  stats.pending = state_->ledger.pending();
  return stats;
}

const EngineConfig& Engine::config() const { return config_; }

}  // namespace exactly::core
