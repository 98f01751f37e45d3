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
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "base/assert.h"
#include "base/units.h"

namespace exactly::core {

// Every command kind, once: X(name, journal value, argument struct, traits). The enum,
// kCommandKindLast, the traits functions and CommandArgs below come from this list,
// so a new kind is one line here (after the last, with the next value: the values are
// journal bytes) and its struct in namespace cmd.
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
#define EXACTLY_COMMAND_KINDS(X)                              \
  X(kClaim, 1, Claim, kJournaled | kWrites | kGrows)          \
  X(kUnclaim, 2, Unclaim, kJournaled | kWrites)               \
  X(kClaimOf, 3, ClaimOf, kReadsOnly)                         \
  X(kClaimLog, 4, ClaimLog, kReadsOnly)                       \
  X(kAccount, 5, Account, kJournaled | kWrites | kGrows)      \
  X(kTransfer, 6, Transfer, kJournaled | kWrites | kGrows)    \
  X(kReserve, 7, Reserve, kJournaled | kWrites | kGrows)      \
  X(kCommit, 8, Commit, kJournaled | kWrites)                 \
  X(kCancel, 9, Cancel, kJournaled | kWrites)                 \
  X(kBalance, 10, Balance, kReadsOnly)                        \
  X(kHistory, 11, History, kReadsOnly)                        \
  X(kGroup, 12, Group, kJournaled | kWrites | kGrows)         \
  X(kLock, 13, Lock, kJournaled | kWrites | kGrows)           \
  X(kRenew, 14, Renew, kJournaled | kWrites)                  \
  X(kUnlock, 15, Unlock, kJournaled | kWrites)                \
  X(kFence, 16, Fence, kReadsOnly)                            \
  X(kIdemBegin, 17, IdemBegin, kJournaled | kWrites | kGrows) \
  X(kIdemEnd, 18, IdemEnd, kJournaled | kWrites)              \
  X(kIdemAbort, 19, IdemAbort, kJournaled | kWrites)          \
  X(kLimit, 20, Limit, kWrites | kGrows)                      \
  X(kCancelWaiter, 21, CancelWaiter, kJournaled | kWrites)    \
  X(kDropWaiters, 22, DropWaiters, kJournaled | kWrites)

enum class CommandKind : uint8_t {
#define EXACTLY_KIND_ENUM(name, value, type, traits) name = value,
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
#define EXACTLY_KIND_ROW(name, value, type, traits) {CommandKind::name, traits},
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
  bool operator==(const TimeSpec&) const = default;
};

// An account bound: MIN n | -inf, MAX n | +inf.
struct Bound {
  bool infinite = false;  // -inf for MIN, +inf for MAX
  Amount value = 0;
  bool operator==(const Bound&) const = default;
};

// How a field is named and stored. `bit` is the field's presence bit in a journal
// record (core/record_codec.h): its identity on disk, shared by every kind that
// stores the same field, so a record written before the commands were typed decodes
// into the same struct. kNotLogged: the field never reaches the journal.
inline constexpr uint8_t kNotLogged = 0xff;
template <class S, class T>
struct Field {
  std::string_view name;  // as a test prints it (and, for the identity, a reply names it)
  T S::*member;
  uint8_t bit = kNotLogged;
};
template <class S, class T>
Field(std::string_view, T S::*, uint8_t) -> Field<S, T>;
template <class S, class T>
Field(std::string_view, T S::*) -> Field<S, T>;

// Presence bits of the journal (record_codec.h lists them with their encodings).
// Bits 12..15 belong to the Command itself (the resolved times and a group's
// sub-commands), never to a kind's fields.
namespace bits {
inline constexpr uint8_t kKey = 0, kOwner = 1, kId = 2, kFrom = 3, kTo = 4, kAmount = 5, kMin = 6,
                         kMax = 7, kTime = 8, kPersist = 9, kNote = 10, kCount = 11, kExpires = 12,
                         kWindow = 13, kRemember = 14, kGroup = 15, kLease = 16, kWait = 17,
                         kTtlMs = 18, kToken = 19, kWaiter = 20, kLast = 20;
}  // namespace bits

// One struct per command kind, each with its one field list, `kFields`: the journal
// codec, test printing and RecordBytesBound walk it, and a static_assert below
// checks that it names every member, so a member cannot be left out of the
// journal. Equality is defaulted (the same members). Fields are listed in journal
// bit order. `kIdentity` names the field that says
// what the command is about: every element of an EXEC reply carries it.
namespace cmd {

// CLAIM key owner [TTL|UNTIL|PER ...] [PERSIST] [NOTE text]
struct Claim {
  std::string key;
  std::string owner;
  TimeSpec time;
  bool persist = false;
  std::string note;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{
      Field{"key", &Claim::key, bits::kKey}, Field{"owner", &Claim::owner, bits::kOwner},
      Field{"time", &Claim::time, bits::kTime}, Field{"persist", &Claim::persist, bits::kPersist},
      Field{"note", &Claim::note, bits::kNote}};
  bool operator==(const Claim&) const = default;
};

// UNCLAIM key owner
struct Unclaim {
  std::string key;
  std::string owner;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &Unclaim::key, bits::kKey},
                                             Field{"owner", &Unclaim::owner, bits::kOwner}};
  bool operator==(const Unclaim&) const = default;
};

