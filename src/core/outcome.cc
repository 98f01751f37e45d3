// Outcome words as users read them on the wire.
#include "core/outcome.h"

namespace exactly::core {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kWon:
      return "won";
    case Outcome::kAgain:
      return "again";
    case Outcome::kHeld:
      return "held";
    case Outcome::kReleased:
      return "released";
    case Outcome::kNotHolder:
      return "not_holder";
    case Outcome::kFree:
      return "free";
    case Outcome::kCreated:
      return "created";
    case Outcome::kOk:
      return "ok";
    case Outcome::kInsufficient:
      return "insufficient";
    case Outcome::kOverMax:
      return "over_max";
    case Outcome::kNoAccount:
      return "no_account";
    case Outcome::kIdConflict:
      return "id_conflict";
    case Outcome::kPending:
      return "pending";
    case Outcome::kCommitted:
      return "committed";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kTimedOut:
      return "timed_out";
    case Outcome::kNoTransfer:
      return "no_transfer";
    case Outcome::kExecuted:
      return "executed";
    case Outcome::kRolledBack:
      return "rolled_back";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kAcquired:
      return "acquired";
    case Outcome::kReentered:
      return "reentered";
    case Outcome::kBusy:
      return "busy";
    case Outcome::kRenewed:
      return "renewed";
    case Outcome::kValid:
      return "valid";
    case Outcome::kStale:
      return "stale";
    case Outcome::kRun:
      return "run";
    case Outcome::kRunning:
      return "running";
    case Outcome::kDone:
      return "done";
    case Outcome::kMismatch:
      return "mismatch";
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kLimited:
      return "limited";
  }
  return "unknown";
}

bool IsRefusal(Outcome outcome) {
  switch (outcome) {
    case Outcome::kHeld:
    case Outcome::kNotHolder:
    case Outcome::kInsufficient:
    case Outcome::kOverMax:
    case Outcome::kNoAccount:
    case Outcome::kIdConflict:
    case Outcome::kTimedOut:
    case Outcome::kNoTransfer:
    case Outcome::kBusy:
    case Outcome::kStale:
    case Outcome::kRunning:
    case Outcome::kMismatch:
    case Outcome::kLimited:
      return true;
    default:
      return false;
  }
}

}  // namespace exactly::core
