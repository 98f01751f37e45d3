// UndoLog: the before-images of every record a MULTI group changes, so that a
// refusal inside the group can put the state back exactly as it was.
//
// Tables save a record here just before they first change it in a group (saving
// again is harmless: Rollback restores in reverse order, so the oldest image
// wins). Expiry queue entries pushed by the group are left behind; they are
// validated when due and ignored if their record no longer matches.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/ledger.h"

namespace exactly::core {

class UndoLog {
 public:
  void SaveClaim(std::string_view key, const ClaimSlot* slot);
  void SaveAccount(std::string_view key, const Account* account);
  void SaveTransfer(std::string_view id, const Transfer* transfer);

  // Restores every saved record, newest save first, and empties the log.
  void Rollback(ClaimTable* claims, Ledger* ledger);
  bool empty() const { return entries_.empty(); }

 private:
  enum class Table : uint8_t { kClaim, kAccount, kTransfer };
  struct Entry {
    Table table;
    std::string name;
    std::optional<ClaimSlot> claim;
    std::optional<Account> account;
    std::optional<Transfer> transfer;
  };
  std::vector<Entry> entries_;
};

}  // namespace exactly::core