// CLAIMOF key
struct ClaimOf {
  std::string key;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &ClaimOf::key, bits::kKey}};
  bool operator==(const ClaimOf&) const = default;
};

// CLAIMLOG key [COUNT n] (0: the default count)
struct ClaimLog {
  std::string key;
  int64_t count = 0;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &ClaimLog::key, bits::kKey},
                                             Field{"count", &ClaimLog::count, bits::kCount}};
  bool operator==(const ClaimLog&) const = default;
};

// ACCOUNT key [MIN n|-inf] [MAX n|+inf]
struct Account {
  std::string key;
  Bound min{false, 0};
  Bound max{true, 0};
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields =
      std::tuple{Field{"key", &Account::key, bits::kKey}, Field{"min", &Account::min, bits::kMin},
                 Field{"max", &Account::max, bits::kMax}};
  bool operator==(const Account&) const = default;
};

// TRANSFER id from to amount [PER ...] [NOTE text]
struct Transfer {
  std::string id;
  std::string from;
  std::string to;
  Amount amount = 0;
  TimeSpec per;  // kNone or kPer
  std::string note;
  static constexpr std::string_view kIdentity = "id";
  static constexpr auto kFields = std::tuple{
      Field{"id", &Transfer::id, bits::kId},     Field{"from", &Transfer::from, bits::kFrom},
      Field{"to", &Transfer::to, bits::kTo},     Field{"amount", &Transfer::amount, bits::kAmount},
      Field{"per", &Transfer::per, bits::kTime}, Field{"note", &Transfer::note, bits::kNote}};
  bool operator==(const Transfer&) const = default;
};

// RESERVE id from to amount TIMEOUT ms
struct Reserve {
  std::string id;
  std::string from;
  std::string to;
  Amount amount = 0;
  TimeSpec timeout;  // kTtl: TIMEOUT as ttl_ms (stored as a time spec since version 1)
  static constexpr std::string_view kIdentity = "id";
  static constexpr auto kFields = std::tuple{
      Field{"id", &Reserve::id, bits::kId}, Field{"from", &Reserve::from, bits::kFrom},
      Field{"to", &Reserve::to, bits::kTo}, Field{"amount", &Reserve::amount, bits::kAmount},
      Field{"timeout", &Reserve::timeout, bits::kTime}};
  bool operator==(const Reserve&) const = default;
};

