// TableScan: a bounded page of one table's records whose keys start with a
// prefix, resumable from a cursor: the console's read-only window on the state
// (GET /v1/tables/<table>, docs/http.md).
//
// The tables are hash tables, so a page is in table order, not key order, and a
// prefix is a filter, not a seek: a page visits at most kScanVisitMax records
// and returns at most `limit` (<= kScanRowsMax) of those that match, with the
// cursor to resume from (empty once the table is done). A page with no rows and
// a cursor only means the visit budget ran out first. With a prefix and no
// cursor, the record whose key is the prefix itself comes first, found by a
// lookup, so a search for a whole key answers at once whatever the table's size.
//
// Cursors are opaque text. Claims and accounts resume at a record handle, which
// stays with its record for the record's life, so a record present throughout a
// listing appears exactly once. Locks, idempotency keys and limits resume after
// the last key visited, found again by a lookup; if that key has left the table
// since, the page resumes at the same count of entries from the start, and a
// table that grew between two pages (a rehash reorders it) may repeat or skip
// rows. The table walk itself never changes anything.
//
// Each row is a Reply without an outcome: `key` first, then the table's fields
// (see the Row* functions in table_scan.cc and docs/http.md). Pure; not
// thread-safe, like the engine it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/reply.h"

namespace exactly::core {

struct EngineState;

enum class ScanTable : uint8_t { kClaims, kAccounts, kLocks, kIdem, kLimits };

// "claims", "accounts", "locks", "idempotency", "limits", and back; nullopt for
// another name.
std::string_view ScanTableName(ScanTable table);
std::optional<ScanTable> ScanTableByName(std::string_view name);
// Every table, in the order above.
inline constexpr ScanTable kScanTables[] = {ScanTable::kClaims, ScanTable::kAccounts,
                                            ScanTable::kLocks, ScanTable::kIdem,
                                            ScanTable::kLimits};

struct ScanRequest {
  ScanTable table = ScanTable::kClaims;
  std::string_view prefix;          // empty: every key
  std::string_view cursor;          // empty: from the start
  size_t limit = kScanRowsDefault;  // clamped to 1..kScanRowsMax
};

struct ScanPage {
  std::vector<Reply> rows;
  std::string cursor;  // where the next page starts; empty when the table is done
  size_t visited = 0;  // records looked at (the exact-key lookup counts one)
  size_t total = 0;    // records in the table
};

// Whether `cursor` is one that a page of `table` could have returned (empty is).
bool ValidScanCursor(ScanTable table, std::string_view cursor);

// A page of `request.table` in `state`, as of `now_ms` (whether a lock or a
// running IDEM key is still held). The cursor must be valid (ValidScanCursor).
ScanPage ScanTablePage(const EngineState& state, const ScanRequest& request, int64_t now_ms);

}  // namespace exactly::core
