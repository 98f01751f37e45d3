// Ledger: accounts within bounds, transfers and reservations.
#include "core/ledger.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "base/assert.h"
#include "base/checked_math.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/limits.h"
#include "core/restore_entry.h"

namespace exactly::core {
namespace {

constexpr Amount kAmountMin = std::numeric_limits<Amount>::min();
constexpr Amount kAmountMax = std::numeric_limits<Amount>::max();

std::string BoundText(const Value& value) {
  if (const auto* number = std::get_if<int64_t>(&value)) return std::to_string(*number);
  return std::get<std::string>(value);
}

Outcome StatusOutcome(TransferStatus status) {
  switch (status) {
    case TransferStatus::kOk:
      return Outcome::kOk;
    case TransferStatus::kInsufficient:
      return Outcome::kInsufficient;
    case TransferStatus::kOverMax:
      return Outcome::kOverMax;
    case TransferStatus::kNoAccount:
      return Outcome::kNoAccount;
    case TransferStatus::kPending:
      return Outcome::kPending;
    case TransferStatus::kCommitted:
      return Outcome::kCommitted;
    case TransferStatus::kCancelled:
      return Outcome::kCancelled;
    case TransferStatus::kTimedOut:
      return Outcome::kTimedOut;
  }
  return Outcome::kNoTransfer;
}

bool IsRefused(TransferStatus status) {
  return status == TransferStatus::kInsufficient || status == TransferStatus::kOverMax ||
         status == TransferStatus::kNoAccount;
}

Reply TransferReply(Outcome outcome, std::string_view id, Amount amount, int64_t timestamp_ms,
                    int64_t window_ms, int64_t expires_ms) {
  Reply reply = Reply::WithOutcome(outcome);
  reply.fields.reserve(6);
  reply.Add("id", std::string(id))
      .Add("amount", amount)
      .Add("timestamp", timestamp_ms)
      .Add("window", window_ms)
      .Add("expires", expires_ms);
  return reply;
}

Reply StoredReply(Outcome outcome, std::string_view id, const Transfer& transfer) {
  const int64_t timestamp =
      transfer.resolved_ms != kNoTimeMs && (transfer.status == TransferStatus::kCommitted ||
                                            transfer.status == TransferStatus::kCancelled ||
                                            transfer.status == TransferStatus::kTimedOut)
          ? transfer.resolved_ms
          : transfer.timestamp_ms;
  return TransferReply(outcome, id, transfer.amount, timestamp, transfer.window_ms,
                       transfer.expires_ms);
}

void AppendHistory(Account* account, HistoryEntry entry) {
  if (account->history.size() >= kHistoryPerAccountMax) {
    account->history.erase(account->history.begin());
  }
  account->history.push_back(std::move(entry));
}

void AssertWithinBounds(const Account& account) {
  EXACTLY_ASSERT(account.reserved_out >= 0);
  EXACTLY_ASSERT(account.reserved_in >= 0);
  EXACTLY_ASSERT(account.balance >= MinValue(account.min));
  EXACTLY_ASSERT(account.balance <= MaxValue(account.max));
  const auto available = base::CheckedSub(account.balance, account.reserved_out);
  EXACTLY_ASSERT(available.has_value());
  EXACTLY_ASSERT(*available >= MinValue(account.min));
  const auto ceiling = base::CheckedAdd(account.balance, account.reserved_in);
  EXACTLY_ASSERT(ceiling.has_value());
  EXACTLY_ASSERT(*ceiling <= MaxValue(account.max));
}

// Whether `amount` more can leave `account` (counting pending debits).
bool CanDebit(const Account& account, Amount amount, bool reserve) {
  const auto available = base::CheckedSub(account.balance, account.reserved_out);
  if (!available) return false;
  const auto after = base::CheckedSub(*available, amount);
  if (!after || *after < MinValue(account.min)) return false;
  return !reserve || base::CheckedAdd(account.reserved_out, amount).has_value();
}

// Whether `amount` more can arrive in `account` (counting pending credits).
bool CanCredit(const Account& account, Amount amount, bool reserve) {
  const auto ceiling = base::CheckedAdd(account.balance, account.reserved_in);
  if (!ceiling) return false;
  const auto after = base::CheckedAdd(*ceiling, amount);
  if (!after || *after > MaxValue(account.max)) return false;
  return !reserve || base::CheckedAdd(account.reserved_in, amount).has_value();
}

int64_t ClampCount(int64_t count) {
  if (count <= 0) return kCountDefault;
  return std::min(count, kCountMax);
}

Reply TableFull(std::string_view table, size_t max) {
  return Reply::Error("ERR", std::string(table) + " table full (max " + std::to_string(max) + ")");
}

}  // namespace

Amount MinValue(const Bound& min) { return min.infinite ? kAmountMin : min.value; }
Amount MaxValue(const Bound& max) { return max.infinite ? kAmountMax : max.value; }
Value MinReplyValue(const Bound& min) {
  if (min.infinite) return std::string("-inf");
  return min.value;
}
Value MaxReplyValue(const Bound& max) {
  if (max.infinite) return std::string("+inf");
  return max.value;
}

std::string_view HistoryKindName(HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kTransfer:
      return "transfer";
    case HistoryKind::kReserve:
      return "reserve";
    case HistoryKind::kCommit:
      return "commit";
    case HistoryKind::kCancel:
      return "cancel";
    case HistoryKind::kTimeout:
      return "timeout";
  }
  return "unknown";
}

