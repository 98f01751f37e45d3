// Ledger: accounts within bounds, transfers and reservations.
#include "core/ledger.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "base/assert.h"
#include "base/checked_math.h"
#include "core/byte_codec.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/limits.h"

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
  reply.AddText("id", id)
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

// An account's record value: u8 flags (kMinInfinite, kMaxInfinite), then min,
// max, balance, reserved_out, reserved_in and lsn as 8-byte integers in fixed
// places, so a transfer rewrites them in place.
constexpr uint8_t kMinInfinite = 1;
constexpr uint8_t kMaxInfinite = 2;
constexpr size_t kAccountValueBytes = 1 + 6 * 8;

void EncodeAccount(const Account& account, char* out) {
  out[0] = static_cast<char>((account.min.infinite ? kMinInfinite : 0) |
                             (account.max.infinite ? kMaxInfinite : 0));
  const int64_t fields[6] = {account.min.value,   account.max.value,
                             account.balance,     account.reserved_out,
                             account.reserved_in, static_cast<int64_t>(account.lsn.value)};
  std::memcpy(out + 1, fields, sizeof(fields));
}

Account DecodeAccount(std::string_view value) {
  EXACTLY_ASSERT(value.size() == kAccountValueBytes);
  Account account;
  const auto flags = static_cast<uint8_t>(value[0]);
  int64_t fields[6];
  std::memcpy(fields, value.data() + 1, sizeof(fields));
  account.min = Bound{(flags & kMinInfinite) != 0, fields[0]};
  account.max = Bound{(flags & kMaxInfinite) != 0, fields[1]};
  account.balance = fields[2];
  account.reserved_out = fields[3];
  account.reserved_in = fields[4];
  account.lsn = Lsn{static_cast<uint64_t>(fields[5])};
  return account;
}

// A transfer's record value:
//   u8 flags (kReserve, status << 1, kNoWindow, kNoResolved, kFromHandle, kToHandle)
//   i64 amount, timestamp, [window - timestamp], expires - timestamp,
//   forget - expires, [resolved - timestamp], u64 lsn,
//   from and to: an account's record handle (u64) when the flag says so, else
//   the name's bytes (an id refused with no_account may name no account).
// Differences are modulo 2^64, so every int64 time round-trips.
constexpr uint8_t kReserveFlag = 1;
constexpr int kStatusShift = 1;  // three bits
constexpr uint8_t kNoWindow = 16;
constexpr uint8_t kNoResolved = 32;
constexpr uint8_t kFromHandle = 64;
constexpr uint8_t kToHandle = 128;
static_assert(kTransferStatusLast < 8);

int64_t Diff(int64_t value, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(value) - static_cast<uint64_t>(base));
}
int64_t Undiff(int64_t diff, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(diff));
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

Account Ledger::Fields(RecordHandle handle) const { return DecodeAccount(accounts_.Value(handle)); }

void Ledger::StoreFields(RecordHandle handle, const Account& account) {
  EncodeAccount(account, accounts_.MutableValue(handle));
}

Account Ledger::AccountAt(RecordHandle handle) const {
  Account account = Fields(handle);
  auto history = history_.find(handle);
  if (history != history_.end()) account.history = history->second;
  return account;
}

std::optional<Account> Ledger::FindAccount(std::string_view key) const {
  const RecordHandle handle = accounts_.Find(key);
  if (handle == kNoRecord) return std::nullopt;
  return AccountAt(handle);
}

void Ledger::AppendHistory(RecordHandle handle, HistoryEntry entry) {
  std::vector<HistoryEntry>& history = history_[handle];
  if (history.size() >= kHistoryPerAccountMax) history.erase(history.begin());
  history.push_back(std::move(entry));
}

