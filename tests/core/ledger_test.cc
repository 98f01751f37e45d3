// Ledger: ACCOUNT, TRANSFER, RESERVE/COMMIT/CANCEL, BALANCE, HISTORY; bounds,
// int64 edges, first-outcome-final, PER ids, timeouts, table maxima.
#include "core/ledger.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/engine_harness.h"
#include "core/limits.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::BalanceCmd;
using testing::CancelCmd;
using testing::CommitCmd;
using testing::FieldNames;
using testing::Finite;
using testing::Harness;
using testing::HistoryCmd;
using testing::Infinite;
using testing::Int;
using testing::kT0;
using testing::List;
using testing::Per;
using testing::ReserveCmd;
using testing::Str;
using testing::TransferCmd;

constexpr Amount kMax = std::numeric_limits<Amount>::max();
constexpr Amount kMin = std::numeric_limits<Amount>::min();

// "bank" may go to -inf and funds everyone.
void Fund(Harness& h, const std::string& account, Amount amount) {
  h.Run(AccountCmd("bank", Infinite(), Infinite()));
  h.Run(AccountCmd(account));
  ASSERT_EQ(h.Run(TransferCmd("fund:" + account, "bank", account, amount)).result(), "ok");
}

Amount BalanceOf(Harness& h, const std::string& account) {
  return Int(h.Run(BalanceCmd(account)), "balance");
}

TEST(LedgerTest, AccountCreatedAgainAndConflictingBounds) {
  Harness h;
  Reply created = h.Run(AccountCmd("a", Finite(-5), Finite(100)));
  EXPECT_EQ(created.result(), "created");
  EXPECT_EQ(FieldNames(created), (std::vector<std::string_view>{"result", "key", "min", "max"}));
  EXPECT_EQ(Int(created, "min"), -5);
  EXPECT_EQ(Int(created, "max"), 100);
  EXPECT_TRUE(h.last_logged);
  Reply again = h.Run(AccountCmd("a", Finite(-5), Finite(100)));
  EXPECT_EQ(again.result(), "again");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.last_wait, Lsn{1});
  Reply other = h.Run(AccountCmd("a", Finite(0), Infinite()));
  EXPECT_TRUE(other.is_error());
  EXPECT_EQ(other.error_code, "ERR");
  EXPECT_EQ(other.error_message, "account a exists with other bounds (min -5, max 100)");
}

TEST(LedgerTest, AccountDefaultAndInfiniteBoundsRender) {
  Harness h;
  Reply created = h.Run(AccountCmd("a"));
  EXPECT_EQ(Int(created, "min"), 0);
  EXPECT_EQ(Str(created, "max"), "+inf");
  Reply both = h.Run(AccountCmd("b", Infinite(), Infinite()));
  EXPECT_EQ(Str(both, "min"), "-inf");
  EXPECT_EQ(Str(both, "max"), "+inf");
}

TEST(LedgerTest, AccountBoundErrors) {
  Harness h;
  Reply inverted = h.Run(AccountCmd("a", Finite(10), Finite(5)));
  EXPECT_TRUE(inverted.is_error());
  Reply above = h.Run(AccountCmd("a", Finite(1), Finite(5)));
  EXPECT_TRUE(above.is_error());
  EXPECT_EQ(above.error_message, "initial balance 0 is outside [1, 5]");
  Reply below = h.Run(AccountCmd("a", Infinite(), Finite(-1)));
  EXPECT_EQ(below.error_message, "initial balance 0 is outside [-inf, -1]");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.engine.stats().accounts, 0u);
  EXPECT_EQ(h.Run(AccountCmd("a", Finite(0), Finite(0))).result(), "created");
}

TEST(LedgerTest, TransferOkAndRepeat) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  Reply ok = h.Run(TransferCmd("t1", "alice", "bob", 30, {}, "rent"));
  EXPECT_EQ(ok.result(), "ok");
  EXPECT_EQ(FieldNames(ok), (std::vector<std::string_view>{"result", "id", "amount", "timestamp",
                                                           "window", "expires"}));
  EXPECT_EQ(Int(ok, "amount"), 30);
  EXPECT_EQ(Int(ok, "timestamp"), kT0);
  EXPECT_EQ(Int(ok, "window"), -1);
  EXPECT_EQ(Int(ok, "expires"), kT0 + kIdRetentionMsDefault);
  const Lsn logged_at = h.last_wait;
  h.now_ms += 7;
  Reply again = h.Run(TransferCmd("t1", "alice", "bob", 30));
  EXPECT_EQ(again.result(), "again");
  EXPECT_EQ(Int(again, "timestamp"), kT0);
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.last_wait, logged_at);
  EXPECT_EQ(BalanceOf(h, "alice"), 70);
  EXPECT_EQ(BalanceOf(h, "bob"), 30);
}

