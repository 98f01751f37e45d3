// Canonical binary encoding of the engine state (see state_codec.h).
#include "core/state_codec.h"

#include <algorithm>
#include <vector>

#include "base/checked_math.h"
#include "core/byte_codec.h"
#include "core/limits.h"

namespace exactly::core {
namespace {

template <typename Map>
std::vector<const typename Map::value_type*> SortedByKey(const Map& map) {
  std::vector<const typename Map::value_type*> sorted;
  sorted.reserve(map.size());
  for (const auto& item : map) sorted.push_back(&item);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return sorted;
}

// A store's records in key order.
std::vector<RecordHandle> SortedRecords(const RecordStore& store) {
  std::vector<RecordHandle> sorted;
  sorted.reserve(store.size());
  store.ForEach([&](RecordHandle handle) { sorted.push_back(handle); });
  std::sort(sorted.begin(), sorted.end(),
            [&](RecordHandle a, RecordHandle b) { return store.Key(a) < store.Key(b); });
  return sorted;
}

// A count read from the bytes, as a size to reserve: never more than the bytes
// could hold, so a corrupt count cannot ask for a huge table.
size_t ReserveCount(uint64_t count, const ByteReader& reader) {
  return static_cast<size_t>(std::min<uint64_t>(count, reader.rest().size() / 2));
}

void WriteBound(ByteWriter& writer, const Bound& bound) {
  writer.U8(bound.infinite ? 1 : 0);
  writer.I64(bound.value);
}

bool ReadBound(ByteReader& reader, Bound* bound) {
  uint8_t infinite = 0;
  if (!reader.U8(&infinite) || infinite > 1) return false;
  bound->infinite = infinite == 1;
  return reader.I64(&bound->value);
}

bool ReadLsn(ByteReader& reader, Lsn* lsn) { return reader.U64(&lsn->value); }

bool ReadClaimSlot(ByteReader& reader, ClaimSlot* slot) {
  uint8_t live = 0;
  uint64_t entries = 0;
  if (!reader.U8(&live) || live > 1) return false;
  slot->live = live == 1;
  if (!reader.Bytes(&slot->owner) || !reader.I64(&slot->since_ms) ||
      !reader.I64(&slot->expires_ms) || !reader.I64(&slot->window_ms) ||
      !reader.I64(&slot->keep_log_until_ms) || !reader.I64(&slot->forget_ms) ||
      !ReadLsn(reader, &slot->lsn) || !reader.U64(&entries) || entries > kClaimLogPerKeyMax) {
    return false;
  }
  slot->log.resize(entries);
  for (ClaimLogEntry& entry : slot->log) {
    uint8_t event = 0;
    if (!reader.U8(&event) || event > kClaimEventLast) return false;
    entry.event = static_cast<ClaimEvent>(event);
    if (!reader.I64(&entry.at_ms) || !reader.I64(&entry.expires_ms) ||
        !reader.I64(&entry.window_ms) || !reader.Bytes(&entry.owner) ||
        !reader.Bytes(&entry.note)) {
      return false;
    }
  }
  return slot->live == !slot->owner.empty();
}

bool ReadAccount(ByteReader& reader, Account* account) {
  uint64_t entries = 0;
  if (!ReadBound(reader, &account->min) || !ReadBound(reader, &account->max) ||
      !reader.I64(&account->balance) || !reader.I64(&account->reserved_out) ||
      !reader.I64(&account->reserved_in) || !ReadLsn(reader, &account->lsn) ||
      !reader.U64(&entries) || entries > kHistoryPerAccountMax) {
    return false;
  }
  account->history.resize(entries);
  for (HistoryEntry& entry : account->history) {
    uint8_t kind = 0;
    if (!reader.U8(&kind) || kind > kHistoryKindLast) return false;
    entry.kind = static_cast<HistoryKind>(kind);
    if (!reader.I64(&entry.amount) || !reader.I64(&entry.balance) || !reader.I64(&entry.at_ms) ||
        !reader.Bytes(&entry.id) || !reader.Bytes(&entry.note)) {
      return false;
    }
  }
  // The ledger's invariant (ledger.h), checked here as a value rather than an
  // assertion: these bytes come from disk.
  const Amount min = MinValue(account->min);
  const Amount max = MaxValue(account->max);
  const auto available = base::CheckedSub(account->balance, account->reserved_out);
  const auto ceiling = base::CheckedAdd(account->balance, account->reserved_in);
  return account->reserved_out >= 0 && account->reserved_in >= 0 && available &&
         *available >= min && ceiling && *ceiling <= max && account->balance >= min &&
         account->balance <= max;
}

bool ReadTransfer(ByteReader& reader, Transfer* transfer) {
  uint8_t reserve = 0;
  uint8_t status = 0;
  if (!reader.U8(&reserve) || reserve > 1 || !reader.U8(&status) || status > kTransferStatusLast) {
    return false;
  }
  transfer->reserve = reserve == 1;
  transfer->status = static_cast<TransferStatus>(status);
  return reader.I64(&transfer->amount) && reader.I64(&transfer->timestamp_ms) &&
         reader.I64(&transfer->window_ms) && reader.I64(&transfer->expires_ms) &&
         reader.I64(&transfer->forget_ms) && reader.I64(&transfer->resolved_ms) &&
         ReadLsn(reader, &transfer->lsn) && reader.Bytes(&transfer->from) &&
         reader.Bytes(&transfer->to);
}

void EncodeLockState(const EngineState& state, ByteWriter& writer) {
  writer.U64(state.counters.last_token);
  writer.U64(state.counters.last_waiter);

  const auto locks = SortedByKey(state.locks.locks());
  writer.U64(locks.size());
  for (const auto* item : locks) {
    const Lock& lock = item->second;
    writer.Bytes(item->first);
    writer.Bytes(lock.owner);
    writer.U64(lock.token);
    writer.I64(lock.depth);
    writer.I64(lock.expires_ms);
    writer.U64(lock.lsn.value);
    writer.U64(lock.waiters.size());
    for (const LockWaiter& waiter : lock.waiters) {
      writer.U64(waiter.waiter);
      writer.Bytes(waiter.owner);
      writer.Bytes(waiter.request_id);
      writer.I64(waiter.lease_ms);
      writer.I64(waiter.deadline_ms);
      writer.I64(waiter.remember_until_ms);
    }
  }

  const auto ids = SortedByKey(state.locks.ids());
  writer.U64(ids.size());
  for (const auto* item : ids) {
    const LockIdReply& reply = item->second;
    writer.Bytes(item->first);
    writer.U8(static_cast<uint8_t>(reply.outcome));
    writer.U64(reply.token);
    writer.I64(reply.depth);
    writer.I64(reply.expires_ms);
    writer.Bytes(reply.holder);
    writer.I64(reply.forget_ms);
    writer.U64(reply.waiter);
    writer.U64(reply.lsn.value);
  }

  const auto keys = SortedByKey(state.idem.keys());
  writer.U64(keys.size());
  for (const auto* item : keys) {
    const IdemKey& idem = item->second;
    writer.Bytes(item->first);
    writer.U8(static_cast<uint8_t>(idem.state));
    writer.Bytes(idem.fingerprint);
    writer.U64(idem.token);
    writer.I64(idem.lease_end_ms);
    writer.I64(idem.ttl_ms);
    writer.I64(idem.forget_ms);
    writer.Bytes(idem.response);
    writer.U64(idem.lsn.value);
    writer.U64(idem.waiters.size());
    for (const IdemWaiter& waiter : idem.waiters) {
      writer.U64(waiter.waiter);
      writer.I64(waiter.lease_ms);
      writer.I64(waiter.ttl_ms);
      writer.I64(waiter.deadline_ms);
    }
  }

  const auto limits = SortedByKey(state.limits.keys());
  writer.U64(limits.size());
  for (const auto* item : limits) {
    const LimitState& limit = item->second;
    writer.Bytes(item->first);
    writer.U8(limit.window ? 1 : 0);
    writer.I64(limit.tat_ms);
    writer.I64(limit.tat_frac);
    writer.I64(limit.rate_n);
    writer.I64(limit.window_start_ms);
    writer.I64(limit.count);
    writer.I64(limit.forget_ms);
  }
}

bool ReadLock(ByteReader& reader, Lock* lock) {
  uint64_t waiters = 0;
  if (!reader.Bytes(&lock->owner) || !reader.U64(&lock->token) || !reader.I64(&lock->depth) ||
      !reader.I64(&lock->expires_ms) || !ReadLsn(reader, &lock->lsn) || !reader.U64(&waiters) ||
      waiters > kWaitersPerNameMax) {
    return false;
  }
  for (uint64_t i = 0; i < waiters; ++i) {
    LockWaiter& waiter = lock->waiters.emplace_back();
    if (!reader.U64(&waiter.waiter) || waiter.waiter == 0 || !reader.Bytes(&waiter.owner) ||
        !reader.Bytes(&waiter.request_id) || !reader.I64(&waiter.lease_ms) ||
        !reader.I64(&waiter.deadline_ms) || !reader.I64(&waiter.remember_until_ms)) {
      return false;
    }
  }
  // Held exactly when it has an owner; a free lock exists only for its waiters.
  return (lock->owner.empty() ? lock->depth == 0 && !lock->waiters.empty() : lock->depth > 0);
}

bool ReadLockId(ByteReader& reader, LockIdReply* reply) {
  uint8_t outcome = 0;
  if (!reader.U8(&outcome) || outcome > static_cast<uint8_t>(kOutcomeLast)) return false;
  reply->outcome = static_cast<Outcome>(outcome);
  return reader.U64(&reply->token) && reader.I64(&reply->depth) && reader.I64(&reply->expires_ms) &&
         reader.Bytes(&reply->holder) && reader.I64(&reply->forget_ms) &&
         reader.U64(&reply->waiter) && ReadLsn(reader, &reply->lsn);
}

bool ReadIdem(ByteReader& reader, IdemKey* idem) {
  uint8_t state = 0;
  uint64_t waiters = 0;
  if (!reader.U8(&state) || state > kIdemStateLast) return false;
  idem->state = static_cast<IdemState>(state);
  if (!reader.Bytes(&idem->fingerprint) || !reader.U64(&idem->token) ||
      !reader.I64(&idem->lease_end_ms) || !reader.I64(&idem->ttl_ms) ||
      !reader.I64(&idem->forget_ms) || !reader.Bytes(&idem->response) ||
      !ReadLsn(reader, &idem->lsn) || !reader.U64(&waiters) || waiters > kWaitersPerNameMax) {
    return false;
  }
  for (uint64_t i = 0; i < waiters; ++i) {
    IdemWaiter& waiter = idem->waiters.emplace_back();
    if (!reader.U64(&waiter.waiter) || waiter.waiter == 0 || !reader.I64(&waiter.lease_ms) ||
        !reader.I64(&waiter.ttl_ms) || !reader.I64(&waiter.deadline_ms)) {
      return false;
    }
  }
  return true;
}

bool ReadLimit(ByteReader& reader, LimitState* limit) {
  uint8_t window = 0;
  if (!reader.U8(&window) || window > 1) return false;
  limit->window = window == 1;
  return reader.I64(&limit->tat_ms) && reader.I64(&limit->tat_frac) && reader.I64(&limit->rate_n) &&
         reader.I64(&limit->window_start_ms) && reader.I64(&limit->count) &&
         reader.I64(&limit->forget_ms) && limit->rate_n >= 1 && limit->tat_frac >= 0 &&
         limit->tat_frac < limit->rate_n;
}

base::Status Malformed(const char* what) {
  return base::Status::Corruption(std::string("malformed engine state: ") + what);
}

base::Status DecodeLockState(ByteReader& reader, EngineState* state) {
  if (!reader.U64(&state->counters.last_token) || !reader.U64(&state->counters.last_waiter)) {
    return Malformed("counters");
  }
  uint64_t count = 0;
  std::string name;
  if (!reader.U64(&count)) return Malformed("lock count");
  for (uint64_t i = 0; i < count; ++i) {
    Lock lock;
    if (!reader.Bytes(&name) || !ReadLock(reader, &lock)) return Malformed("lock");
    if (state->locks.locks().contains(name)) return Malformed("duplicate lock");
    if (lock.token > state->counters.last_token) return Malformed("lock token ahead of counter");
    state->locks.Restore(name, std::move(lock));
  }
  if (!reader.U64(&count)) return Malformed("lock id count");
  for (uint64_t i = 0; i < count; ++i) {
    LockIdReply reply;
    if (!reader.Bytes(&name) || !ReadLockId(reader, &reply)) return Malformed("lock id");
    if (state->locks.ids().contains(name)) return Malformed("duplicate lock id");
    state->locks.RestoreId(name, std::move(reply));
  }
  if (!reader.U64(&count)) return Malformed("idempotency key count");
  for (uint64_t i = 0; i < count; ++i) {
    IdemKey idem;
    if (!reader.Bytes(&name) || !ReadIdem(reader, &idem)) return Malformed("idempotency key");
    if (state->idem.keys().contains(name)) return Malformed("duplicate idempotency key");
    state->idem.Restore(name, std::move(idem));
  }
  if (!reader.U64(&count)) return Malformed("limit count");
  for (uint64_t i = 0; i < count; ++i) {
    LimitState limit;
    if (!reader.Bytes(&name) || !ReadLimit(reader, &limit)) return Malformed("limit");
    if (state->limits.keys().contains(name)) return Malformed("duplicate limit key");
    state->limits.Restore(name, std::move(limit));
  }
  return base::Status::Ok();
}

}  // namespace

std::string EncodeState(const EngineState& state) {
  std::string out;
  ByteWriter writer(&out);
  writer.U8(kStateVersion);
  writer.U64(state.applied_lsn.value);
  writer.I64(state.last_timestamp_ms);

  const RecordStore& claims = state.claims.records();
  const std::vector<RecordHandle> claim_order = SortedRecords(claims);
  writer.U64(claim_order.size());
  for (const RecordHandle handle : claim_order) {
    writer.Bytes(claims.Key(handle));
    writer.Bytes(claims.Value(handle));
  }

  const Ledger& ledger = state.ledger;
  const std::vector<RecordHandle> accounts = SortedRecords(ledger.accounts());
  writer.U64(accounts.size());
  for (const RecordHandle handle : accounts) {
    const Account account = ledger.AccountAt(handle);
    writer.Bytes(ledger.accounts().Key(handle));
    WriteBound(writer, account.min);
    WriteBound(writer, account.max);
    writer.I64(account.balance);
    writer.I64(account.reserved_out);
    writer.I64(account.reserved_in);
    writer.U64(account.lsn.value);
    writer.U64(account.history.size());
    for (const HistoryEntry& entry : account.history) {
      writer.U8(static_cast<uint8_t>(entry.kind));
      writer.I64(entry.amount);
      writer.I64(entry.balance);
      writer.I64(entry.at_ms);
      writer.Bytes(entry.id);
      writer.Bytes(entry.note);
    }
  }

  const std::vector<RecordHandle> transfers = SortedRecords(ledger.transfers());
  writer.U64(transfers.size());
  for (const RecordHandle handle : transfers) {
    const Transfer transfer = ledger.TransferAt(handle);
    writer.Bytes(ledger.transfers().Key(handle));
    writer.U8(transfer.reserve ? 1 : 0);
    writer.U8(static_cast<uint8_t>(transfer.status));
    writer.I64(transfer.amount);
    writer.I64(transfer.timestamp_ms);
    writer.I64(transfer.window_ms);
    writer.I64(transfer.expires_ms);
    writer.I64(transfer.forget_ms);
    writer.I64(transfer.resolved_ms);
    writer.U64(transfer.lsn.value);
    writer.Bytes(transfer.from);
    writer.Bytes(transfer.to);
  }
  EncodeLockState(state, writer);
  return out;
}

base::Status DecodeState(std::string_view bytes, EngineState* state) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.U8(&version)) return Malformed("empty");
  if (version < 1 || version > kStateVersion) {
    return base::Status::Corruption("unknown engine state version " + std::to_string(version) +
                                    " (this build reads versions 1 to " +
                                    std::to_string(kStateVersion) + ")");
  }
  if (!ReadLsn(reader, &state->applied_lsn) || !reader.I64(&state->last_timestamp_ms)) {
    return Malformed("header");
  }
  uint64_t count = 0;
  std::string name;
  if (!reader.U64(&count)) return Malformed("claim count");
  state->expiry.Clear();
  state->claims.Reserve(ReserveCount(count, reader));
  if (version >= 3) state->expiry.ReserveHandles(ReserveCount(count, reader));
  std::string_view previous_key;
  for (uint64_t i = 0; i < count; ++i) {
    if (version >= 3) {
      // The table's own record bytes (claims.cc), checked as they are loaded.
      // Keys must ascend (the encoder sorts them), which also rules out a
      // duplicate without a lookup per key.
      std::string_view key;
      std::string_view value;
      if (!reader.View(&key) || !reader.View(&value)) return Malformed("claim");
      if (i > 0 && key <= previous_key) return Malformed("claim keys out of order");
      previous_key = key;
      if (!state->claims.LoadEncoded(key, value, &state->expiry)) return Malformed("claim");
      continue;
    }
    ClaimSlot slot;
    if (!reader.Bytes(&name) || !ReadClaimSlot(reader, &slot)) return Malformed("claim");
    if (state->claims.Contains(name)) return Malformed("duplicate claim key");
    state->claims.Restore(name, std::move(slot));
  }
  state->claims.FinishLoad();
  if (!reader.U64(&count)) return Malformed("account count");
  state->ledger.Reserve(ReserveCount(count, reader), 0);
  for (uint64_t i = 0; i < count; ++i) {
    Account account;
    if (!reader.Bytes(&name) || !ReadAccount(reader, &account)) return Malformed("account");
    if (state->ledger.accounts().Find(name) != kNoRecord) return Malformed("duplicate account");
    state->ledger.RestoreAccount(name, std::move(account));
  }
  if (!reader.U64(&count)) return Malformed("transfer count");
  state->ledger.Reserve(0, ReserveCount(count, reader));
  for (uint64_t i = 0; i < count; ++i) {
    Transfer transfer;
    if (!reader.Bytes(&name) || !ReadTransfer(reader, &transfer)) return Malformed("transfer");
    if (state->ledger.transfers().Find(name) != kNoRecord)
      return Malformed("duplicate transfer id");
    if (transfer.status == TransferStatus::kPending &&
        (state->ledger.accounts().Find(transfer.from) == kNoRecord ||
         state->ledger.accounts().Find(transfer.to) == kNoRecord)) {
      return Malformed("pending transfer without its accounts");
    }
    state->ledger.RestoreTransfer(name, std::move(transfer));
  }
  if (version >= 2) EXACTLY_RETURN_IF_ERROR(DecodeLockState(reader, state));
  if (!reader.at_end()) return Malformed("trailing bytes");
  // Version 3 claims scheduled their expiry as they were loaded.
  if (version < 3) state->claims.ScheduleAll(&state->expiry);
  state->ledger.ScheduleAll(&state->expiry);
  state->locks.ScheduleAll(&state->expiry);
  state->idem.ScheduleAll(&state->expiry);
  state->limits.ScheduleAll(&state->expiry);
  state->expiry.Heapify();
  return base::Status::Ok();
}

}  // namespace exactly::core