Transfer Ledger::TransferAt(RecordHandle handle) const {
  ByteReader reader(transfers_.Value(handle));
  Transfer transfer;
  uint8_t flags = 0;
  int64_t diff = 0;
  bool ok = reader.U8(&flags);
  transfer.reserve = (flags & kReserveFlag) != 0;
  transfer.status = static_cast<TransferStatus>((flags >> kStatusShift) & 7);
  ok = ok && reader.I64(&transfer.amount) && reader.I64(&transfer.timestamp_ms);
  if ((flags & kNoWindow) == 0) {
    ok = ok && reader.I64(&diff);
    transfer.window_ms = Undiff(diff, transfer.timestamp_ms);
  }
  ok = ok && reader.I64(&diff);
  transfer.expires_ms = Undiff(diff, transfer.timestamp_ms);
  ok = ok && reader.I64(&diff);
  transfer.forget_ms = Undiff(diff, transfer.expires_ms);
  if ((flags & kNoResolved) == 0) {
    ok = ok && reader.I64(&diff);
    transfer.resolved_ms = Undiff(diff, transfer.timestamp_ms);
  }
  ok = ok && reader.U64(&transfer.lsn.value);
  for (const auto& [flag, name] :
       {std::pair{kFromHandle, &transfer.from}, std::pair{kToHandle, &transfer.to}}) {
    if (flags & flag) {
      uint64_t account = 0;
      ok = ok && reader.U64(&account);
      if (ok) name->assign(accounts_.Key(static_cast<RecordHandle>(account)));
    } else {
      ok = ok && reader.Bytes(name);
    }
  }
  EXACTLY_ASSERT(ok && reader.at_end());
  return transfer;
}

std::optional<Transfer> Ledger::FindTransfer(std::string_view id) const {
  const RecordHandle handle = transfers_.Find(id);
  if (handle == kNoRecord) return std::nullopt;
  return TransferAt(handle);
}

void Ledger::StoreTransfer(std::string_view id, RecordHandle handle, const Transfer& transfer) {
  scratch_.clear();
  ByteWriter writer(&scratch_);
  const RecordHandle from = accounts_.Find(transfer.from);
  const RecordHandle to = accounts_.Find(transfer.to);
  uint8_t flags = (transfer.reserve ? kReserveFlag : 0) |
                  static_cast<uint8_t>(static_cast<uint8_t>(transfer.status) << kStatusShift);
  if (transfer.window_ms == kNoTimeMs) flags |= kNoWindow;
  if (transfer.resolved_ms == kNoTimeMs) flags |= kNoResolved;
  if (from != kNoRecord) flags |= kFromHandle;
  if (to != kNoRecord) flags |= kToHandle;
  writer.U8(flags);
  writer.I64(transfer.amount);
  writer.I64(transfer.timestamp_ms);
  if (transfer.window_ms != kNoTimeMs) writer.I64(Diff(transfer.window_ms, transfer.timestamp_ms));
  writer.I64(Diff(transfer.expires_ms, transfer.timestamp_ms));
  writer.I64(Diff(transfer.forget_ms, transfer.expires_ms));
  if (transfer.resolved_ms != kNoTimeMs) {
    writer.I64(Diff(transfer.resolved_ms, transfer.timestamp_ms));
  }
  writer.U64(transfer.lsn.value);
  if (from != kNoRecord) {
    writer.U64(from);
  } else {
    writer.Bytes(transfer.from);
  }
  if (to != kNoRecord) {
    writer.U64(to);
  } else {
    writer.Bytes(transfer.to);
  }
  if (handle == kNoRecord) {
    transfers_.Insert(id, scratch_);
  } else {
    transfers_.Update(handle, scratch_);
  }
}

void Ledger::SaveAccount(std::string_view key, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  const std::optional<Account> account = FindAccount(key);
  context.undo->SaveAccount(key, account ? &*account : nullptr);
}

void Ledger::SaveTransfer(std::string_view id, const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  const std::optional<Transfer> transfer = FindTransfer(id);
  context.undo->SaveTransfer(id, transfer ? &*transfer : nullptr);
}

RecordHandle Ledger::MustFind(std::string_view key) const {
  const RecordHandle handle = accounts_.Find(key);
  EXACTLY_ASSERT(handle != kNoRecord);
  return handle;
}

Reply Ledger::Apply(const cmd::Account& args, const Command& command, const ApplyContext& context,
                    Effect* effect) {
  const Amount min = MinValue(args.min);
  const Amount max = MaxValue(args.max);
  if (min > max) {
    return Reply::Error("ERR", "MIN " + BoundText(MinReplyValue(args.min)) +
                                   " is greater than MAX " + BoundText(MaxReplyValue(args.max)));
  }
  if (min > 0 || max < 0) {
    return Reply::Error("ERR", "initial balance 0 is outside [" +
                                   BoundText(MinReplyValue(args.min)) + ", " +
                                   BoundText(MaxReplyValue(args.max)) + "]");
  }
  const RecordHandle handle = accounts_.Find(args.key);
  Outcome outcome = Outcome::kCreated;
  if (handle != kNoRecord) {
    const Account account = Fields(handle);
    effect->observed = account.lsn;
    if (account.min != args.min || account.max != args.max) {
      return Reply::Error("ERR", "account " + args.key + " exists with other bounds (min " +
                                     BoundText(MinReplyValue(account.min)) + ", max " +
                                     BoundText(MaxReplyValue(account.max)) + ")");
    }
    outcome = Outcome::kAgain;
  } else {
    if (context.enforce_limits && accounts_.size() >= context.config->accounts_max) {
      return TableFull("accounts", context.config->accounts_max);
    }
    SaveAccount(args.key, context);
    Account account;
    account.min = args.min;
    account.max = args.max;
    account.lsn = context.lsn;
    char value[kAccountValueBytes];
    EncodeAccount(account, value);
    accounts_.Insert(args.key, std::string_view(value, sizeof(value)));
    effect->changed = true;
  }
  Reply reply = Reply::WithOutcome(outcome);
  reply.Add("key", args.key);
  reply.fields.emplace_back("min", MinReplyValue(args.min));
  reply.fields.emplace_back("max", MaxReplyValue(args.max));
  return reply;
}

