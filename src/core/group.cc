// MULTI/EXEC undo log.
#include "core/group.h"

#include <utility>

namespace exactly::core {

void UndoLog::SaveClaim(std::string_view key, const ClaimSlot* slot) {
  Entry entry{Table::kClaim, std::string(key), std::nullopt, std::nullopt, std::nullopt};
  if (slot != nullptr) entry.claim = *slot;
  entries_.push_back(std::move(entry));
}

void UndoLog::SaveAccount(std::string_view key, const Account* account) {
  Entry entry{Table::kAccount, std::string(key), std::nullopt, std::nullopt, std::nullopt};
  if (account != nullptr) entry.account = *account;
  entries_.push_back(std::move(entry));
}

void UndoLog::SaveTransfer(std::string_view id, const Transfer* transfer) {
  Entry entry{Table::kTransfer, std::string(id), std::nullopt, std::nullopt, std::nullopt};
  if (transfer != nullptr) entry.transfer = *transfer;
  entries_.push_back(std::move(entry));
}

void UndoLog::Rollback(ClaimTable* claims, Ledger* ledger) {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    switch (it->table) {
      case Table::kClaim:
        claims->Restore(it->name, std::move(it->claim));
        break;
      case Table::kAccount:
        ledger->RestoreAccount(it->name, std::move(it->account));
        break;
      case Table::kTransfer:
        ledger->RestoreTransfer(it->name, std::move(it->transfer));
        break;
    }
  }
  entries_.clear();
}

}  // namespace exactly::core
