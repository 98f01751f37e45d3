// Bounded, resumable pages of a table (see table_scan.h).
#include "core/table_scan.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "base/assert.h"
#include "core/engine_state.h"
#include "core/ledger.h"

namespace exactly::core {
namespace {

constexpr std::string_view kTableNames[] = {"claims", "accounts", "locks", "idempotency", "limits"};
static_assert(std::size(kTableNames) == std::size(kScanTables));

bool IsMapTable(ScanTable table) {
  return table == ScanTable::kLocks || table == ScanTable::kIdem || table == ScanTable::kLimits;
}

// Cursors. A record-store table's is the decimal handle to resume at; a map
// table's is "<entries visited from the start>:<hex of the last key visited>".
std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    out += kHex[static_cast<uint8_t>(c) >> 4];
    out += kHex[static_cast<uint8_t>(c) & 15];
  }
  return out;
}

struct MapCursor {
  uint64_t offset = 0;
  std::string key;
};

std::optional<MapCursor> ParseMapCursor(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::optional<uint64_t> offset = ParseDecimal(text.substr(0, colon));
  const std::string_view hex = text.substr(colon + 1);
  if (!offset || hex.empty() || hex.size() % 2 != 0 || hex.size() > 2 * kKeyBytesMax) {
    return std::nullopt;
  }
  MapCursor cursor{*offset, {}};
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexDigit(hex[i]);
    const int low = HexDigit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    cursor.key += static_cast<char>(high << 4 | low);
  }
  return cursor;
}

Reply ClaimRow(std::string_view key, const ClaimSlot& slot) {
  Reply row;
  row.Add("key", std::string(key));
  row.Add("state", std::string(slot.live ? "held" : "free"));
  row.Add("owner", slot.owner);
  row.Add("since", slot.since_ms);
  row.Add("expires", slot.expires_ms);
  row.Add("window", slot.window_ms);
  row.Add("last_event", std::string(slot.log.empty() ? "" : ClaimEventName(slot.log.back().event)));
  row.Add("log_entries", static_cast<int64_t>(slot.log.size()));
  return row;
}

Reply AccountRow(std::string_view key, const Account& account) {
  Reply row;
  row.Add("key", std::string(key));
  row.Add("balance", account.balance);
  row.Add("reserved", account.reserved_out);
  row.Add("incoming", account.reserved_in);
  row.fields.emplace_back("min", MinReplyValue(account.min));
  row.fields.emplace_back("max", MaxReplyValue(account.max));
  row.Add("history_entries", static_cast<int64_t>(account.history.size()));
  return row;
}

Reply LockRow(std::string_view name, const Lock& lock, int64_t now_ms) {
  const bool held = !lock.owner.empty() && lock.expires_ms > now_ms;
  Reply row;
  row.Add("key", std::string(name));
  row.Add("state", std::string(held ? "held" : "free"));
  row.Add("holder", held ? lock.owner : std::string());
  row.Add("token", held ? static_cast<int64_t>(lock.token) : 0);  // tokens start at 1
  row.Add("depth", held ? lock.depth : 0);
  row.Add("expires", held ? lock.expires_ms : kNoTimeMs);
  row.Add("waiting", static_cast<int64_t>(lock.waiters.size()));
  std::vector<Reply> waiters;
  for (const LockWaiter& waiter : lock.waiters) {
    if (waiters.size() == kScanWaitersShownMax) break;
    Reply entry;
    entry.Add("owner", waiter.owner);
    entry.Add("deadline", waiter.deadline_ms);
    waiters.push_back(std::move(entry));
  }
  row.Add("waiters", std::move(waiters));
  return row;
}

std::string_view IdemStateName(const IdemKey& idem, int64_t now_ms) {
  switch (idem.state) {
    case IdemState::kRunning:
      return idem.lease_end_ms > now_ms ? "running" : "lease_ended";
    case IdemState::kDone:
      return "done";
    case IdemState::kFree:
      return "free";
  }
  return "?";
}

