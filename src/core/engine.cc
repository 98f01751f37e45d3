// Engine: batches in, replies and journal records out. Runs expiry at the start
// of every batch (granting freed locks and IDEM keys to their waiters, which gives
// the batch a record), resolves relative times, checks IFLOCK, dispatches each
// command to its table, applies MULTI groups all or nothing and then lets the
// lock and IDEM tables answer the waiters the command released.
#include "core/engine.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "core/engine_state.h"
#include "core/group.h"
#include "core/record_codec.h"
#include "core/resolve.h"
#include "core/state_codec.h"

namespace exactly::core {

struct Engine::State : EngineState {
  // Replay decodes every record into this one, reusing its memory.
  DecodedRecord replay_record;
  // Between a Replay and the next ApplyBatch the big tables grow all at once
  // (RecordStore::SetGrowAtOnce): no client waits on a replay, on a live batch
  // one does.
  bool replaying = false;
  void SetReplaying(bool now_replaying) {
    if (replaying == now_replaying) return;
    replaying = now_replaying;
    claims.SetGrowAtOnce(replaying);
    ledger.SetGrowAtOnce(replaying);
  }
};

namespace {

// Expiry is a pure function of (state, time): every effect is stamped with the
// entry's own due time, so expiring in one step or in several (as a live engine
// does across batches that the journal never sees) ends in the same state.
// Returns true if expiry granted a lock or an IDEM key to a waiter: such a grant
// changes durable state at a time no command carries, so the batch needs a record
// (replaying it runs the same expiry and grants the same token).
bool RunExpiry(EngineState* state, const ApplyContext& context) {
  bool granted = false;
  ExpiryEntry entry;
  while (state->expiry.PopDue(context.now_ms, &entry)) {
    switch (entry.kind) {
      case ExpiryKind::kClaimEnd:
      case ExpiryKind::kClaimLogForget:
        state->claims.Expire(entry, &state->expiry);
        break;
      case ExpiryKind::kReservationTimeout:
      case ExpiryKind::kTransferForget:
        state->ledger.Expire(entry, &state->expiry);
        break;
      case ExpiryKind::kLockWaitEnd:
      case ExpiryKind::kLockLeaseEnd:
      case ExpiryKind::kLockIdForget:
        granted = state->locks.Expire(entry, context) || granted;
        break;
      case ExpiryKind::kIdemWaitEnd:
      case ExpiryKind::kIdemLeaseEnd:
      case ExpiryKind::kIdemForget:
        granted = state->idem.Expire(entry, context) || granted;
        break;
      case ExpiryKind::kLimitForget:
        state->limits.Expire(entry);
        break;
    }
  }
  state->expiry.PopWakesDue(context.now_ms);
  return granted;
}

// The internal kinds, which no table owns.
Reply ApplyInternal(EngineState* state, const cmd::CancelWaiter& cancel, Effect* effect) {
  const bool found = state->locks.Cancel(cancel.waiter) || state->idem.Cancel(cancel.waiter);
  effect->changed = found;
  return Reply::WithOutcome(found ? Outcome::kCancelled : Outcome::kAgain);
}
Reply ApplyInternal(EngineState* state, const cmd::DropWaiters&, Effect* effect) {
  const bool locks = state->locks.DropWaiters();
  const bool idem = state->idem.DropWaiters();
  effect->changed = locks || idem;
  return Reply::WithOutcome(Outcome::kOk);
}
Reply ApplyInternal(EngineState*, const cmd::Group&, Effect*) {
  EXACTLY_ASSERT(false);  // ApplyGroup applies its sub-commands
  return Reply::Error("ERR", "unknown command");
}

// The table that applies a kind is the one with an Apply overload for its struct,
// so a new kind needs no line here: its table's overload is found (and a kind no
// table takes, other than the internal ones, does not compile).
Reply ApplyTable(EngineState* state, const Command& command, const ApplyContext& context,
                 Effect* effect) {
  return std::visit(
      [&](const auto& args) -> Reply {
        if constexpr (requires { state->claims.Apply(args, command, context, effect); }) {
          return state->claims.Apply(args, command, context, effect);
        } else if constexpr (requires { state->ledger.Apply(args, command, context, effect); }) {
          return state->ledger.Apply(args, command, context, effect);
        } else if constexpr (requires { state->locks.Apply(args, command, context, effect); }) {
          return state->locks.Apply(args, command, context, effect);
        } else if constexpr (requires { state->idem.Apply(args, command, context, effect); }) {
          return state->idem.Apply(args, command, context, effect);
        } else if constexpr (requires { state->limits.Apply(args, command, context, effect); }) {
          return state->limits.Apply(args, command, context, effect);
        } else {
          return ApplyInternal(state, args, effect);
        }
      },
      command.args);
}

Reply ApplySingle(EngineState* state, const Command& command, const ApplyContext& context,
                  Effect* effect) {
  // IFLOCK is checked before anything else: a fenced command whose token went
  // stale changes nothing.
  if (!command.iflock_name.empty() && !state->locks.Holds(command.iflock_name, command.iflock_token,
                                                          context.now_ms, &effect->observed)) {
    return Reply::WithOutcome(Outcome::kStale);
  }
  return ApplyTable(state, command, context, effect);
}

// Whether a group's sub-command answered with a refusal that rolls the group back.
bool RollsBack(const Command& sub, const Reply& reply) {
  if (reply.is_error()) return true;
  // An IDEM BEGIN that finds the operation done must stop the commands queued
  // after it: they are the operation. Any command that writes state, durable or
  // not, refuses: LIMIT's `limited` is what such a group is guarded by. A read's
  // answer (CLAIMOF `held`, BALANCE `no_account`) is information, not a refusal.
  if (sub.kind == CommandKind::kIdemBegin && reply.Is(Outcome::kDone)) return true;
  return Writes(sub.kind) && reply.outcome.has_value() && IsRefusal(*reply.outcome);
}

// The field that names what a command is about (its kind's kIdentity): every
// element of an EXEC reply carries it, so a client can tell which element answers
// which command even when the group rolled back and the element is only
// `rolled_back` or `skipped`. {"", nullptr} for a kind without one.
std::pair<std::string_view, const std::string*> IdentifyingField(const Command& command) {
  return std::visit(
      [](const auto& typed) -> std::pair<std::string_view, const std::string*> {
        using S = std::decay_t<decltype(typed)>;
        std::pair<std::string_view, const std::string*> identity{"", nullptr};
        if constexpr (requires { S::kIdentity; }) {
          ForEachField<S>([&](const auto& field) {
            if constexpr (std::is_same_v<std::decay_t<decltype(typed.*field.member)>,
                                         std::string>) {
              if (field.name == S::kIdentity) identity = {field.name, &(typed.*field.member)};
            }
          });
        }
        return identity;
      },
      command.args);
}

void AddIdentity(const Command& command, Reply* reply) {
  if (reply->is_error()) return;
  const auto [name, value] = IdentifyingField(command);
  if (value == nullptr) return;
  for (const auto& field : reply->fields) {
    if (field.first == name) return;
  }
  reply->Add(name, *value);
}

Reply GroupElement(const Command& command, Outcome outcome) {
  Reply reply = Reply::WithOutcome(outcome);
  AddIdentity(command, &reply);
  return reply;
}

// MULTI/EXEC: every sub-command runs with an undo log; the first refusal or error
// undoes them all. `keep` marks the sub-commands that changed state (what the
// journal needs to repeat the group). The reply has one element per sub-command:
// its own reply when the group executed; when it rolled back, `rolled_back`
// before the refused one (nothing they did remains), the refusal itself with
// `failed 1`, and `skipped` after it (never evaluated).
Reply ApplyGroup(EngineState* state, const Command& group, const ApplyContext& context,
                 Effect* effect, std::vector<uint8_t>* keep) {
  EXACTLY_ASSERT(context.undo == nullptr);
  UndoLog undo;
  const Counters counters = *context.counters;
  ApplyContext inner = context;
  inner.undo = &undo;
  keep->assign(group.group.size(), 0);
  std::vector<Reply> results;
  results.reserve(group.group.size());
  size_t refused = group.group.size();
  bool changed = false;
  for (size_t i = 0; i < group.group.size() && refused == group.group.size(); ++i) {
    const Command& sub = group.group[i];
    EXACTLY_ASSERT(sub.kind != CommandKind::kGroup);
    Effect sub_effect;
    Reply reply = ApplySingle(state, sub, inner, &sub_effect);
    effect->observed = std::max(effect->observed, sub_effect.observed);
    (*keep)[i] = sub_effect.changed ? 1 : 0;
    changed = changed || sub_effect.changed;
    if (RollsBack(sub, reply)) {
      if (!reply.is_error()) {
        reply.Add("failed", int64_t{1});
        AddIdentity(sub, &reply);
      }
      refused = i;
    }
    results.push_back(std::move(reply));
  }
  Reply reply;
  if (refused < group.group.size()) {
    undo.Rollback(state);
    state->locks.DropUnsettled();
    state->idem.DropUnsettled();
    *context.counters = counters;
    effect->changed = false;
    for (size_t i = 0; i < refused; ++i) {
      results[i] = GroupElement(group.group[i], Outcome::kRolledBack);
    }
    for (size_t i = refused + 1; i < group.group.size(); ++i) {
      results.push_back(GroupElement(group.group[i], Outcome::kSkipped));
    }
    reply = Reply::WithOutcome(Outcome::kRolledBack);
  } else {
    effect->changed = changed;
    reply = Reply::WithOutcome(Outcome::kExecuted);
  }
  EXACTLY_ASSERT(results.size() == group.group.size());
  reply.Add("results", std::move(results));
  reply.wire_list_only = true;
  return reply;
}

// One top-level command (or group), then the waiters it released.
// Builds a value straight into a container's slot: emplace_back(InPlace{make})
// constructs the element from make()'s result with no move in between (a Reply
// is a few hundred bytes, its fields inline).
template <typename Make>
struct InPlace {
  Make make;
  operator std::invoke_result_t<Make&>() { return make(); }  // NOLINT: implicit on purpose
};

Reply ApplyTop(EngineState* state, Command& command, ApplyContext* context, Effect* effect,
               std::vector<uint8_t>* keep) {
  // The kind says how the command is batched and logged, its arguments how it is
  // applied: they must agree (Command's constructors and Emplace set both).
  EXACTLY_ASSERT(static_cast<size_t>(command.kind) == command.args.index() + 1);
  context->waiters_now = state->locks.waiters() + state->idem.waiters();
  Reply reply = command.kind == CommandKind::kGroup
                    ? ApplyGroup(state, command, *context, effect, keep)
                    : ApplySingle(state, command, *context, effect);
  state->locks.Settle(*context);
  state->idem.Settle(*context);
  return reply;
}

}  // namespace

Engine::Engine(EngineConfig config) : state_(std::make_unique<State>()), config_(config) {}

Engine::~Engine() = default;

void Engine::ApplyBatch(std::span<Command> commands, TimestampMs now, Lsn lsn, BatchOutput* out) {
  EXACTLY_ASSERT(lsn > state_->applied_lsn);
  state_->SetReplaying(false);
  out->replies.clear();
  out->wait_lsn.clear();
  out->record.clear();
  out->parked.clear();
  out->wakes.clear();
  out->replies.reserve(commands.size());
  out->wait_lsn.reserve(commands.size());
  out->parked.reserve(commands.size());

  const int64_t now_ms = std::max(now.value, state_->last_timestamp_ms);
  state_->last_timestamp_ms = now_ms;

  ApplyContext context;
  context.now_ms = now_ms;
  context.lsn = lsn;
  context.config = &config_;
  context.expiry = &state_->expiry;
  context.counters = &state_->counters;
  context.wakes = &out->wakes;

  RecordWriter writer(&out->record);
  bool logged = false;
  if (RunExpiry(state_.get(), context)) {
    writer.Begin(now_ms);
    logged = true;
  }

  std::vector<uint8_t> keep;
  for (Command& command : commands) {
    Resolve(&command, now_ms, config_);
    Effect effect;
    out->replies.emplace_back(
        InPlace{[&] { return ApplyTop(state_.get(), command, &context, &effect, &keep); }});
    if (effect.changed) {
      if (!logged) writer.Begin(now_ms);
      logged = true;
      if (command.kind == CommandKind::kGroup) {
        writer.AddGroup(command, keep);
      } else {
        writer.Add(command);
      }
    }
    out->wait_lsn.push_back(effect.changed ? lsn : effect.observed);
    out->parked.push_back(effect.parked);
  }
  if (logged) {
    state_->applied_lsn = lsn;
  } else {
    // Nothing of this batch reaches the log, so nothing at `lsn` will ever be durable:
    // a read inside a rolled-back group may have observed the group's own undone
    // write at `lsn`, and its reply must not wait for it.
    for (Lsn& wait : out->wait_lsn) wait = std::min(wait, state_->applied_lsn);
  }
}

base::Status Engine::Replay(Lsn lsn, std::string_view record) {
  if (lsn <= state_->applied_lsn) {
    return base::Status::Corruption("record " + std::to_string(lsn.value) +
                                    " is not after applied LSN " +
                                    std::to_string(state_->applied_lsn.value));
  }
  state_->SetReplaying(true);
  DecodedRecord& decoded = state_->replay_record;
  EXACTLY_RETURN_IF_ERROR(DecodeRecordInto(record, &decoded));
  const int64_t now_ms = std::max(decoded.timestamp_ms, state_->last_timestamp_ms);
  state_->last_timestamp_ms = now_ms;

  // Nobody waits for the answers of a replay.
  std::vector<BatchOutput::Wake> wakes;
  ApplyContext context;
  context.now_ms = now_ms;
  context.lsn = lsn;
  context.config = &config_;
  context.expiry = &state_->expiry;
  context.counters = &state_->counters;
  context.wakes = &wakes;
  context.enforce_limits = false;
  context.replies = false;
  RunExpiry(state_.get(), context);
  std::vector<uint8_t> keep;
  for (Command& command : decoded.commands) {
    Effect effect;
    ApplyTop(state_.get(), command, &context, &effect, &keep);
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

ScanPage Engine::Scan(const ScanRequest& request) const {
  return ScanTablePage(*state_, request, state_->last_timestamp_ms);
}

EngineStats Engine::stats() const {
  EngineStats stats;
  stats.claims = state_->claims.live();
  stats.accounts = state_->ledger.accounts().size();
  stats.transfers = state_->ledger.transfers().size();
  stats.pending = state_->ledger.pending();
  stats.locks = state_->locks.held();
  stats.waiters = state_->locks.waiters() + state_->idem.waiters();
  stats.idem_keys = state_->idem.keys().size();
  stats.limit_keys = state_->limits.keys().size();
  return stats;
}

int64_t Engine::NextWakeMs() const { return state_->expiry.NextWake(); }

const EngineConfig& Engine::config() const { return config_; }

}  // namespace exactly::core