void Ledger::SaveAccount(std::string_view key, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = accounts_.find(key);
  context.undo->SaveAccount(key, it == accounts_.end() ? nullptr : &it->second);
}

void Ledger::SaveTransfer(std::string_view id, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  auto it = transfers_.find(id);
  context.undo->SaveTransfer(id, it == transfers_.end() ? nullptr : &it->second);
}

Account& Ledger::MustFind(std::string_view key) {
  auto it = accounts_.find(key);
  EXACTLY_ASSERT(it != accounts_.end());
  return it->second;
}

Reply Ledger::CreateAccount(const Command& command, const ApplyContext& context, Effect* effect) {
  const Amount min = MinValue(command.min);
  const Amount max = MaxValue(command.max);
  if (min > max) {
    return Reply::Error("ERR", "MIN " + BoundText(MinReplyValue(command.min)) +
                                   " is greater than MAX " + BoundText(MaxReplyValue(command.max)));
  }
  if (min > 0 || max < 0) {
    return Reply::Error("ERR", "initial balance 0 is outside [" +
                                   BoundText(MinReplyValue(command.min)) + ", " +
                                   BoundText(MaxReplyValue(command.max)) + "]");
  }
  auto it = accounts_.find(std::string_view(command.key));
  Outcome outcome = Outcome::kCreated;
  if (it != accounts_.end()) {
    const Account& account = it->second;
    effect->observed = account.lsn;
    if (account.min != command.min || account.max != command.max) {
      return Reply::Error("ERR", "account " + command.key + " exists with other bounds (min " +
                                     BoundText(MinReplyValue(account.min)) + ", max " +
                                     BoundText(MaxReplyValue(account.max)) + ")");
    }
    outcome = Outcome::kAgain;
  } else {
    if (context.enforce_limits && accounts_.size() >= context.config->accounts_max) {
      return TableFull("accounts", context.config->accounts_max);
    }
    SaveAccount(command.key, context);
    Account& account = accounts_[command.key];
    account.min = command.min;
    account.max = command.max;
    account.lsn = context.lsn;
    effect->changed = true;
  }
  Reply reply = Reply::WithOutcome(outcome);
  reply.Add("key", command.key);
  reply.fields.emplace_back("min", MinReplyValue(command.min));
  reply.fields.emplace_back("max", MaxReplyValue(command.max));
  return reply;
}

// Answers a repeat of a known id: id_conflict if the fields differ, else the
// first outcome (or the reservation's state).
Reply Ledger::RepeatReply(const Command& command, const Transfer& transfer, Effect* effect) const {
  effect->observed = transfer.lsn;
  const bool reserve = command.kind == CommandKind::kReserve;
  if (transfer.reserve != reserve || transfer.from != command.from || transfer.to != command.to ||
      transfer.amount != command.amount) {
    return StoredReply(Outcome::kIdConflict, command.id, transfer);
  }
  Outcome outcome = StatusOutcome(transfer.status);
  if (transfer.status == TransferStatus::kOk || transfer.status == TransferStatus::kPending) {
    outcome = Outcome::kAgain;
  }
  return StoredReply(outcome, command.id, transfer);
}

TransferStatus Ledger::Check(const Command& command, bool reserve) const {
  auto from = accounts_.find(std::string_view(command.from));
  auto to = accounts_.find(std::string_view(command.to));
  if (from == accounts_.end() || to == accounts_.end()) return TransferStatus::kNoAccount;
  if (!CanDebit(from->second, command.amount, reserve)) return TransferStatus::kInsufficient;
  if (!CanCredit(to->second, command.amount, reserve)) return TransferStatus::kOverMax;
  return reserve ? TransferStatus::kPending : TransferStatus::kOk;
}