TEST(LedgerTest, IdConflictOnOtherFields) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  h.Run(AccountCmd("carol"));
  h.Run(TransferCmd("t1", "alice", "bob", 30));
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "bob", 31)).result(), "id_conflict");
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "carol", 30)).result(), "id_conflict");
  EXPECT_EQ(h.Run(TransferCmd("t1", "bob", "alice", 30)).result(), "id_conflict");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(BalanceOf(h, "alice"), 70);
}

TEST(LedgerTest, FromEqualsToIsAnError) {
  Harness h;
  Fund(h, "alice", 100);
  Reply reply = h.Run(TransferCmd("t1", "alice", "alice", 1));
  EXPECT_TRUE(reply.is_error());
  EXPECT_EQ(reply.error_message, "from and to must differ");
  EXPECT_FALSE(h.last_logged);
}

TEST(LedgerTest, NoAccountIsRemembered) {
  Harness h;
  h.Run(AccountCmd("alice"));
  Reply reply = h.Run(TransferCmd("t1", "alice", "ghost", 1));
  EXPECT_EQ(reply.result(), "no_account");
  EXPECT_TRUE(h.last_logged);
  h.Run(AccountCmd("ghost"));
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "ghost", 1)).result(), "no_account");
  EXPECT_FALSE(h.last_logged);
}

TEST(LedgerTest, InsufficientStaysInsufficientAfterFundsArrive) {
  Harness h;
  Fund(h, "alice", 10);
  h.Run(AccountCmd("bob"));
  Reply refused = h.Run(TransferCmd("t1", "alice", "bob", 11));
  EXPECT_EQ(refused.result(), "insufficient");
  EXPECT_EQ(Int(refused, "timestamp"), kT0);
  EXPECT_TRUE(h.last_logged);
  h.now_ms += 1000;
  ASSERT_EQ(h.Run(TransferCmd("more", "bank", "alice", 100)).result(), "ok");
  Reply retry = h.Run(TransferCmd("t1", "alice", "bob", 11));
  EXPECT_EQ(retry.result(), "insufficient");
  EXPECT_EQ(Int(retry, "timestamp"), kT0);
  EXPECT_EQ(BalanceOf(h, "bob"), 0);
  // Exactly the balance is fine.
  EXPECT_EQ(h.Run(TransferCmd("t2", "alice", "bob", 110)).result(), "ok");
  EXPECT_EQ(BalanceOf(h, "alice"), 0);
}

TEST(LedgerTest, OverMaxIsFinal) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("cap", Finite(0), Finite(50)));
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "cap", 51)).result(), "over_max");
  EXPECT_EQ(h.Run(TransferCmd("t2", "alice", "cap", 50)).result(), "ok");
  EXPECT_EQ(h.Run(TransferCmd("t3", "alice", "cap", 1)).result(), "over_max");
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "cap", 51)).result(), "over_max");
}

TEST(LedgerTest, NegativeMinAllowsOverdraft) {
  Harness h;
  h.Run(AccountCmd("a", Finite(-100), Infinite()));
  h.Run(AccountCmd("b"));
  EXPECT_EQ(h.Run(TransferCmd("t1", "a", "b", 100)).result(), "ok");
  EXPECT_EQ(h.Run(TransferCmd("t2", "a", "b", 1)).result(), "insufficient");
  EXPECT_EQ(BalanceOf(h, "a"), -100);
}