// COMMIT id
struct Commit {
  std::string id;
  static constexpr std::string_view kIdentity = "id";
  static constexpr auto kFields = std::tuple{Field{"id", &Commit::id, bits::kId}};
  bool operator==(const Commit&) const = default;
};

// CANCEL id
struct Cancel {
  std::string id;
  static constexpr std::string_view kIdentity = "id";
  static constexpr auto kFields = std::tuple{Field{"id", &Cancel::id, bits::kId}};
  bool operator==(const Cancel&) const = default;
};

// BALANCE key
struct Balance {
  std::string key;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &Balance::key, bits::kKey}};
  bool operator==(const Balance&) const = default;
};

// HISTORY key [COUNT n] (0: the default count)
struct History {
  std::string key;
  int64_t count = 0;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &History::key, bits::kKey},
                                             Field{"count", &History::count, bits::kCount}};
  bool operator==(const History&) const = default;
};

// MULTI ... EXEC: the queued commands are Command::group.
struct Group {
  static constexpr auto kFields = std::tuple{};
  bool operator==(const Group&) const = default;
};

// LOCK name owner LEASE ms [WAIT ms] [ID request-id]
struct Lock {
  std::string name;
  std::string owner;
  std::string id;  // the request id; empty without ID
  int64_t lease_ms = 0;
  int64_t wait_ms = 0;  // 0: do not wait
  static constexpr std::string_view kIdentity = "name";
  static constexpr auto kFields = std::tuple{
      Field{"name", &Lock::name, bits::kKey}, Field{"owner", &Lock::owner, bits::kOwner},
      Field{"id", &Lock::id, bits::kId}, Field{"lease_ms", &Lock::lease_ms, bits::kLease},
      Field{"wait_ms", &Lock::wait_ms, bits::kWait}};
  bool operator==(const Lock&) const = default;
};

// RENEW name token LEASE ms
struct Renew {
  std::string name;
  int64_t lease_ms = 0;
  uint64_t token = 0;
  static constexpr std::string_view kIdentity = "name";
  static constexpr auto kFields = std::tuple{Field{"name", &Renew::name, bits::kKey},
                                             Field{"lease_ms", &Renew::lease_ms, bits::kLease},
                                             Field{"token", &Renew::token, bits::kToken}};
  bool operator==(const Renew&) const = default;
};

// UNLOCK name token
struct Unlock {
  std::string name;
  uint64_t token = 0;
  static constexpr std::string_view kIdentity = "name";
  static constexpr auto kFields = std::tuple{Field{"name", &Unlock::name, bits::kKey},
                                             Field{"token", &Unlock::token, bits::kToken}};
  bool operator==(const Unlock&) const = default;
};

// FENCE name token
struct Fence {
  std::string name;
  uint64_t token = 0;
  static constexpr std::string_view kIdentity = "name";
  static constexpr auto kFields = std::tuple{Field{"name", &Fence::name, bits::kKey},
                                             Field{"token", &Fence::token, bits::kToken}};
  bool operator==(const Fence&) const = default;
};

// IDEM BEGIN key [FINGERPRINT f] [LEASE ms] [TTL ms] [WAIT ms]. The parser fills the
// defaults of LEASE and TTL; 0 (a command built without them) means the default too.
struct IdemBegin {
  std::string key;
  std::string fingerprint;
  int64_t lease_ms = 0;
  int64_t wait_ms = 0;  // 0: do not wait
  int64_t ttl_ms = 0;   // how long a done key keeps its response
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields =
      std::tuple{Field{"key", &IdemBegin::key, bits::kKey},
                 Field{"fingerprint", &IdemBegin::fingerprint, bits::kNote},
                 Field{"lease_ms", &IdemBegin::lease_ms, bits::kLease},
                 Field{"wait_ms", &IdemBegin::wait_ms, bits::kWait},
                 Field{"ttl_ms", &IdemBegin::ttl_ms, bits::kTtlMs}};
  bool operator==(const IdemBegin&) const = default;
};