// Answers a repeat of a known id: id_conflict if the fields differ, else the
// first outcome (or the reservation's state).
Reply Ledger::RepeatReply(const Move& move, const Transfer& transfer, Effect* effect) const {
  effect->observed = transfer.lsn;
  const bool reserve = move.reserve;
  if (transfer.reserve != reserve || transfer.from != move.from || transfer.to != move.to ||
      transfer.amount != move.amount) {
    return StoredReply(Outcome::kIdConflict, move.id, transfer);
  }
  Outcome outcome = StatusOutcome(transfer.status);
  if (transfer.status == TransferStatus::kOk || transfer.status == TransferStatus::kPending) {
    outcome = Outcome::kAgain;
  }
  return StoredReply(outcome, move.id, transfer);
}

TransferStatus Ledger::Check(const Move& move, bool reserve) const {
  const RecordHandle from = accounts_.Find(move.from);
  const RecordHandle to = accounts_.Find(move.to);
  if (from == kNoRecord || to == kNoRecord) return TransferStatus::kNoAccount;
  if (!CanDebit(Fields(from), move.amount, reserve)) return TransferStatus::kInsufficient;
  if (!CanCredit(Fields(to), move.amount, reserve)) return TransferStatus::kOverMax;
  return reserve ? TransferStatus::kPending : TransferStatus::kOk;
}

Reply Ledger::ApplyMove(const Move& move, const Command& command, const ApplyContext& context,
                        Effect* effect) {
  if (move.from == move.to) return Reply::Error("ERR", "from and to must differ");
  if (move.amount <= 0) return Reply::Error("ERR", "amount must be positive");
  const bool reserve = move.reserve;
  const RecordHandle known = transfers_.Find(move.id);
  if (known != kNoRecord) return RepeatReply(move, TransferAt(known), effect);
  if (context.enforce_limits && transfers_.size() >= context.config->transfers_max) {
    return TableFull("transfers", context.config->transfers_max);
  }
  const TransferStatus status = Check(move, reserve);
  SaveTransfer(move.id, context);
  if (!IsRefused(status)) {
    SaveAccount(move.from, context);
    SaveAccount(move.to, context);
    const RecordHandle from_handle = MustFind(move.from);
    const RecordHandle to_handle = MustFind(move.to);
    Account from = Fields(from_handle);
    Account to = Fields(to_handle);
    const HistoryKind kind = reserve ? HistoryKind::kReserve : HistoryKind::kTransfer;
    if (reserve) {
      from.reserved_out += move.amount;
      to.reserved_in += move.amount;
      ++pending_;
    } else {
      from.balance -= move.amount;
      to.balance += move.amount;
    }
    from.lsn = context.lsn;
    to.lsn = context.lsn;
    AssertWithinBounds(from);
    AssertWithinBounds(to);
    StoreFields(from_handle, from);
    StoreFields(to_handle, to);
    AppendHistory(from_handle, HistoryEntry{kind, -move.amount, from.balance, context.now_ms,
                                            std::string(move.id), std::string(move.note)});
    AppendHistory(to_handle, HistoryEntry{kind, move.amount, to.balance, context.now_ms,
                                          std::string(move.id), std::string(move.note)});
  }
  Transfer transfer;
  transfer.reserve = reserve;
  transfer.status = status;
  transfer.amount = move.amount;
  transfer.timestamp_ms = context.now_ms;
  transfer.window_ms = command.window_ms;
  transfer.expires_ms = command.expires_ms;
  transfer.forget_ms = command.remember_until_ms;
  transfer.resolved_ms = kNoTimeMs;
  transfer.lsn = context.lsn;
  transfer.from = move.from;
  transfer.to = move.to;
  StoreTransfer(move.id, kNoRecord, transfer);
  if (status == TransferStatus::kPending) {
    context.expiry->Push(transfer.expires_ms, ExpiryKind::kReservationTimeout, move.id);
  }
  context.expiry->Push(transfer.forget_ms, ExpiryKind::kTransferForget, transfers_.Find(move.id));
  effect->changed = true;
  if (!context.replies) return Reply::WithOutcome(StatusOutcome(status));
  return TransferReply(StatusOutcome(status), move.id, transfer.amount, transfer.timestamp_ms,
                       transfer.window_ms, transfer.expires_ms);
}