TEST(LedgerTest, Int64EdgesNeverWrap) {
  Harness h;
  h.Run(AccountCmd("src", Infinite(), Infinite()));
  h.Run(AccountCmd("sink", Infinite(), Infinite()));
  EXPECT_EQ(h.Run(TransferCmd("t1", "src", "sink", kMax)).result(), "ok");
  EXPECT_EQ(BalanceOf(h, "sink"), kMax);
  EXPECT_EQ(BalanceOf(h, "src"), -kMax);
  // sink at INT64_MAX with MAX +inf: one more would overflow (src could pay it).
  EXPECT_EQ(h.Run(TransferCmd("t2", "src", "sink", 1)).result(), "over_max");
  h.Run(AccountCmd("other", Infinite(), Infinite()));
  EXPECT_EQ(h.Run(TransferCmd("t3", "other", "sink", 1)).result(), "over_max");
  // src at -INT64_MAX: can go one lower, to INT64_MIN, and no further.
  EXPECT_EQ(h.Run(TransferCmd("t4", "src", "other", 1)).result(), "ok");
  EXPECT_EQ(BalanceOf(h, "src"), kMin);
  EXPECT_EQ(h.Run(TransferCmd("t5", "src", "other", 1)).result(), "insufficient");
  EXPECT_EQ(h.Run(TransferCmd("t6", "sink", "src", kMax)).result(), "ok");
  EXPECT_EQ(BalanceOf(h, "src"), -1);
}

TEST(LedgerTest, ReservationOverflowIsRefused) {
  Harness h;
  h.Run(AccountCmd("src", Infinite(), Infinite()));
  h.Run(AccountCmd("sink", Infinite(), Infinite()));
  EXPECT_EQ(h.Run(ReserveCmd("r1", "src", "sink", kMax, 1000)).result(), "pending");
  EXPECT_EQ(h.Run(ReserveCmd("r2", "src", "sink", 1, 1000)).result(), "insufficient");
  h.Run(AccountCmd("third", Infinite(), Infinite()));
  EXPECT_EQ(h.Run(ReserveCmd("r3", "third", "sink", 1, 1000)).result(), "over_max");
  EXPECT_EQ(h.Run(CommitCmd("r1")).result(), "committed");
  EXPECT_EQ(BalanceOf(h, "sink"), kMax);
}

TEST(LedgerTest, BalanceFieldsAndMissingAccount) {
  Harness h;
  Reply missing = h.Run(BalanceCmd("ghost"));
  EXPECT_EQ(missing.result(), "no_account");
  EXPECT_EQ(FieldNames(missing), (std::vector<std::string_view>{"result"}));
  h.Run(AccountCmd("a", Finite(-10), Finite(1000)));
  Reply balance = h.Run(BalanceCmd("a"));
  EXPECT_EQ(balance.result(), "ok");
  EXPECT_EQ(FieldNames(balance), (std::vector<std::string_view>{"result", "balance", "reserved",
                                                                "min", "max", "incoming"}));
  EXPECT_EQ(Int(balance, "min"), -10);
  EXPECT_EQ(Int(balance, "max"), 1000);
}

TEST(LedgerTest, PerWindowIdIsForgottenAtWindowEnd) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  const int64_t day = 86'400'000;
  const int64_t start = (kT0 / day) * day;
  Reply first = h.Run(TransferCmd("daily", "alice", "bob", 1, Per(Period::kDay)));
  EXPECT_EQ(first.result(), "ok");
  EXPECT_EQ(Int(first, "window"), start);
  EXPECT_EQ(Int(first, "expires"), start + day);
  h.now_ms = start + day - 1;
  EXPECT_EQ(h.Run(TransferCmd("daily", "alice", "bob", 1, Per(Period::kDay))).result(), "again");
  h.now_ms = start + day;
  Reply next = h.Run(TransferCmd("daily", "alice", "bob", 1, Per(Period::kDay)));
  EXPECT_EQ(next.result(), "ok");
  EXPECT_EQ(Int(next, "window"), start + day);
  EXPECT_EQ(BalanceOf(h, "bob"), 2);
}

TEST(LedgerTest, IdsAreForgottenAfterRetention) {
  EngineConfig config;
  config.id_retention_ms = 1000;
  Harness h(config);
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  h.Run(TransferCmd("t1", "alice", "bob", 1));
  EXPECT_EQ(h.engine.stats().transfers, 2u);
  h.now_ms = kT0 + 999;
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "bob", 1)).result(), "again");
  h.now_ms = kT0 + 1000;
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "bob", 1)).result(), "ok");
  // The funding id and the first t1 were forgotten; the new t1 is remembered.
  EXPECT_EQ(h.engine.stats().transfers, 1u);
  EXPECT_EQ(BalanceOf(h, "bob"), 2);
}

