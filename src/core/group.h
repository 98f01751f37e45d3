// UndoLog: the before-images of every record a MULTI group changes, so that a
// refusal inside the group can put the state back exactly as it was.
//
// Tables save a record here just before they first change it in a group (saving
// again is harmless: Rollback restores in reverse order, so the oldest image
// wins). Expiry queue entries pushed by the group are left behind; they are
// validated when due and ignored if their record no longer matches. The engine
// saves the counters (tokens, waiter ids) itself, so a rolled-back group leaves no
// gap that replay (which never sees the group) would not leave too.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/idempotency.h"
#include "core/ledger.h"
#include "core/locks.h"
#include "core/rate_limits.h"

namespace exactly::core {

struct EngineState;

class UndoLog {
 public:
  void SaveClaim(std::string_view key, const ClaimSlot* slot);
  void SaveAccount(std::string_view key, const Account* account);
  void SaveTransfer(std::string_view id, const Transfer* transfer);
  void SaveLock(std::string_view name, const Lock* lock);
  void SaveLockId(std::string_view key, const LockIdReply* reply);
  void SaveIdem(std::string_view key, const IdemKey* idem);
  void SaveLimit(std::string_view key, const LimitState* limit);

  // Restores every saved record, newest save first, and empties the log.
  void Rollback(EngineState* state);
  bool empty() const { return entries_.empty(); }

 private:
  enum class Table : uint8_t { kClaim, kAccount, kTransfer, kLock, kLockId, kIdem, kLimit };
  struct Entry {
    Table table;
    std::string name;
    std::optional<ClaimSlot> claim;
    std::optional<Account> account;
    std::optional<Transfer> transfer;
    std::optional<Lock> lock;
    std::optional<LockIdReply> lock_id;
    std::optional<IdemKey> idem;
    std::optional<LimitState> limit;
  };
  Entry& Add(Table table, std::string_view name);
  std::vector<Entry> entries_;
};

}  // namespace exactly::core
