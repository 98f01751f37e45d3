// Table pages (core/table_scan.h): every table's rows and fields, prefix filter,
// the exact key first, paging with cursors to the end (each record once), the
// limit and the visit budget at and past their bounds, bad cursors, and a map
// cursor whose key left between two pages.
#include "core/table_scan.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/engine_harness.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::ClaimCmd;
using testing::Harness;
using testing::IdemBeginCmd;
using testing::IdemEndCmd;
using testing::Int;
using testing::LimitRateCmd;
using testing::LimitWindowCmd;
using testing::List;
using testing::LockCmd;
using testing::Str;
using testing::Token;
using testing::TransferCmd;
using testing::UnlockCmd;

ScanPage Page(const Engine& engine, ScanTable table, std::string_view prefix = "",
              std::string_view cursor = "", size_t limit = kScanRowsDefault) {
  ScanRequest request;
  request.table = table;
  request.prefix = prefix;
  request.cursor = cursor;
  request.limit = limit;
  return engine.Scan(request);
}

std::vector<std::string> Keys(const ScanPage& page) {
  std::vector<std::string> keys;
  for (const Reply& row : page.rows) keys.push_back(Str(row, "key"));
  return keys;
}

// Every key of `table` under `prefix`, paging `limit` rows at a time; counts pages.
std::vector<std::string> AllKeys(const Engine& engine, ScanTable table, std::string_view prefix,
                                 size_t limit, size_t* pages = nullptr) {
  std::vector<std::string> keys;
  std::string cursor;
  size_t count = 0;
  do {
    const ScanPage page = Page(engine, table, prefix, cursor, limit);
    EXPECT_LE(page.rows.size(), limit);
    for (const std::string& key : Keys(page)) keys.push_back(key);
    cursor = page.cursor;
    ++count;
  } while (!cursor.empty() && count < 100000);
  if (pages != nullptr) *pages = count;
  return keys;
}

TEST(TableScanTest, NamesRoundTrip) {
  for (const ScanTable table : kScanTables) {
    EXPECT_EQ(ScanTableByName(ScanTableName(table)), table);
  }
  EXPECT_EQ(ScanTableByName("transfers"), std::nullopt);
  EXPECT_EQ(ScanTableByName(""), std::nullopt);
  EXPECT_EQ(ScanTableByName("Claims"), std::nullopt);
}