// IDEM END key token response
struct IdemEnd {
  std::string key;
  std::string response;
  uint64_t token = 0;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &IdemEnd::key, bits::kKey},
                                             Field{"response", &IdemEnd::response, bits::kNote},
                                             Field{"token", &IdemEnd::token, bits::kToken}};
  bool operator==(const IdemEnd&) const = default;
};

// IDEM ABORT key token
struct IdemAbort {
  std::string key;
  uint64_t token = 0;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &IdemAbort::key, bits::kKey},
                                             Field{"token", &IdemAbort::token, bits::kToken}};
  bool operator==(const IdemAbort&) const = default;
};

// LIMIT key RATE n PER ms [BURST b] [COST c] | LIMIT key WINDOW n PER ms [COST c].
// Volatile: never logged, so only its key has a journal bit (a test may encode it).
struct Limit {
  std::string key;
  bool window = false;
  int64_t n = 0;
  int64_t per_ms = 0;
  int64_t burst = 0;  // 0: no extra burst
  int64_t cost = 1;
  static constexpr std::string_view kIdentity = "key";
  static constexpr auto kFields = std::tuple{Field{"key", &Limit::key, bits::kKey},
                                             Field{"window", &Limit::window},
                                             Field{"n", &Limit::n},
                                             Field{"per_ms", &Limit::per_ms},
                                             Field{"burst", &Limit::burst},
                                             Field{"cost", &Limit::cost}};
  bool operator==(const Limit&) const = default;
};

// Internal: parked command `waiter` (BatchOutput::parked) can no longer be answered.
struct CancelWaiter {
  uint64_t waiter = 0;
  static constexpr auto kFields = std::tuple{Field{"waiter", &CancelWaiter::waiter, bits::kWaiter}};
  bool operator==(const CancelWaiter&) const = default;
};

// Internal: no parked command survives (the first batch after recovery).
struct DropWaiters {
  static constexpr auto kFields = std::tuple{};
  bool operator==(const DropWaiters&) const = default;
};

}  // namespace cmd

namespace kinds_internal {
template <class... T>
struct TypeList {};
template <class List>
struct VariantOf;
template <class... T>
struct VariantOf<TypeList<void, T...>> {
  using type = std::variant<T...>;
};
}  // namespace kinds_internal

// The typed arguments of every kind, in kind order: alternative i is kind i + 1.
#define EXACTLY_KIND_TYPE(name, value, type, traits) , cmd::type
using CommandArgs = typename kinds_internal::VariantOf<
    kinds_internal::TypeList<void EXACTLY_COMMAND_KINDS(EXACTLY_KIND_TYPE)>>::type;
#undef EXACTLY_KIND_TYPE

// The kind whose arguments are T.
template <class T>
inline constexpr CommandKind kKindOf = CommandKind{0};
#define EXACTLY_KIND_OF(name, value, type, traits) \
  template <>                                      \
  inline constexpr CommandKind kKindOf<cmd::type> = CommandKind::name;
EXACTLY_COMMAND_KINDS(EXACTLY_KIND_OF)
#undef EXACTLY_KIND_OF

// The name of a kind as the list spells it ("kClaim"), for test output and logs.
constexpr std::string_view KindName(CommandKind kind) {
  switch (kind) {
#define EXACTLY_KIND_NAME(name, value, type, traits) \
  case CommandKind::name:                            \
    return #name;
    EXACTLY_COMMAND_KINDS(EXACTLY_KIND_NAME)
#undef EXACTLY_KIND_NAME
  }
  return "kUnknown";
}

// Calls f(field) for each entry of S::kFields, in order.
template <class S, class F>
constexpr void ForEachField(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, S::kFields);
}