TEST(LedgerTest, ReserveCountsAgainstBothBounds) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("cap", Finite(0), Finite(80)));
  Reply pending = h.Run(ReserveCmd("r1", "alice", "cap", 60, 5000));
  EXPECT_EQ(pending.result(), "pending");
  EXPECT_EQ(Int(pending, "expires"), kT0 + 5000);
  EXPECT_EQ(Int(pending, "window"), -1);
  Reply balance = h.Run(BalanceCmd("alice"));
  EXPECT_EQ(Int(balance, "balance"), 100);
  EXPECT_EQ(Int(balance, "reserved"), 60);
  EXPECT_EQ(Int(h.Run(BalanceCmd("cap")), "incoming"), 60);
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "cap", 41)).result(), "insufficient");
  EXPECT_EQ(h.Run(TransferCmd("t2", "alice", "cap", 21)).result(), "over_max");
  EXPECT_EQ(h.Run(TransferCmd("t3", "alice", "cap", 20)).result(), "ok");
  EXPECT_EQ(h.engine.stats().pending, 1u);
}

TEST(LedgerTest, CommitMovesMoneyOnce) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000));
  EXPECT_EQ(h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000)).result(), "again");
  EXPECT_FALSE(h.last_logged);
  h.now_ms += 10;
  Reply committed = h.Run(CommitCmd("r1"));
  EXPECT_EQ(committed.result(), "committed");
  EXPECT_EQ(Int(committed, "timestamp"), kT0 + 10);
  EXPECT_TRUE(h.last_logged);
  Reply again = h.Run(CommitCmd("r1"));
  EXPECT_EQ(again.result(), "again");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.Run(CancelCmd("r1")).result(), "committed");
  EXPECT_EQ(h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000)).result(), "committed");
  Reply alice = h.Run(BalanceCmd("alice"));
  EXPECT_EQ(Int(alice, "balance"), 40);
  EXPECT_EQ(Int(alice, "reserved"), 0);
  EXPECT_EQ(Int(h.Run(BalanceCmd("bob")), "balance"), 60);
  EXPECT_EQ(Int(h.Run(BalanceCmd("bob")), "incoming"), 0);
  EXPECT_EQ(h.engine.stats().pending, 0u);
}

TEST(LedgerTest, CancelReleases) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000));
  EXPECT_EQ(h.Run(CancelCmd("r1")).result(), "cancelled");
  EXPECT_EQ(h.Run(CancelCmd("r1")).result(), "again");
  EXPECT_EQ(h.Run(CommitCmd("r1")).result(), "cancelled");
  EXPECT_EQ(Int(h.Run(BalanceCmd("alice")), "reserved"), 0);
  EXPECT_EQ(BalanceOf(h, "alice"), 100);
  EXPECT_EQ(h.Run(TransferCmd("t1", "alice", "bob", 100)).result(), "ok");
}

TEST(LedgerTest, TimeoutReleasesAndAnswersTimedOut) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000));
  h.now_ms = kT0 + 4999;
  EXPECT_EQ(Int(h.Run(BalanceCmd("alice")), "reserved"), 60);
  h.now_ms = kT0 + 5000;
  EXPECT_EQ(Int(h.Run(BalanceCmd("alice")), "reserved"), 0);
  EXPECT_EQ(h.Run(CommitCmd("r1")).result(), "timed_out");
  EXPECT_EQ(h.Run(CancelCmd("r1")).result(), "timed_out");
  EXPECT_EQ(h.Run(ReserveCmd("r1", "alice", "bob", 60, 5000)).result(), "timed_out");
  auto history = List(h.Run(HistoryCmd("alice")), "entries");
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(Str(history[0], "kind"), "timeout");
  EXPECT_EQ(Int(history[0], "at"), kT0 + 5000);
  EXPECT_EQ(Str(history[0], "id"), "r1");
  EXPECT_EQ(h.engine.stats().pending, 0u);
}