Reply Ledger::ApplyTransfer(const Command& command, const ApplyContext& context, Effect* effect) {
  if (command.from == command.to) return Reply::Error("ERR", "from and to must differ");
  if (command.amount <= 0) return Reply::Error("ERR", "amount must be positive");
  const bool reserve = command.kind == CommandKind::kReserve;
  auto known = transfers_.find(std::string_view(command.id));
  if (known != transfers_.end()) return RepeatReply(command, known->second, effect);
  if (context.enforce_limits && transfers_.size() >= context.config->transfers_max) {
    return TableFull("transfers", context.config->transfers_max);
  }
  const TransferStatus status = Check(command, reserve);
  SaveTransfer(command.id, context);
  if (!IsRefused(status)) {
    SaveAccount(command.from, context);
    SaveAccount(command.to, context);
    Account& from = MustFind(command.from);
    Account& to = MustFind(command.to);
    const HistoryKind kind = reserve ? HistoryKind::kReserve : HistoryKind::kTransfer;
    if (reserve) {
      from.reserved_out += command.amount;
      to.reserved_in += command.amount;
      ++pending_;
    } else {
      from.balance -= command.amount;
      to.balance += command.amount;
    }
    from.lsn = context.lsn;
    to.lsn = context.lsn;
    AppendHistory(&from, HistoryEntry{kind, -command.amount, from.balance, context.now_ms,
                                      command.id, command.note});
    AppendHistory(&to, HistoryEntry{kind, command.amount, to.balance, context.now_ms, command.id,
                                    command.note});
    AssertWithinBounds(from);
    AssertWithinBounds(to);
  }
  Transfer& transfer = transfers_[command.id];
  transfer.reserve = reserve;
  transfer.status = status;
  transfer.amount = command.amount;
  transfer.timestamp_ms = context.now_ms;
  transfer.window_ms = command.window_ms;
  transfer.expires_ms = command.expires_ms;
  transfer.forget_ms = command.remember_until_ms;
  transfer.resolved_ms = kNoTimeMs;
  transfer.lsn = context.lsn;
  transfer.from = command.from;
  transfer.to = command.to;
  if (status == TransferStatus::kPending) {
    context.expiry->Push(transfer.expires_ms, ExpiryKind::kReservationTimeout, command.id);
  }
  context.expiry->Push(transfer.forget_ms, ExpiryKind::kTransferForget, command.id);
  effect->changed = true;
  return TransferReply(StatusOutcome(status), command.id, transfer.amount, transfer.timestamp_ms,
                       transfer.window_ms, transfer.expires_ms);
}

Reply Ledger::Reserve(const Command& command, const ApplyContext& context, Effect* effect) {
  return ApplyTransfer(command, context, effect);
}

Reply Ledger::Commit(const Command& command, const ApplyContext& context, Effect* effect) {
  return ResolveReservation(command, context, effect, /*commit=*/true);
}

Reply Ledger::Cancel(const Command& command, const ApplyContext& context, Effect* effect) {
  return ResolveReservation(command, context, effect, /*commit=*/false);
}

void Ledger::Release(std::string_view id, Transfer* transfer, int64_t at_ms, HistoryKind kind) {
  Account& from = MustFind(transfer->from);
  Account& to = MustFind(transfer->to);
  from.reserved_out -= transfer->amount;
  to.reserved_in -= transfer->amount;
  if (kind == HistoryKind::kCommit) {
    // Cannot cross a bound: the reservation already counted against both.
    from.balance -= transfer->amount;
    to.balance += transfer->amount;
  }
  --pending_;
  transfer->resolved_ms = at_ms;
  AppendHistory(&from, HistoryEntry{kind, -transfer->amount, from.balance, at_ms, std::string(id),
                                    std::string()});
  AppendHistory(
      &to, HistoryEntry{kind, transfer->amount, to.balance, at_ms, std::string(id), std::string()});
  AssertWithinBounds(from);
  AssertWithinBounds(to);
}