Reply Ledger::Apply(const cmd::Transfer& args, const Command& command, const ApplyContext& context,
                    Effect* effect) {
  return ApplyMove(Move{args.id, args.from, args.to, args.amount, args.note, false}, command,
                   context, effect);
}

Reply Ledger::Apply(const cmd::Reserve& args, const Command& command, const ApplyContext& context,
                    Effect* effect) {
  return ApplyMove(Move{args.id, args.from, args.to, args.amount, {}, true}, command, context,
                   effect);
}

Reply Ledger::Apply(const cmd::Commit& args, const Command& command, const ApplyContext& context,
                    Effect* effect) {
  return ResolveReservation(args.id, context, effect, /*commit=*/true);
}

Reply Ledger::Apply(const cmd::Cancel& args, const Command& command, const ApplyContext& context,
                    Effect* effect) {
  return ResolveReservation(args.id, context, effect, /*commit=*/false);
}

void Ledger::Release(std::string_view id, Transfer* transfer, int64_t at_ms, HistoryKind kind,
                     Lsn lsn) {
  const RecordHandle from_handle = MustFind(transfer->from);
  const RecordHandle to_handle = MustFind(transfer->to);
  Account from = Fields(from_handle);
  Account to = Fields(to_handle);
  from.reserved_out -= transfer->amount;
  to.reserved_in -= transfer->amount;
  if (kind == HistoryKind::kCommit) {
    // Cannot cross a bound: the reservation already counted against both.
    from.balance -= transfer->amount;
    to.balance += transfer->amount;
  }
  if (lsn != Lsn{}) {
    from.lsn = lsn;
    to.lsn = lsn;
  }
  --pending_;
  transfer->resolved_ms = at_ms;
  AssertWithinBounds(from);
  AssertWithinBounds(to);
  StoreFields(from_handle, from);
  StoreFields(to_handle, to);
  AppendHistory(from_handle, HistoryEntry{kind, -transfer->amount, from.balance, at_ms,
                                          std::string(id), std::string()});
  AppendHistory(to_handle, HistoryEntry{kind, transfer->amount, to.balance, at_ms, std::string(id),
                                        std::string()});
}

Reply Ledger::ResolveReservation(const std::string& id, const ApplyContext& context, Effect* effect,
                                 bool commit) {
  const RecordHandle handle = transfers_.Find(id);
  if (handle == kNoRecord) {
    return TransferReply(Outcome::kNoTransfer, id, 0, kNoTimeMs, kNoTimeMs, kNoTimeMs);
  }
  Transfer transfer = TransferAt(handle);
  effect->observed = transfer.lsn;
  if (!transfer.reserve) return StoredReply(Outcome::kNoTransfer, id, transfer);
  // A refused RESERVE never held anything; its first outcome stays its answer.
  if (IsRefused(transfer.status)) {
    return StoredReply(StatusOutcome(transfer.status), id, transfer);
  }
  const TransferStatus done = commit ? TransferStatus::kCommitted : TransferStatus::kCancelled;
  if (transfer.status != TransferStatus::kPending) {
    const Outcome outcome =
        transfer.status == done ? Outcome::kAgain : StatusOutcome(transfer.status);
    return StoredReply(outcome, id, transfer);
  }
  SaveTransfer(id, context);
  SaveAccount(transfer.from, context);
  SaveAccount(transfer.to, context);
  Release(id, &transfer, context.now_ms, commit ? HistoryKind::kCommit : HistoryKind::kCancel,
          context.lsn);
  transfer.status = done;
  transfer.lsn = context.lsn;
  StoreTransfer(id, handle, transfer);
  effect->changed = true;
  return StoredReply(commit ? Outcome::kCommitted : Outcome::kCancelled, id, transfer);
}