TEST(LedgerTest, UnknownAndMismatchedReservationIds) {
  Harness h;
  Fund(h, "alice", 100);
  h.Run(AccountCmd("bob"));
  Reply unknown = h.Run(CommitCmd("nope"));
  EXPECT_EQ(unknown.result(), "no_transfer");
  EXPECT_EQ(Str(unknown, "id"), "nope");
  EXPECT_EQ(h.Run(CancelCmd("nope")).result(), "no_transfer");
  h.Run(TransferCmd("t1", "alice", "bob", 1));
  EXPECT_EQ(h.Run(CommitCmd("t1")).result(), "no_transfer");
  EXPECT_EQ(h.Run(ReserveCmd("t1", "alice", "bob", 1, 100)).result(), "id_conflict");
  h.Run(ReserveCmd("r1", "alice", "bob", 5, 100));
  EXPECT_EQ(h.Run(TransferCmd("r1", "alice", "bob", 5)).result(), "id_conflict");
  EXPECT_EQ(h.Run(ReserveCmd("r1", "alice", "bob", 6, 100)).result(), "id_conflict");
  EXPECT_EQ(h.Run(ReserveCmd("big", "alice", "bob", 1000, 100)).result(), "insufficient");
  EXPECT_EQ(h.Run(CommitCmd("big")).result(), "insufficient");
  EXPECT_EQ(h.Run(CancelCmd("big")).result(), "insufficient");
  EXPECT_EQ(h.Run(ReserveCmd("big", "alice", "bob", 1000, 100)).result(), "insufficient");
}

TEST(LedgerTest, HistoryNewestFirstSignedAndBounded) {
  Harness h;
  Fund(h, "alice", 1000);
  h.Run(AccountCmd("bob"));
  h.Run(TransferCmd("t1", "alice", "bob", 30, {}, "lunch"));
  auto alice = List(h.Run(HistoryCmd("alice")), "entries");
  ASSERT_EQ(alice.size(), 2u);
  EXPECT_EQ(FieldNames(alice[0]),
            (std::vector<std::string_view>{"id", "amount", "balance", "at", "kind", "note"}));
  EXPECT_EQ(Str(alice[0], "id"), "t1");
  EXPECT_EQ(Int(alice[0], "amount"), -30);
  EXPECT_EQ(Int(alice[0], "balance"), 970);
  EXPECT_EQ(Str(alice[0], "kind"), "transfer");
  EXPECT_EQ(Str(alice[0], "note"), "lunch");
  auto bob = List(h.Run(HistoryCmd("bob")), "entries");
  EXPECT_EQ(Int(bob[0], "amount"), 30);
  for (size_t i = 0; i < kHistoryPerAccountMax; ++i) {
    h.Run(TransferCmd("x" + std::to_string(i), "alice", "bob", 1));
  }
  EXPECT_EQ(List(h.Run(HistoryCmd("alice", kCountMax)), "entries").size(), kHistoryPerAccountMax);
  EXPECT_EQ(List(h.Run(HistoryCmd("alice", 3)), "entries").size(), 3u);
  EXPECT_EQ(List(h.Run(HistoryCmd("alice")), "entries").size(), size_t(kCountDefault));
  EXPECT_EQ(h.Run(HistoryCmd("ghost")).result(), "no_account");
}

TEST(LedgerTest, TableMaxima) {
  EngineConfig config;
  config.accounts_max = 2;
  config.transfers_max = 1;
  Harness h(config);
  h.Run(AccountCmd("a", Infinite(), Infinite()));
  h.Run(AccountCmd("b"));
  Reply full = h.Run(AccountCmd("c"));
  EXPECT_TRUE(full.is_error());
  EXPECT_EQ(full.error_message, "accounts table full (max 2)");
  EXPECT_EQ(h.Run(AccountCmd("b")).result(), "again");
  EXPECT_EQ(h.Run(TransferCmd("t1", "a", "b", 1)).result(), "ok");
  Reply ids_full = h.Run(TransferCmd("t2", "a", "b", 1));
  EXPECT_TRUE(ids_full.is_error());
  EXPECT_EQ(ids_full.error_message, "transfers table full (max 1)");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.Run(TransferCmd("t1", "a", "b", 1)).result(), "again");
}