Reply Ledger::ResolveReservation(const Command& command, const ApplyContext& context,
                                 Effect* effect, bool commit) {
  auto it = transfers_.find(std::string_view(command.id));
  if (it == transfers_.end()) {
    return TransferReply(Outcome::kNoTransfer, command.id, 0, kNoTimeMs, kNoTimeMs, kNoTimeMs);
  }
  Transfer& transfer = it->second;
  effect->observed = transfer.lsn;
  if (!transfer.reserve) return StoredReply(Outcome::kNoTransfer, command.id, transfer);
  // A refused RESERVE never held anything; its first outcome stays its answer.
  if (IsRefused(transfer.status)) {
    return StoredReply(StatusOutcome(transfer.status), command.id, transfer);
  }
  const TransferStatus done = commit ? TransferStatus::kCommitted : TransferStatus::kCancelled;
  if (transfer.status != TransferStatus::kPending) {
    const Outcome outcome =
        transfer.status == done ? Outcome::kAgain : StatusOutcome(transfer.status);
    return StoredReply(outcome, command.id, transfer);
  }
  SaveTransfer(command.id, context);
  SaveAccount(transfer.from, context);
  SaveAccount(transfer.to, context);
  Release(command.id, &transfer, context.now_ms,
          commit ? HistoryKind::kCommit : HistoryKind::kCancel);
  MustFind(transfer.from).lsn = context.lsn;
  MustFind(transfer.to).lsn = context.lsn;
  transfer.status = done;
  transfer.lsn = context.lsn;
  effect->changed = true;
  return StoredReply(commit ? Outcome::kCommitted : Outcome::kCancelled, command.id, transfer);
}

Reply Ledger::Balance(const Command& command, Effect* effect) const {
  auto it = accounts_.find(std::string_view(command.key));
  if (it == accounts_.end()) return Reply::WithOutcome(Outcome::kNoAccount);
  const Account& account = it->second;
  effect->observed = account.lsn;
  Reply reply = Reply::WithOutcome(Outcome::kOk);
  reply.fields.reserve(6);
  reply.Add("balance", account.balance).Add("reserved", account.reserved_out);
  reply.fields.emplace_back("min", MinReplyValue(account.min));
  reply.fields.emplace_back("max", MaxReplyValue(account.max));
  reply.Add("incoming", account.reserved_in);
  return reply;
}

Reply Ledger::History(const Command& command, Effect* effect) const {
  auto it = accounts_.find(std::string_view(command.key));
  if (it == accounts_.end()) return Reply::WithOutcome(Outcome::kNoAccount);
  const Account& account = it->second;
  effect->observed = account.lsn;
  const auto& history = account.history;
  const size_t count = std::min(history.size(), static_cast<size_t>(ClampCount(command.count)));
  std::vector<Reply> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const HistoryEntry& entry = history[history.size() - 1 - i];
    Reply reply;
    reply.fields.reserve(6);
    reply.Add("id", entry.id)
        .Add("amount", entry.amount)
        .Add("balance", entry.balance)
        .Add("at", entry.at_ms)
        .Add("kind", std::string(HistoryKindName(entry.kind)))
        .Add("note", entry.note);
    entries.push_back(std::move(reply));
  }
  return std::move(Reply::WithOutcome(Outcome::kOk).Add("entries", std::move(entries)));
}

void Ledger::Expire(const ExpiryEntry& entry, ExpiryQueue* expiry) {
  auto it = transfers_.find(std::string_view(entry.name));
  if (it == transfers_.end()) return;
  Transfer& transfer = it->second;
  if (entry.kind == ExpiryKind::kReservationTimeout) {
    if (!transfer.reserve || transfer.status != TransferStatus::kPending ||
        transfer.expires_ms != entry.time_ms) {
      return;
    }
    Release(entry.name, &transfer, entry.time_ms, HistoryKind::kTimeout);
    transfer.status = TransferStatus::kTimedOut;
    return;
  }
  EXACTLY_ASSERT(entry.kind == ExpiryKind::kTransferForget);
  if (transfer.forget_ms != entry.time_ms || transfer.status == TransferStatus::kPending) return;
  transfers_.erase(it);
}

void Ledger::ScheduleAll(ExpiryQueue* expiry) const {
  for (const auto& [id, transfer] : transfers_) {
    if (transfer.status == TransferStatus::kPending) {
      expiry->Push(transfer.expires_ms, ExpiryKind::kReservationTimeout, id);
    }
    expiry->Push(transfer.forget_ms, ExpiryKind::kTransferForget, id);
  }
}

void Ledger::RestoreAccount(std::string_view key, std::optional<Account> account) {
  RestoreEntry(accounts_, key, std::move(account));
}

void Ledger::RestoreTransfer(std::string_view id, std::optional<Transfer> transfer) {
  auto it = transfers_.find(id);
  if (it != transfers_.end()) {
    if (it->second.status == TransferStatus::kPending) --pending_;
    if (!transfer) {
      transfers_.erase(it);
      return;
    }
    it->second = std::move(*transfer);
    if (it->second.status == TransferStatus::kPending) ++pending_;
    return;
  }
  if (!transfer) return;
  if (transfer->status == TransferStatus::kPending) ++pending_;
  transfers_.emplace(std::string(id), std::move(*transfer));
}

void Ledger::Clear() {
  accounts_.clear();
  transfers_.clear();
  pending_ = 0;
}

}  // namespace exactly::core
