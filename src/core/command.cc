// Classification of commands.
#include "core/command.h"

namespace exactly::core {

bool IsMutating(CommandKind kind) {
  switch (kind) {
    case CommandKind::kClaim:
    case CommandKind::kUnclaim:
    case CommandKind::kAccount:
    case CommandKind::kTransfer:
    case CommandKind::kReserve:
    case CommandKind::kCommit:
    case CommandKind::kCancel:
    case CommandKind::kGroup:
    case CommandKind::kLock:
    case CommandKind::kRenew:
    case CommandKind::kUnlock:
    case CommandKind::kIdemBegin:
    case CommandKind::kIdemEnd:
    case CommandKind::kIdemAbort:
    case CommandKind::kCancelWaiter:
    case CommandKind::kDropWaiters:
      return true;
    case CommandKind::kClaimOf:
    case CommandKind::kClaimLog:
    case CommandKind::kBalance:
    case CommandKind::kHistory:
    case CommandKind::kFence:
    // LIMIT changes only volatile state, never the journal (rate_limits.h).
    case CommandKind::kLimit:
      return false;
  }
  return false;
}

bool MayGrowState(CommandKind kind) {
  switch (kind) {
    case CommandKind::kClaim:
    case CommandKind::kAccount:
    case CommandKind::kTransfer:
    case CommandKind::kReserve:
    case CommandKind::kGroup:
    case CommandKind::kLock:
    case CommandKind::kIdemBegin:
    case CommandKind::kLimit:
      return true;
    case CommandKind::kUnclaim:
    case CommandKind::kClaimOf:
    case CommandKind::kClaimLog:
    case CommandKind::kCommit:
    case CommandKind::kCancel:
    case CommandKind::kBalance:
    case CommandKind::kHistory:
    case CommandKind::kRenew:
    case CommandKind::kUnlock:
    case CommandKind::kFence:
    case CommandKind::kIdemEnd:
    case CommandKind::kIdemAbort:
    case CommandKind::kCancelWaiter:
    case CommandKind::kDropWaiters:
      return false;
  }
  return true;
}

}  // namespace exactly::core
