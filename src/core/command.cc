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
      return true;
    case CommandKind::kClaimOf:
    case CommandKind::kClaimLog:
    case CommandKind::kBalance:
    case CommandKind::kHistory:
      return false;
  }
  return false;
}

}  // namespace exactly::core
