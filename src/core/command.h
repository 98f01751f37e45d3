// Command: one parsed request as the engine sees it, free of any wire format.
//
// net/ builds Commands from RESP arguments (validating lengths and numbers against
// core/limits.h); the engine resolves relative times against the batch timestamp
// (Engine::ApplyBatch) and the journal stores the resolved form, so replay never
// depends on the clock or on configuration that may have changed since.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "base/units.h"

namespace exactly::core {

// Every command kind, once: X(name, journal value, traits). The enum, kCommandKindLast
// and the traits functions below come from this list, so a new kind is one line here
// (after the last, with the next value: the values are journal bytes).
//   kJournaled: may change durable state; only these reach the journal.
//   kWrites: may change state, durable or volatile (LIMIT): the command table's
//            `write` flag, and a refusal of one rolls a MULTI group back.
//   kGrows: may add records to the tables (a new claim, account, transfer id, lock,
//           IDEM key or limit key): refused, and only these, while memory is past
//           its bound, so commands that end or free state keep working.
// kCancelWaiter and kDropWaiters are internal, never sent by clients: the server
// tells the engine that parked command `waiter` can no longer be answered (its
// client disconnected), or that no parked command survives (the first batch after
// recovery). kGroup is MULTI ... EXEC: `group` holds the queued commands.
#define EXACTLY_COMMAND_KINDS(X)                   \
  X(kClaim, 1, kJournaled | kWrites | kGrows)      \
  X(kUnclaim, 2, kJournaled | kWrites)             \
  X(kClaimOf, 3, kReadsOnly)                       \
  X(kClaimLog, 4, kReadsOnly)                      \
  X(kAccount, 5, kJournaled | kWrites | kGrows)    \
  X(kTransfer, 6, kJournaled | kWrites | kGrows)   \
  X(kReserve, 7, kJournaled | kWrites | kGrows)    \
  X(kCommit, 8, kJournaled | kWrites)              \
  X(kCancel, 9, kJournaled | kWrites)              \
  X(kBalance, 10, kReadsOnly)                      \
  X(kHistory, 11, kReadsOnly)                      \
  X(kGroup, 12, kJournaled | kWrites | kGrows)     \
  X(kLock, 13, kJournaled | kWrites | kGrows)      \
  X(kRenew, 14, kJournaled | kWrites)              \
  X(kUnlock, 15, kJournaled | kWrites)             \
  X(kFence, 16, kReadsOnly)                        \
  X(kIdemBegin, 17, kJournaled | kWrites | kGrows) \
  X(kIdemEnd, 18, kJournaled | kWrites)            \
  X(kIdemAbort, 19, kJournaled | kWrites)          \
  X(kLimit, 20, kWrites | kGrows)                  \
  X(kCancelWaiter, 21, kJournaled | kWrites)       \
  X(kDropWaiters, 22, kJournaled | kWrites)

enum class CommandKind : uint8_t {
#define EXACTLY_KIND_ENUM(name, value, traits) name = value,
  EXACTLY_COMMAND_KINDS(EXACTLY_KIND_ENUM)
#undef EXACTLY_KIND_ENUM
};

// The traits of a kind (see EXACTLY_COMMAND_KINDS).
enum KindTrait : uint32_t { kReadsOnly = 0, kJournaled = 1, kWrites = 2, kGrows = 4 };

namespace kinds_internal {
struct KindRow {
  CommandKind kind;
  uint32_t traits;
};
inline constexpr KindRow kRows[] = {
#define EXACTLY_KIND_ROW(name, value, traits) {CommandKind::name, traits},
    EXACTLY_COMMAND_KINDS(EXACTLY_KIND_ROW)
#undef EXACTLY_KIND_ROW
};
constexpr bool ValuesRunFromOne() {
  for (size_t i = 0; i < std::size(kRows); ++i) {
    if (static_cast<size_t>(kRows[i].kind) != i + 1) return false;
    // A journaled command changes state.
    if ((kRows[i].traits & kJournaled) != 0 && (kRows[i].traits & kWrites) == 0) return false;
  }
  return true;
}
static_assert(ValuesRunFromOne(), "command kinds are numbered 1, 2, ... in list order");
}  // namespace kinds_internal

// The highest kind: the journal reader refuses kinds past it. Derived from the list.
inline constexpr CommandKind kCommandKindLast = std::end(kinds_internal::kRows)[-1].kind;

// The traits of `kind`; 0 for a value outside the list.
constexpr uint32_t KindTraits(CommandKind kind) {
  const auto index = static_cast<size_t>(kind);
  if (index == 0 || index > std::size(kinds_internal::kRows)) return 0;
  return kinds_internal::kRows[index - 1].traits;
}

// Whether a command may change durable state. Reads (and LIMIT) never reach the journal.
constexpr bool IsMutating(CommandKind kind) { return (KindTraits(kind) & kJournaled) != 0; }

// Whether a command may change any state, durable or volatile.
constexpr bool Writes(CommandKind kind) { return (KindTraits(kind) & kWrites) != 0; }

// Whether a command may add records to the tables (see kGrows).
constexpr bool MayGrowState(CommandKind kind) { return (KindTraits(kind) & kGrows) != 0; }

enum class Period : uint8_t { kHour = 1, kDay = 2, kWeek = 3, kMonth = 4 };

// How long a claim or a transfer id lasts: TTL ms | UNTIL unix-ms | PER period.
struct TimeSpec {
  enum class Kind : uint8_t { kNone = 0, kTtl = 1, kUntil = 2, kPer = 3 };
  Kind kind = Kind::kNone;
  int64_t ttl_ms = 0;            // kTtl, and RESERVE's TIMEOUT
  int64_t until_ms = 0;          // kUntil: absolute unix ms
  Period period = Period::kDay;  // kPer
  int32_t at_minutes = 0;        // kPer: AT hh:mm as minutes after local midnight
  int32_t tz_minutes = 0;        // kPer: TZ ±hh:mm as minutes east of UTC
};

// An account bound: MIN n | -inf, MAX n | +inf.
struct Bound {
  bool infinite = false;  // -inf for MIN, +inf for MAX
  Amount value = 0;
  bool operator==(const Bound&) const = default;
};

struct Command {
  CommandKind kind = CommandKind::kClaim;