// Storage (ledger.cc on RecordStores): many accounts and ids through several index
// growths, ids forgotten and their handles reused, reservations timing out, and
// a snapshot that loads into the same bytes.
TEST(LedgerStorageTest, ManyAccountsAndIdsThroughGrowthForgetAndReuse) {
  EngineConfig config;
  config.id_retention_ms = 50;
  Harness h(config);
  ASSERT_EQ(h.Run(AccountCmd("bank", Infinite(), Infinite())).result(), "created");
  constexpr int kAccounts = 3000;
  for (int i = 0; i < kAccounts; ++i) {
    ASSERT_EQ(h.Run(AccountCmd("a" + std::to_string(i), Finite(-5), Finite(1000))).result(),
              "created");
  }
  EXPECT_EQ(h.Run(AccountCmd("a7", Finite(-5), Finite(1000))).result(), "again");
  constexpr int kIds = 12000;
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "t" + std::to_string(i);
    const std::string to = "a" + std::to_string(i % kAccounts);
    Reply reply = i % 10 == 9   ? h.Run(TransferCmd(id, "bank", "ghost", 1))
                  : i % 10 == 8 ? h.Run(ReserveCmd(id, "bank", to, 2, 30))
                                : h.Run(TransferCmd(id, "bank", to, 1, {}, i % 4 == 0 ? "n" : ""));
    ASSERT_EQ(reply.result(), i % 10 == 9 ? "no_account" : i % 10 == 8 ? "pending" : "ok") << id;
  }
  // Repeats answer the first outcome, with the stored names.
  EXPECT_EQ(h.Run(TransferCmd("t0", "bank", "a0", 1)).result(), "again");
  EXPECT_EQ(h.Run(TransferCmd("t0", "bank", "a1", 1)).result(), "id_conflict");
  EXPECT_EQ(h.Run(TransferCmd("t9", "bank", "ghost", 1)).result(), "no_account");
  EXPECT_EQ(h.Run(CommitCmd("t8")).result(), "committed");
  EXPECT_EQ(h.engine.stats().transfers, static_cast<size_t>(kIds));
  EXPECT_EQ(h.engine.stats().accounts, static_cast<size_t>(kAccounts + 1));
  const std::string before = h.engine.SaveState();
  EXPECT_EQ(h.Replayed(config)->SaveState(), before);
  Engine loaded(config);
  ASSERT_TRUE(loaded.LoadState(before).ok());
  EXPECT_EQ(loaded.SaveState(), before);

  // Past the reservations' timeout: each account got back what was reserved.
  h.now_ms += 31;
  Reply balance = h.Run(BalanceCmd("a8"));
  EXPECT_EQ(Int(balance, "incoming"), 0);
  EXPECT_EQ(Int(balance, "balance"), 2);  // t8 committed; t3008, t6008, t9008 timed out
  EXPECT_EQ(h.engine.stats().pending, 0u);
  const auto& history = List(h.Run(HistoryCmd("a8", 3)), "entries");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(Str(history[0], "kind"), "timeout");
  // Past the retention: every id is forgotten; new ids take the freed handles.
  h.now_ms += 200;
  h.Run(BalanceCmd("bank"));
  EXPECT_EQ(h.engine.stats().transfers, 0u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(h.Run(TransferCmd("t" + std::to_string(i), "bank", "a1", 1)).result(), "ok");
  }
  EXPECT_EQ(h.engine.stats().transfers, 100u);
  h.now_ms += 10;  // not yet their retention: no stale entry forgets them early
  h.Run(BalanceCmd("bank"));
  EXPECT_EQ(h.engine.stats().transfers, 100u);
  EXPECT_EQ(h.Run(TransferCmd("t5", "bank", "a1", 1)).result(), "again");
}

// A group that creates an account and moves money into it rolls back to the
// same bytes, history included.
TEST(LedgerStorageTest, RolledBackGroupLeavesTheSameBytes) {
  Harness h;
  h.Run(AccountCmd("bank", Infinite(), Infinite()));
  h.Run(AccountCmd("a"));
  h.Run(TransferCmd("t1", "bank", "a", 5, {}, "first"));
  const std::string before = h.engine.SaveState();
  Reply reply =
      h.Run(testing::GroupCmd({AccountCmd("b"), TransferCmd("t2", "bank", "b", 3),
                               TransferCmd("t3", "a", "b", 4), TransferCmd("t4", "a", "b", 9)}));
  EXPECT_EQ(reply.result(), "rolled_back");
  EXPECT_EQ(h.engine.SaveState(), before);
  EXPECT_EQ(h.Run(BalanceCmd("b")).result(), "no_account");
  EXPECT_EQ(List(h.Run(HistoryCmd("a")), "entries").size(), 1u);
}

}  // namespace
}  // namespace exactly::core