Reply IdemRow(std::string_view key, const IdemKey& idem, int64_t now_ms) {
  Reply row;
  row.Add("key", std::string(key));
  row.Add("state", std::string(IdemStateName(idem, now_ms)));
  row.Add("token", static_cast<int64_t>(idem.token));
  row.Add("fingerprint", idem.fingerprint);
  row.Add("lease_end", idem.state == IdemState::kRunning ? idem.lease_end_ms : kNoTimeMs);
  row.Add("forget", idem.state == IdemState::kDone ? idem.forget_ms : kNoTimeMs);
  // The size, not the response: a page of 64 KiB responses would be 64 MiB.
  row.Add("response_bytes", static_cast<int64_t>(idem.response.size()));
  row.Add("waiting", static_cast<int64_t>(idem.waiters.size()));
  return row;
}

Reply LimitRow(std::string_view key, const LimitState& state) {
  Reply row;
  row.Add("key", std::string(key));
  row.Add("kind", std::string(state.window ? "window" : "rate"));
  row.Add("count", state.window ? state.count : -1);
  row.Add("window_start", state.window ? state.window_start_ms : kNoTimeMs);
  row.Add("tat", state.window ? kNoTimeMs : state.tat_ms);
  row.Add("idle_at", state.forget_ms);
  return row;
}

// The rows of one table kind, by key or by record; nullopt if there is none.
std::optional<Reply> RowOfKey(const EngineState& state, ScanTable table, std::string_view key,
                              int64_t now_ms) {
  switch (table) {
    case ScanTable::kClaims: {
      std::optional<ClaimSlot> slot = state.claims.Find(key);
      if (!slot) return std::nullopt;
      return ClaimRow(key, *slot);
    }
    case ScanTable::kAccounts: {
      std::optional<Account> account = state.ledger.FindAccount(key);
      if (!account) return std::nullopt;
      return AccountRow(key, *account);
    }
    case ScanTable::kLocks: {
      auto found = state.locks.locks().find(key);
      if (found == state.locks.locks().end()) return std::nullopt;
      return LockRow(key, found->second, now_ms);
    }
    case ScanTable::kIdem: {
      auto found = state.idem.keys().find(key);
      if (found == state.idem.keys().end()) return std::nullopt;
      return IdemRow(key, found->second, now_ms);
    }
    case ScanTable::kLimits: {
      auto found = state.limits.keys().find(key);
      if (found == state.limits.keys().end()) return std::nullopt;
      return LimitRow(key, found->second);
    }
  }
  return std::nullopt;
}

// Whether a row may be added for `key`: it matches, and it is not the one the
// exact lookup already gave.
bool Wanted(std::string_view key, const ScanRequest& request, bool exact_given) {
  return key.starts_with(request.prefix) && !(exact_given && key == request.prefix);
}

void ScanStore(const EngineState& state, const RecordStore& store, const ScanRequest& request,
               size_t limit, bool exact_given, int64_t now_ms, ScanPage* page) {
  const RecordHandle end = store.handle_end();
  RecordHandle handle = 0;
  if (!request.cursor.empty()) {
    const std::optional<uint64_t> from = ParseDecimal(request.cursor);
    EXACTLY_ASSERT(from.has_value());
    handle = static_cast<RecordHandle>(std::min<uint64_t>(*from, end));
  }
  for (; handle < end && page->rows.size() < limit && page->visited < kScanVisitMax; ++handle) {
    if (!store.Contains(handle)) continue;
    ++page->visited;
    const std::string_view key = store.Key(handle);
    if (!Wanted(key, request, exact_given)) continue;
    std::optional<Reply> row = RowOfKey(state, request.table, key, now_ms);
    EXACTLY_ASSERT(row.has_value());
    page->rows.push_back(std::move(*row));
  }
  if (handle < end) page->cursor = std::to_string(handle);
}