  // CLAIM, UNCLAIM, CLAIMOF, CLAIMLOG: the claim key.
  // ACCOUNT, BALANCE, HISTORY: the account key.
  std::string key;
  // CLAIM, UNCLAIM: the owner.
  std::string owner;
  // TRANSFER, RESERVE, COMMIT, CANCEL: the transfer id.
  std::string id;
  // TRANSFER, RESERVE: the accounts and the amount (> 0).
  std::string from;
  std::string to;
  Amount amount = 0;
  // ACCOUNT: bounds (defaults MIN 0, MAX +inf).
  Bound min{false, 0};
  Bound max{true, 0};
  // CLAIM: TTL|UNTIL|PER; TRANSFER: PER; RESERVE: TIMEOUT as kTtl.
  TimeSpec time;
  // CLAIM: PERSIST.
  bool persist = false;
  // CLAIM, TRANSFER: NOTE text.
  std::string note;
  // CLAIMLOG, HISTORY: COUNT n (0 means the default).
  int64_t count = 0;
  // kGroup: the queued commands, applied all or none.
  std::vector<Command> group;

  // Filled by the engine from the batch timestamp before the command is applied
  // and logged; kNoTimeMs where not applicable.
  bool resolved = false;
  int64_t expires_ms = kNoTimeMs;  // when the claim or the remembered id ends
  int64_t window_ms = kNoTimeMs;   // start of the PER window
  // When the engine forgets what this command left behind: a RESERVE's id
  // (timeout + id retention), a TRANSFER's id (= expires_ms), a claim key's
  // CLAIMLOG once the claim has ended (CLAIM: expires + retention; UNCLAIM:
  // release time + retention). Resolved here so replay never reads the config.
  int64_t remember_until_ms = kNoTimeMs;

  // LOCK name owner LEASE ms [WAIT ms] [ID request-id]: `key` is the name,
  // `owner` the owner, `id` the request id; RENEW/UNLOCK/FENCE name token.
  // IDEM BEGIN key [FINGERPRINT f] [LEASE ms] [TTL ms] [WAIT ms]: `key`, `note`
  // holds the fingerprint; IDEM END key token response: `note` holds the response.
  int64_t lease_ms = 0;
  int64_t wait_ms = 0;  // 0: do not wait
  int64_t ttl_ms = 0;   // IDEM BEGIN TTL (how long a done key keeps its response)
  uint64_t token = 0;   // RENEW, UNLOCK, FENCE, IDEM END/ABORT
  // LIMIT key RATE n PER ms [BURST b] [COST c] | LIMIT key WINDOW n PER ms [COST c]
  bool limit_window = false;
  int64_t limit_n = 0;
  int64_t limit_per_ms = 0;
  int64_t limit_burst = 0;  // 0: no extra burst
  int64_t limit_cost = 1;
  // IFLOCK name token on any mutating command: unless `token` still holds lock
  // `iflock_name`, the command changes nothing and answers `stale`.
  std::string iflock_name;
  uint64_t iflock_token = 0;
  // kCancelWaiter: the parked command's waiter id (BatchOutput::parked).
  uint64_t waiter = 0;
};

}  // namespace exactly::core
