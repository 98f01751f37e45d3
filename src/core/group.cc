// MULTI/EXEC undo log.
#include "core/group.h"

#include <utility>

#include "core/engine_state.h"

namespace exactly::core {

UndoLog::Entry& UndoLog::Add(Table table, std::string_view name) {
  Entry& entry = entries_.emplace_back();
  entry.table = table;
  entry.name.assign(name);
  return entry;
}

void UndoLog::SaveClaim(std::string_view key, const ClaimSlot* slot) {
  Entry& entry = Add(Table::kClaim, key);
  if (slot != nullptr) entry.claim = *slot;
}

void UndoLog::SaveAccount(std::string_view key, const Account* account) {
  Entry& entry = Add(Table::kAccount, key);
  if (account != nullptr) entry.account = *account;
}

void UndoLog::SaveTransfer(std::string_view id, const Transfer* transfer) {
  Entry& entry = Add(Table::kTransfer, id);
  if (transfer != nullptr) entry.transfer = *transfer;
}

void UndoLog::SaveLock(std::string_view name, const Lock* lock) {
  Entry& entry = Add(Table::kLock, name);
  if (lock != nullptr) entry.lock = *lock;
}

void UndoLog::SaveLockId(std::string_view key, const LockIdReply* reply) {
  Entry& entry = Add(Table::kLockId, key);
  if (reply != nullptr) entry.lock_id = *reply;
}

void UndoLog::SaveIdem(std::string_view key, const IdemKey* idem) {
  Entry& entry = Add(Table::kIdem, key);
  if (idem != nullptr) entry.idem = *idem;
}

void UndoLog::SaveLimit(std::string_view key, const LimitState* limit) {
  Entry& entry = Add(Table::kLimit, key);
  if (limit != nullptr) entry.limit = *limit;
}

void UndoLog::Rollback(EngineState* state) {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    switch (it->table) {
      case Table::kClaim:
        state->claims.Restore(it->name, std::move(it->claim));
        break;
      case Table::kAccount:
        state->ledger.RestoreAccount(it->name, std::move(it->account));
        break;
      case Table::kTransfer:
        state->ledger.RestoreTransfer(it->name, std::move(it->transfer));
        break;
      case Table::kLock:
        state->locks.Restore(it->name, std::move(it->lock));
        break;
      case Table::kLockId:
        state->locks.RestoreId(it->name, std::move(it->lock_id));
        break;
      case Table::kIdem:
        state->idem.Restore(it->name, std::move(it->idem));
        break;
      case Table::kLimit:
        state->limits.Restore(it->name, std::move(it->limit));
        break;
    }
  }
  entries_.clear();
}

}  // namespace exactly::core