TEST(TableScanTest, ClaimsRowsAndPrefix) {
  Harness h;
  ASSERT_EQ(h.Run(ClaimCmd("phone:1", "u1", testing::Ttl(60'000))).result(), "won");
  ASSERT_EQ(h.Run(ClaimCmd("phone:2", "u2")).result(), "won");
  ASSERT_EQ(h.Run(ClaimCmd("mail:1", "u3")).result(), "won");
  ASSERT_EQ(h.Run(testing::UnclaimCmd("phone:2", "u2")).result(), "released");

  const ScanPage all = Page(h.engine, ScanTable::kClaims);
  EXPECT_EQ(all.total, 3u);
  EXPECT_EQ(all.cursor, "");
  const std::vector<std::string> keys = Keys(all);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()),
            (std::set<std::string>{"phone:1", "phone:2", "mail:1"}));

  const ScanPage phones = Page(h.engine, ScanTable::kClaims, "phone:");
  ASSERT_EQ(phones.rows.size(), 2u);
  for (const Reply& row : phones.rows) {
    if (Str(row, "key") == "phone:1") {
      EXPECT_EQ(Str(row, "state"), "held");
      EXPECT_EQ(Str(row, "owner"), "u1");
      EXPECT_EQ(Int(row, "since"), testing::kT0);
      EXPECT_EQ(Int(row, "expires"), testing::kT0 + 60'000);
      EXPECT_EQ(Str(row, "last_event"), "won");
    } else {
      EXPECT_EQ(Str(row, "state"), "free");
      EXPECT_EQ(Str(row, "owner"), "");
      EXPECT_EQ(Str(row, "last_event"), "released");
      EXPECT_EQ(Int(row, "log_entries"), 2);
    }
  }
  EXPECT_TRUE(Page(h.engine, ScanTable::kClaims, "nothing:").rows.empty());
  EXPECT_EQ(Page(h.engine, ScanTable::kClaims, "").rows.front().fields.front().first, "key");
}

TEST(TableScanTest, ExactKeyComesFirstAndOnlyOnce) {
  Harness h;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(h.Run(ClaimCmd("k" + std::to_string(i), "o")).result(), "won");
  }
  // "k4" is also the prefix of k40..k49: the exact key first, then the others once.
  const std::vector<std::string> keys = AllKeys(h.engine, ScanTable::kClaims, "k4", 3);
  ASSERT_EQ(keys.size(), 11u);
  EXPECT_EQ(keys.front(), "k4");
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 11u);
}

TEST(TableScanTest, ClaimPagesReturnEachRecordOnce) {
  Harness h;
  std::vector<Command> batch;
  for (int i = 0; i < 2500; ++i) batch.push_back(ClaimCmd("c:" + std::to_string(i), "o"));
  h.Batch(std::move(batch));
  size_t pages = 0;
  const std::vector<std::string> keys = AllKeys(h.engine, ScanTable::kClaims, "", 1000, &pages);
  EXPECT_EQ(keys.size(), 2500u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 2500u);
  EXPECT_EQ(pages, 3u);
}

TEST(TableScanTest, LimitIsClampedToItsBounds) {
  Harness h;
  std::vector<Command> batch;
  for (size_t i = 0; i < kScanRowsMax + 5; ++i)
    batch.push_back(ClaimCmd("c" + std::to_string(i), "o"));
  h.Batch(std::move(batch));
  EXPECT_EQ(Page(h.engine, ScanTable::kClaims, "", "", kScanRowsMax).rows.size(), kScanRowsMax);
  EXPECT_EQ(Page(h.engine, ScanTable::kClaims, "", "", kScanRowsMax + 1).rows.size(), kScanRowsMax);
  EXPECT_EQ(Page(h.engine, ScanTable::kClaims, "", "", 0).rows.size(), 1u);
  EXPECT_FALSE(Page(h.engine, ScanTable::kClaims, "", "", kScanRowsMax).cursor.empty());
}

TEST(TableScanTest, VisitBudgetEndsAPageEarlyWithACursor) {
  Harness h;
  std::vector<Command> batch;
  for (size_t i = 0; i < kScanVisitMax + 10; ++i) batch.push_back(ClaimCmd(std::to_string(i), "o"));
  batch.push_back(ClaimCmd("needle", "o"));
  h.Batch(std::move(batch));
  // No key but the last starts with "ne": the first page spends its budget on the
  // others and returns none, with a cursor; the next one finds it.
  const ScanPage first = Page(h.engine, ScanTable::kClaims, "ne");
  EXPECT_TRUE(first.rows.empty());
  EXPECT_EQ(first.visited, kScanVisitMax);  // the exact lookup counts in the budget
  ASSERT_FALSE(first.cursor.empty());
  const ScanPage second = Page(h.engine, ScanTable::kClaims, "ne", first.cursor);
  EXPECT_EQ(Keys(second), std::vector<std::string>{"needle"});
  EXPECT_EQ(second.cursor, "");
  // The exact key is found by lookup whatever the table's size.
  EXPECT_EQ(Keys(Page(h.engine, ScanTable::kClaims, "needle")).front(), "needle");
}

TEST(TableScanTest, AccountsShowBalancesAndBounds) {
  Harness h;
  ASSERT_EQ(h.Run(AccountCmd("acct:a")).result(), "created");
  ASSERT_EQ(h.Run(AccountCmd("acct:b", testing::Infinite(), testing::Finite(500))).result(),
            "created");
  ASSERT_EQ(h.Run(TransferCmd("t1", "acct:b", "acct:a", 120)).result(), "ok");
  const ScanPage page = Page(h.engine, ScanTable::kAccounts, "acct:a");
  ASSERT_EQ(page.rows.size(), 1u);
  const Reply& a = page.rows[0];
  EXPECT_EQ(Int(a, "balance"), 120);
  EXPECT_EQ(Int(a, "min"), 0);
  EXPECT_EQ(Str(a, "max"), "+inf");
  EXPECT_EQ(Int(a, "history_entries"), 1);
  const Reply b = Page(h.engine, ScanTable::kAccounts, "acct:b").rows.at(0);
  EXPECT_EQ(Int(b, "balance"), -120);
  EXPECT_EQ(Str(b, "min"), "-inf");
  EXPECT_EQ(Int(b, "max"), 500);
}

TEST(TableScanTest, LocksShowHolderAndWaiters) {
  Harness h;
  const Reply held = h.Run(LockCmd("job", "worker-1", 30'000));
  ASSERT_EQ(held.result(), "acquired");
  h.RunOut(LockCmd("job", "worker-2", 30'000, /*wait_ms=*/10'000));
  h.RunOut(LockCmd("job", "worker-3", 30'000, /*wait_ms=*/10'000));
  const Reply row = Page(h.engine, ScanTable::kLocks, "job").rows.at(0);
  EXPECT_EQ(Str(row, "state"), "held");
  EXPECT_EQ(Str(row, "holder"), "worker-1");
  EXPECT_EQ(Int(row, "token"), static_cast<int64_t>(Token(held)));
  EXPECT_EQ(Int(row, "waiting"), 2);
  const std::vector<Reply> waiters = List(row, "waiters");
  ASSERT_EQ(waiters.size(), 2u);
  EXPECT_EQ(Str(waiters[0], "owner"), "worker-2");
  EXPECT_EQ(Str(waiters[1], "owner"), "worker-3");
}

TEST(TableScanTest, LockWaitersShownAreBounded) {
  Harness h;
  ASSERT_EQ(h.Run(LockCmd("busy", "holder", 30'000)).result(), "acquired");
  for (size_t i = 0; i < kScanWaitersShownMax + 3; ++i) {
    h.RunOut(LockCmd("busy", "w" + std::to_string(i), 30'000, 10'000));
  }
  const Reply row = Page(h.engine, ScanTable::kLocks).rows.at(0);
  EXPECT_EQ(Int(row, "waiting"), static_cast<int64_t>(kScanWaitersShownMax + 3));
  EXPECT_EQ(List(row, "waiters").size(), kScanWaitersShownMax);
}

TEST(TableScanTest, IdemKeysAndLimits) {
  Harness h;
  const Reply run = h.Run(IdemBeginCmd("order:1", "fp"));
  ASSERT_EQ(run.result(), "run");
  ASSERT_EQ(h.Run(IdemBeginCmd("order:2")).result(), "run");
  ASSERT_EQ(h.Run(IdemEndCmd("order:1", Token(run), "stored response")).result(), "done");
  const Reply done = Page(h.engine, ScanTable::kIdem, "order:1").rows.at(0);
  EXPECT_EQ(Str(done, "state"), "done");
  EXPECT_EQ(Str(done, "fingerprint"), "fp");
  EXPECT_EQ(Int(done, "response_bytes"), 15);
  EXPECT_EQ(Str(Page(h.engine, ScanTable::kIdem, "order:2").rows.at(0), "state"), "running");

  ASSERT_EQ(h.Run(LimitWindowCmd("ip:1", 10, 60'000)).result(), "allowed");
  ASSERT_EQ(h.Run(LimitRateCmd("ip:2", 10, 1'000)).result(), "allowed");
  const Reply window = Page(h.engine, ScanTable::kLimits, "ip:1").rows.at(0);
  EXPECT_EQ(Str(window, "kind"), "window");
  EXPECT_EQ(Int(window, "count"), 1);
  EXPECT_EQ(Str(Page(h.engine, ScanTable::kLimits, "ip:2").rows.at(0), "kind"), "rate");
}

TEST(TableScanTest, MapPagesResumeEvenWhenTheCursorKeyLeft) {
  Harness h;
  std::vector<uint64_t> tokens;
  for (int i = 0; i < 30; ++i) {
    tokens.push_back(Token(h.Run(LockCmd("l" + std::to_string(i), "o", 60'000))));
  }
  const std::vector<std::string> keys = AllKeys(h.engine, ScanTable::kLocks, "", 7);
  EXPECT_EQ(keys.size(), 30u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 30u);

  // The first page's last key is released before the second page is asked for.
  const ScanPage first = Page(h.engine, ScanTable::kLocks, "", "", 7);
  ASSERT_EQ(first.rows.size(), 7u);
  const std::string last = Str(first.rows.back(), "key");
  const size_t index = static_cast<size_t>(std::stoi(last.substr(1)));
  ASSERT_EQ(h.Run(UnlockCmd(last, tokens[index])).result(), "released");
  const ScanPage second = Page(h.engine, ScanTable::kLocks, "", first.cursor, 100);
  // Resumed seven entries in (the erased one's place is taken by the next): the
  // rest of the table, nothing of the first page repeated.
  const std::vector<std::string> first_keys = Keys(first);
  const std::set<std::string> seen(first_keys.begin(), first_keys.end());
  for (const std::string& key : Keys(second)) EXPECT_EQ(seen.count(key), 0u) << key;
  EXPECT_GE(second.rows.size(), 21u);
}

TEST(TableScanTest, CursorsAreChecked) {
  EXPECT_TRUE(ValidScanCursor(ScanTable::kClaims, ""));
  EXPECT_TRUE(ValidScanCursor(ScanTable::kClaims, "12"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kClaims, "12x"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kClaims, "-1"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kClaims, "99999999999999999999999"));
  EXPECT_TRUE(ValidScanCursor(ScanTable::kLocks, "3:6c31"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kLocks, "3:6c3"));   // odd digits
  EXPECT_FALSE(ValidScanCursor(ScanTable::kLocks, "3:6C31"));  // upper case is not ours
  EXPECT_FALSE(ValidScanCursor(ScanTable::kLocks, "6c31"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kLocks, "3:"));
  EXPECT_FALSE(ValidScanCursor(ScanTable::kLocks, "3:" + std::string(2 * kKeyBytesMax + 2, 'a')));
  // A cursor past the end of a record table ends the listing.
  Harness h;
  ASSERT_EQ(h.Run(ClaimCmd("a", "o")).result(), "won");
  const ScanPage past = Page(h.engine, ScanTable::kClaims, "", "4000000000");
  EXPECT_TRUE(past.rows.empty());
  EXPECT_EQ(past.cursor, "");
}

TEST(TableScanTest, ScanningChangesNothing) {
  Harness h;
  ASSERT_EQ(h.Run(ClaimCmd("a", "o")).result(), "won");
  ASSERT_EQ(h.Run(LockCmd("l", "o", 1000)).result(), "acquired");
  const std::string before = h.engine.SaveState();
  for (const ScanTable table : kScanTables) Page(h.engine, table, "a");
  EXPECT_EQ(h.engine.SaveState(), before);
}

}  // namespace
}  // namespace exactly::core
