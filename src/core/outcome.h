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
  kPending,     // RESERVE accepted: the amount is held until COMMIT, CANCEL or timeout
  kCommitted,   // COMMIT of a pending transfer
  kCancelled,   // CANCEL of a pending transfer
  kTimedOut,    // COMMIT or CANCEL after the reservation's timeout released it
  kNoTransfer,  // COMMIT or CANCEL of an id that was never reserved
  // atomic groups
  kExecuted,    // every command of a MULTI group applied
  kRolledBack,  // a refusal rolled the whole group back
  kSkipped,     // not run because an earlier command of the group was refused
  // locks
  kAcquired,   // LOCK granted (a new token)
  kReentered,  // LOCK by the owner already holding it: depth + 1, same token
  kBusy,       // LOCK held by another owner
  kRenewed,    // RENEW of the holding token
  kValid,      // FENCE: the token still holds the lock
  kStale,      // the token no longer holds the lock (also IFLOCK's refusal)
  // idempotency keys
  kRun,       // IDEM BEGIN: the caller runs the operation (with a token)
  kRunning,   // IDEM BEGIN: another runner holds the key
  kDone,      // IDEM BEGIN/END: the operation ended; the stored response follows
  kMismatch,  // IDEM BEGIN with another fingerprint than the key's first
  // rate limits
  kAllowed,
  kLimited,
};

inline constexpr Outcome kOutcomeLast = Outcome::kLimited;

std::string_view OutcomeName(Outcome outcome);

// True for outcomes that roll a MULTI group back (a refusal, not a success or
// a harmless repeat).
bool IsRefusal(Outcome outcome);

}  // namespace exactly::core