template <class Map, class MakeRow>
void ScanMap(const Map& map, const ScanRequest& request, size_t limit, bool exact_given,
             MakeRow&& make_row, ScanPage* page) {
  auto it = map.begin();
  uint64_t offset = 0;
  if (!request.cursor.empty()) {
    std::optional<MapCursor> cursor = ParseMapCursor(request.cursor);
    EXACTLY_ASSERT(cursor.has_value());
    it = map.find(cursor->key);
    if (it != map.end()) {
      ++it;
    } else {
      // The last key visited has left: resume as many entries in.
      it = map.begin();
      for (uint64_t skipped = 0; skipped < cursor->offset && it != map.end(); ++skipped) ++it;
    }
    offset = cursor->offset;
  }
  std::string_view last_key;
  for (; it != map.end() && page->rows.size() < limit && page->visited < kScanVisitMax; ++it) {
    ++page->visited;
    ++offset;
    const std::string_view key = it->first;
    last_key = key;
    if (Wanted(key, request, exact_given)) page->rows.push_back(make_row(key, it->second));
  }
  if (it != map.end() && !last_key.empty()) {
    page->cursor = std::to_string(offset) + ":" + Hex(last_key);
  } else if (it != map.end()) {
    page->cursor = request.cursor;  // nothing visited (limit 0 is clamped, so never)
  }
}

}  // namespace

std::string_view ScanTableName(ScanTable table) { return kTableNames[static_cast<size_t>(table)]; }

std::optional<ScanTable> ScanTableByName(std::string_view name) {
  for (const ScanTable table : kScanTables) {
    if (ScanTableName(table) == name) return table;
  }
  return std::nullopt;
}

bool ValidScanCursor(ScanTable table, std::string_view cursor) {
  if (cursor.empty()) return true;
  return IsMapTable(table) ? ParseMapCursor(cursor).has_value() : ParseDecimal(cursor).has_value();
}

ScanPage ScanTablePage(const EngineState& state, const ScanRequest& request, int64_t now_ms) {
  EXACTLY_ASSERT(ValidScanCursor(request.table, request.cursor));
  const size_t limit = std::clamp<size_t>(request.limit, 1, kScanRowsMax);
  ScanPage page;
  bool exact_given = false;
  if (!request.prefix.empty() && request.cursor.empty()) {
    ++page.visited;
    if (std::optional<Reply> row = RowOfKey(state, request.table, request.prefix, now_ms)) {
      page.rows.push_back(std::move(*row));
      exact_given = true;
    }
  } else if (!request.prefix.empty()) {
    // Later pages leave the exact key out too: the first page gave it.
    exact_given = RowOfKey(state, request.table, request.prefix, now_ms).has_value();
  }
  switch (request.table) {
    case ScanTable::kClaims:
      page.total = state.claims.size();
      ScanStore(state, state.claims.records(), request, limit, exact_given, now_ms, &page);
      break;
    case ScanTable::kAccounts:
      page.total = state.ledger.accounts().size();
      ScanStore(state, state.ledger.accounts(), request, limit, exact_given, now_ms, &page);
      break;
    case ScanTable::kLocks:
      page.total = state.locks.locks().size();
      ScanMap(
          state.locks.locks(), request, limit, exact_given,
          [now_ms](std::string_view key, const Lock& lock) { return LockRow(key, lock, now_ms); },
          &page);
      break;
    case ScanTable::kIdem:
      page.total = state.idem.keys().size();
      ScanMap(
          state.idem.keys(), request, limit, exact_given,
          [now_ms](std::string_view key, const IdemKey& idem) {
            return IdemRow(key, idem, now_ms);
          },
          &page);
      break;
    case ScanTable::kLimits:
      page.total = state.limits.keys().size();
      ScanMap(
          state.limits.keys(), request, limit, exact_given,
          [](std::string_view key, const LimitState& limit_state) {
            return LimitRow(key, limit_state);
          },
          &page);
      break;
  }
  return page;
}

}  // namespace exactly::core
