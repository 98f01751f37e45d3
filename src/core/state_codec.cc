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

base::Status Malformed(const char* what) {
  return base::Status::Corruption(std::string("malformed engine state: ") + what);
}

}  // namespace

std::string EncodeState(const EngineState& state) {
  std::string out;
  ByteWriter writer(&out);
  writer.U8(kStateVersion);
  writer.U64(state.applied_lsn.value);
  writer.I64(state.last_timestamp_ms);

  const auto claims = SortedByKey(state.claims.slots());
  writer.U64(claims.size());
  for (const auto* item : claims) {
    const ClaimSlot& slot = item->second;
    writer.Bytes(item->first);
    writer.U8(slot.live ? 1 : 0);
    writer.Bytes(slot.owner);
    writer.I64(slot.since_ms);
    writer.I64(slot.expires_ms);
    writer.I64(slot.window_ms);
    writer.I64(slot.keep_log_until_ms);
    writer.I64(slot.forget_ms);
    writer.U64(slot.lsn.value);
    writer.U64(slot.log.size());
    for (const ClaimLogEntry& entry : slot.log) {
      writer.U8(static_cast<uint8_t>(entry.event));
      writer.I64(entry.at_ms);
      writer.I64(entry.expires_ms);
      writer.I64(entry.window_ms);
      writer.Bytes(entry.owner);
      writer.Bytes(entry.note);
    }
  }

  const auto accounts = SortedByKey(state.ledger.accounts());
  writer.U64(accounts.size());
  for (const auto* item : accounts) {
    const Account& account = item->second;
    writer.Bytes(item->first);
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

  const auto transfers = SortedByKey(state.ledger.transfers());
  writer.U64(transfers.size());
  for (const auto* item : transfers) {
    const Transfer& transfer = item->second;
    writer.Bytes(item->first);
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
  return out;
}

base::Status DecodeState(std::string_view bytes, EngineState* state) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.U8(&version)) return Malformed("empty");
  if (version != kStateVersion) {
    return base::Status::Corruption("unknown engine state version " + std::to_string(version));
  }
  if (!ReadLsn(reader, &state->applied_lsn) || !reader.I64(&state->last_timestamp_ms)) {
    return Malformed("header");
  }
  uint64_t count = 0;
  std::string name;
  if (!reader.U64(&count)) return Malformed("claim count");
  for (uint64_t i = 0; i < count; ++i) {
    ClaimSlot slot;
    if (!reader.Bytes(&name) || !ReadClaimSlot(reader, &slot)) return Malformed("claim");
    if (state->claims.slots().contains(name)) return Malformed("duplicate claim key");
    state->claims.Restore(name, std::move(slot));
  }
  if (!reader.U64(&count)) return Malformed("account count");
  for (uint64_t i = 0; i < count; ++i) {
    Account account;
    if (!reader.Bytes(&name) || !ReadAccount(reader, &account)) return Malformed("account");
    if (state->ledger.accounts().contains(name)) return Malformed("duplicate account");
    state->ledger.RestoreAccount(name, std::move(account));
  }
  if (!reader.U64(&count)) return Malformed("transfer count");
  for (uint64_t i = 0; i < count; ++i) {
    Transfer transfer;
    if (!reader.Bytes(&name) || !ReadTransfer(reader, &transfer)) return Malformed("transfer");
    if (state->ledger.transfers().contains(name)) return Malformed("duplicate transfer id");
    if (transfer.status == TransferStatus::kPending &&
        (!state->ledger.accounts().contains(transfer.from) ||
         !state->ledger.accounts().contains(transfer.to))) {
      return Malformed("pending transfer without its accounts");
    }
    state->ledger.RestoreTransfer(name, std::move(transfer));
  }
  if (!reader.at_end()) return Malformed("trailing bytes");
  state->expiry.Clear();
  state->claims.ScheduleAll(&state->expiry);
  state->ledger.ScheduleAll(&state->expiry);
  return base::Status::Ok();
}

}  // namespace exactly::core
