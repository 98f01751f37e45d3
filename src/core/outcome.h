// Outcome words: the business answer of a command, always the first reply field.
//
// A lost claim or a refused transfer is an answer, not an error. The words are a
// promise to users (docs/commands.md); never rename one.
#pragma once

#include <string_view>

namespace exactly::core {

enum class Outcome {
  // claims
  kWon,
  kAgain,
  kHeld,
  kReleased,
  kNotHolder,
  kFree,
  // ledger
  kCreated,
  kOk,
  kInsufficient,
  kOverMax,
  kNoAccount,
  kIdConflict,
  kPending,       // RESERVE accepted: the amount is held until COMMIT, CANCEL or timeout
  kCommitted,     // COMMIT of a pending transfer
  kCancelled,     // CANCEL of a pending transfer
  kTimedOut,      // COMMIT or CANCEL after the reservation's timeout released it
  kNoTransfer,    // COMMIT or CANCEL of an id that was never reserved
  // atomic groups
  kExecuted,      // every command of a MULTI group applied
  kRolledBack,    // a refusal rolled the whole group back
  kSkipped,       // not run because an earlier command of the group was refused
};

std::string_view OutcomeName(Outcome outcome);

// True for outcomes that roll a MULTI group back (a refusal, not a success or
// a harmless repeat).
bool IsRefusal(Outcome outcome);

}  // namespace exactly::core
