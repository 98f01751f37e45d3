// Every limit of the engine, declared once. net/ checks them at the boundary,
// docs/limits.md lists them, tests exercise each at the limit and one past it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exactly::core {

inline constexpr size_t kKeyBytesMax = 512;
inline constexpr size_t kOwnerBytesMax = 256;  // owners and transfer ids
inline constexpr size_t kNoteBytesMax = 1024;
inline constexpr int64_t kCountMax = 1000;  // CLAIMLOG / HISTORY COUNT
inline constexpr int64_t kCountDefault = 10;
inline constexpr size_t kGroupCommandsMax = 1000;  // commands in one MULTI

// Journal records. A batch record never passes kRecordBytesMax (the journal's own
// maximum, storage/journal_format.h): the server cuts a turn into several batches
// once the next command could take the record past kBatchBytesTarget, and refuses a
// single command or MULTI group that could not fit one record on its own.
inline constexpr size_t kRecordBytesMax = 64u << 20;
inline constexpr size_t kBatchBytesTarget = 4u << 20;
static_assert(kBatchBytesTarget < kRecordBytesMax);

// Time options must land within these bounds (unix ms), so that adding a TTL to a
// timestamp can never overflow and a year-9999 date is still representable.
inline constexpr int64_t kTimeMsMax = 253402300799999;                // 9999-12-31T23:59:59.999Z
inline constexpr int64_t kTtlMsMax = 100LL * 365 * 24 * 3600 * 1000;  // 100 years
inline constexpr int32_t kTzMinutesMax = 14 * 60;                     // UTC+14:00 / UTC-14:00

// Retention of remembered transfer ids (first outcome is final for this long).
inline constexpr int64_t kIdRetentionMsDefault = 30LL * 24 * 3600 * 1000;

// History kept per claim key (CLAIMLOG) and per account (HISTORY): the newest
// entries survive, older ones are dropped.
inline constexpr size_t kClaimLogPerKeyMax = 32;
inline constexpr size_t kHistoryPerAccountMax = 64;

// Table maxima; a command that would grow a table past its maximum is refused
// with an error and changes nothing. Shown in INFO.
inline constexpr size_t kClaimsMaxDefault = 50'000'000;
inline constexpr size_t kAccountsMaxDefault = 10'000'000;
inline constexpr size_t kTransfersMaxDefault = 50'000'000;

// Locks, idempotency keys and rate limits.
inline constexpr size_t kLocksMaxDefault = 10'000'000;      // lock names held or waited on
inline constexpr size_t kWaitersMaxDefault = 1'000'000;     // parked LOCK/IDEM commands in total
inline constexpr size_t kWaitersPerNameMax = 10'000;        // parked on one lock or one IDEM key
inline constexpr size_t kIdemKeysMaxDefault = 10'000'000;   // live idempotency keys
inline constexpr size_t kLimitKeysMaxDefault = 10'000'000;  // live rate-limit keys
inline constexpr size_t kIdemResponseBytesMax = 64 * 1024;  // IDEM END's stored response
inline constexpr size_t kFingerprintBytesMax = kKeyBytesMax;
inline constexpr int64_t kIdemLeaseMsDefault = 30'000;
inline constexpr int64_t kIdemTtlMsDefault = 24LL * 3600 * 1000;
// LIMIT's n, BURST and COST: small enough that every GCRA time (a timestamp plus
// BURST * PER / n) fits an int64 of milliseconds.
inline constexpr int64_t kLimitCountMax = 1'000'000;

// Table listings (core/table_scan.h, GET /v1/tables/<table>): rows a page returns,
// records it may look at, and waiters listed per lock or IDEM key row. A page
// costs the engine thread about one key comparison per record visited.
inline constexpr size_t kScanRowsDefault = 100;
inline constexpr size_t kScanRowsMax = 1000;
inline constexpr size_t kScanVisitMax = 100'000;
inline constexpr size_t kScanWaitersShownMax = 10;

static_assert(kOwnerBytesMax <= kKeyBytesMax);
static_assert(kScanRowsDefault <= kScanRowsMax && kScanRowsMax <= kScanVisitMax);
static_assert(kLimitCountMax * kTtlMsMax < INT64_MAX - kTimeMsMax);
static_assert(kCountDefault <= kCountMax);
static_assert(kTtlMsMax < kTimeMsMax);

}  // namespace exactly::core