Reply Ledger::Apply(const cmd::Balance& args, const Command& command, const ApplyContext& context,
                    Effect* effect) const {
  const RecordHandle handle = accounts_.Find(args.key);
  if (handle == kNoRecord) return Reply::WithOutcome(Outcome::kNoAccount);
  const Account account = Fields(handle);
  effect->observed = account.lsn;
  Reply reply = Reply::WithOutcome(Outcome::kOk);
  reply.Add("balance", account.balance).Add("reserved", account.reserved_out);
  reply.fields.emplace_back("min", MinReplyValue(account.min));
  reply.fields.emplace_back("max", MaxReplyValue(account.max));
  reply.Add("incoming", account.reserved_in);
  return reply;
}

Reply Ledger::Apply(const cmd::History& args, const Command& command, const ApplyContext& context,
                    Effect* effect) const {
  const RecordHandle handle = accounts_.Find(args.key);
  if (handle == kNoRecord) return Reply::WithOutcome(Outcome::kNoAccount);
  effect->observed = Fields(handle).lsn;
  static const std::vector<HistoryEntry> kNone;
  auto found = history_.find(handle);
  const std::vector<HistoryEntry>& history = found == history_.end() ? kNone : found->second;
  const size_t count = std::min(history.size(), static_cast<size_t>(ClampCount(args.count)));
  std::vector<Reply> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const HistoryEntry& entry = history[history.size() - 1 - i];
    Reply reply;
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
  if (entry.kind == ExpiryKind::kReservationTimeout) {
    const RecordHandle handle = transfers_.Find(entry.name);
    if (handle == kNoRecord) return;
    Transfer transfer = TransferAt(handle);
    if (!transfer.reserve || transfer.status != TransferStatus::kPending ||
        transfer.expires_ms != entry.time_ms) {
      return;
    }
    // A timeout is not a command: the accounts keep the lsn of the last command
    // that changed them.
    Release(entry.name, &transfer, entry.time_ms, HistoryKind::kTimeout, Lsn{});
    transfer.status = TransferStatus::kTimedOut;
    StoreTransfer(entry.name, handle, transfer);
    return;
  }
  EXACTLY_ASSERT(entry.kind == ExpiryKind::kTransferForget);
  // The handle may have been reused since the entry was pushed (see expiry.h).
  if (!transfers_.Contains(entry.handle)) return;
  const Transfer transfer = TransferAt(entry.handle);
  if (transfer.forget_ms != entry.time_ms || transfer.status == TransferStatus::kPending) return;
  transfers_.Erase(entry.handle);
}

void Ledger::ScheduleAll(ExpiryQueue* expiry) const {
  expiry->ReserveHandles(transfers_.size());
  transfers_.ForEach([&](RecordHandle handle) {
    const Transfer transfer = TransferAt(handle);
    if (transfer.status == TransferStatus::kPending) {
      expiry->Push(transfer.expires_ms, ExpiryKind::kReservationTimeout, transfers_.Key(handle));
    }
    expiry->PushUnordered(transfer.forget_ms, ExpiryKind::kTransferForget, handle);
  });
}

void Ledger::RestoreAccount(std::string_view key, std::optional<Account> account) {
  RecordHandle handle = accounts_.Find(key);
  if (!account) {
    if (handle == kNoRecord) return;
    history_.erase(handle);
    accounts_.Erase(handle);
    return;
  }
  char value[kAccountValueBytes];
  EncodeAccount(*account, value);
  if (handle == kNoRecord) {
    handle = accounts_.Insert(key, std::string_view(value, sizeof(value)));
  } else {
    accounts_.Update(handle, std::string_view(value, sizeof(value)));
  }
  if (account->history.empty()) {
    history_.erase(handle);
  } else {
    history_[handle] = std::move(account->history);
  }
}

void Ledger::RestoreTransfer(std::string_view id, std::optional<Transfer> transfer) {
  const RecordHandle handle = transfers_.Find(id);
  if (handle != kNoRecord) {
    if (TransferAt(handle).status == TransferStatus::kPending) --pending_;
    if (!transfer) {
      transfers_.Erase(handle);
      return;
    }
    StoreTransfer(id, handle, *transfer);
    if (transfer->status == TransferStatus::kPending) ++pending_;
    return;
  }
  if (!transfer) return;
  if (transfer->status == TransferStatus::kPending) ++pending_;
  StoreTransfer(id, kNoRecord, *transfer);
}

void Ledger::Clear() {
  accounts_.Clear();
  history_.clear();
  transfers_.Clear();
  pending_ = 0;
}

}  // namespace exactly::core