namespace kinds_internal {
template <class S>
constexpr bool FieldsInBitOrder() {
  int last = -1;
  bool ok = true;
  ForEachField<S>([&](const auto& field) {
    if (field.bit == kNotLogged) return;
    if (field.bit <= last || field.bit > bits::kLast) ok = false;
    if (field.bit >= bits::kExpires && field.bit <= bits::kGroup) ok = false;
    last = field.bit;
  });
  return ok;
}
template <class S>
constexpr bool IdentityIsAStringField() {
  if constexpr (requires { S::kIdentity; }) {
    bool found = false;
    ForEachField<S>([&](const auto& field) {
      using T = std::remove_reference_t<decltype(std::declval<S>().*field.member)>;
      if (std::is_same_v<T, std::string> && field.name == S::kIdentity) found = true;
    });
    return found;
  }
  return true;
}
// How many members aggregate S has: the most initializers S{...} accepts (each
// AnyField converts to any member's type, so none is spent on brace elision).
struct AnyField {
  template <class T>
  operator T() const;  // NOLINT: implicit on purpose; declared only, used unevaluated
};
template <class S, class... A>
constexpr size_t MemberCount() {
  if constexpr (requires { S{A{}..., AnyField{}}; }) {
    return MemberCount<S, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}
template <class S>
constexpr bool ListsEveryMember() {
  return MemberCount<S>() == std::tuple_size_v<std::decay_t<decltype(S::kFields)>>;
}
template <size_t... I>
constexpr bool EveryKindIsWellFormed(std::index_sequence<I...>) {
  return ((kKindOf<std::variant_alternative_t<I, CommandArgs>> == static_cast<CommandKind>(I + 1) &&
           ListsEveryMember<std::variant_alternative_t<I, CommandArgs>>() &&
           FieldsInBitOrder<std::variant_alternative_t<I, CommandArgs>>() &&
           IdentityIsAStringField<std::variant_alternative_t<I, CommandArgs>>()) &&
          ...);
}
static_assert(EveryKindIsWellFormed(std::make_index_sequence<std::variant_size_v<CommandArgs>>()),
              "each kind's struct is alternative kind - 1, its kFields lists every member, in "
              "journal bit order and outside bits 12..15, and its kIdentity names one of its "
              "string fields");
}  // namespace kinds_internal

// One parsed request: its kind, its typed arguments, and what every kind shares.
// Build one from its arguments (`Command(cmd::Claim{...})`); `kind` always matches
// the alternative `args` holds (set both only through the constructor).
struct Command {
  Command() = default;  // a CLAIM with no fields: the variant's first alternative
  template <class T>
  requires(kKindOf<T> != CommandKind{0}) Command(T typed)
      : kind(kKindOf<T>), args(std::move(typed)) {}  // NOLINT: implicit on purpose

  CommandKind kind = CommandKind::kClaim;
  CommandArgs args;

  // Makes this a command of kind T with default arguments and returns them, to be
  // filled in place (a parser's first step: no temporary Command is moved).
  template <class T>
  requires(kKindOf<T> != CommandKind{0}) T& Emplace() {
    kind = kKindOf<T>;
    return args.template emplace<T>();
  }

  // The arguments as kind T; asserts that the command is of that kind.
  template <class T>
  const T& As() const {
    const T* typed = std::get_if<T>(&args);
    EXACTLY_ASSERT(typed != nullptr);
    return *typed;
  }
  template <class T>
  T& As() {
    T* typed = std::get_if<T>(&args);
    EXACTLY_ASSERT(typed != nullptr);
    return *typed;
  }

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
  // release time + retention), a LOCK ... ID's first reply. Resolved here so replay
  // never reads the config.
  int64_t remember_until_ms = kNoTimeMs;

  // IFLOCK name token on any mutating command: unless `token` still holds lock
  // `iflock_name`, the command changes nothing and answers `stale`. Never logged.
  std::string iflock_name;
  uint64_t iflock_token = 0;

  bool operator==(const Command&) const = default;
};

}  // namespace exactly::core
