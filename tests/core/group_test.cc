// MULTI/EXEC: all or nothing, results per command, the failing one marked, the
// rest skipped, exact restoration on rollback, and what reaches the journal.
#include "core/group.h"

#include <gtest/gtest.h>

#include "core/engine_harness.h"
#include "core/engine_state.h"
#include "core/record_codec.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::BalanceCmd;
using testing::CancelCmd;
using testing::ClaimCmd;
using testing::ClaimOfCmd;
using testing::CommitCmd;
using testing::Finite;
using testing::GroupCmd;
using testing::Harness;
using testing::Infinite;
using testing::Int;
using testing::List;
using testing::ReserveCmd;
using testing::Str;
using testing::TransferCmd;
using testing::Ttl;
using testing::UnclaimCmd;

void Prepare(Harness& h) {
  h.Run(AccountCmd("bank", Infinite(), Infinite()));
  h.Run(AccountCmd("alice"));
  h.Run(AccountCmd("bob", Finite(0), Finite(500)));
  h.Run(TransferCmd("fund", "bank", "alice", 100));
  h.Run(ClaimCmd("seat:1", "carol", Ttl(60'000), false, "window seat"));
}

TEST(GroupTest, ExecutesAllAndLogsOnce) {
  Harness h;
  Prepare(h);
  const size_t records = h.records.size();
  Reply reply = h.Run(GroupCmd(
      {ClaimCmd("seat:2", "alice"), TransferCmd("pay", "alice", "bob", 40), BalanceCmd("alice")}));
  EXPECT_EQ(reply.result(), "executed");
  auto results = List(reply, "results");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result(), "won");
  EXPECT_EQ(results[1].result(), "ok");
  EXPECT_EQ(Int(results[2], "balance"), 60);
  EXPECT_TRUE(h.last_logged);
  EXPECT_EQ(h.records.size(), records + 1);
  // The journal holds the group with only the state-changing commands.
  auto decoded = DecodeRecord(h.records.back().second);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->commands.size(), 1u);
  ASSERT_EQ(decoded->commands[0].kind, CommandKind::kGroup);
  ASSERT_EQ(decoded->commands[0].group.size(), 2u);
  EXPECT_EQ(decoded->commands[0].group[1].As<cmd::Transfer>().id, "pay");
}

TEST(GroupTest, RefusalRollsBackExactly) {
  Harness h;
  Prepare(h);
  h.now_ms += 5;
  h.Run(BalanceCmd("alice"));  // moves the engine's clock, so only the group can differ
  const std::string before = h.engine.SaveState();
  const EngineStats stats_before = h.engine.stats();
  Reply reply = h.Run(GroupCmd({
      ClaimCmd("seat:2", "alice"),
      UnclaimCmd("seat:1", "carol"),
      TransferCmd("pay", "alice", "bob", 40),
      ReserveCmd("hold", "alice", "bob", 10, 1000),
      AccountCmd("dave"),
      TransferCmd("too-much", "alice", "bob", 1000),
      ClaimCmd("seat:3", "alice"),
  }));
  EXPECT_EQ(reply.result(), "rolled_back");
  auto results = List(reply, "results");
  ASSERT_EQ(results.size(), 7u);
  // Nothing the commands before the refusal did remains, and their elements say so
  // (never `won` or `ok` for an effect that was undone); each names its command.
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(results[i].result(), "rolled_back") << i;
    EXPECT_EQ(testing::FindField(results[i], "failed"), nullptr) << i;
  }
  EXPECT_EQ(Str(results[0], "key"), "seat:2");
  EXPECT_EQ(Str(results[1], "key"), "seat:1");
  EXPECT_EQ(Str(results[2], "id"), "pay");
  EXPECT_EQ(Str(results[3], "id"), "hold");
  EXPECT_EQ(Str(results[4], "key"), "dave");
  EXPECT_EQ(results[5].result(), "insufficient");
  EXPECT_EQ(Int(results[5], "failed"), 1);
  EXPECT_EQ(Str(results[5], "id"), "too-much");
  EXPECT_EQ(results[6].result(), "skipped");
  EXPECT_EQ(Str(results[6], "key"), "seat:3");
  EXPECT_TRUE(reply.wire_list_only);
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.engine.SaveState(), before);
  EXPECT_EQ(h.engine.stats().claims, stats_before.claims);
  EXPECT_EQ(h.engine.stats().pending, stats_before.pending);
  EXPECT_EQ(h.engine.stats().transfers, stats_before.transfers);
  EXPECT_EQ(h.engine.stats().accounts, stats_before.accounts);
  // The refused id was not remembered: it can succeed later.
  EXPECT_EQ(h.Run(TransferCmd("pay", "alice", "bob", 40)).result(), "ok");
  EXPECT_EQ(Str(h.Run(ClaimOfCmd("seat:1")), "owner"), "carol");
}

TEST(GroupTest, RolledBackExpiriesDoNotFire) {
  Harness h;
  Prepare(h);
  const std::string before = h.engine.SaveState();
  h.Run(GroupCmd({ClaimCmd("temp", "alice", Ttl(10)), ReserveCmd("r", "alice", "bob", 5, 10),
                  ClaimCmd("seat:1", "mallory")}));
  EXPECT_EQ(h.engine.SaveState(), before);
  h.now_ms += 20;
  h.Run(BalanceCmd("alice"));
  EXPECT_EQ(Int(h.Run(BalanceCmd("alice")), "balance"), 100);
  EXPECT_EQ(h.Run(ClaimOfCmd("temp")).result(), "free");
}

TEST(GroupTest, ErrorRollsBack) {
  Harness h;
  Prepare(h);
  const std::string before = h.engine.SaveState();
  Reply reply =
      h.Run(GroupCmd({TransferCmd("a", "alice", "bob", 1), TransferCmd("b", "alice", "alice", 1)}));
  EXPECT_EQ(reply.result(), "rolled_back");
  auto results = List(reply, "results");
  EXPECT_TRUE(results[1].is_error());
  EXPECT_EQ(h.engine.SaveState(), before);
}

TEST(GroupTest, ReserveAndCommitInOneGroup) {
  Harness h;
  Prepare(h);
  Reply reply = h.Run(GroupCmd({ReserveCmd("r", "alice", "bob", 25, 1000), CommitCmd("r")}));
  EXPECT_EQ(reply.result(), "executed");
  EXPECT_EQ(Int(h.Run(BalanceCmd("bob")), "balance"), 25);
  EXPECT_EQ(h.engine.stats().pending, 0u);
  // Committing again inside a group is a harmless repeat, cancelling answers the state.
  Reply repeat = h.Run(GroupCmd({CommitCmd("r"), CancelCmd("r")}));
  EXPECT_EQ(repeat.result(), "executed");
  EXPECT_FALSE(h.last_logged);
}

TEST(GroupTest, RolledBackReadOfItsOwnWriteWaitsForNothing) {
  // The group's read observes the account its own transfer changed; the rollback
  // undoes the transfer and nothing is logged, so no reply may wait for this
  // batch's LSN (it would never become durable: EXEC hung until the next write).
  Harness h;
  Prepare(h);
  Reply reply = h.Run(GroupCmd(
      {TransferCmd("pay", "bank", "alice", 1), BalanceCmd("alice"), ClaimCmd("seat:1", "dave")}));
  EXPECT_EQ(reply.result(), "rolled_back");
  EXPECT_FALSE(h.last_logged);
  EXPECT_LE(h.last_wait, h.engine.applied_lsn());
}

TEST(GroupTest, ReadOnlyGroupIsNotLogged) {
  Harness h;
  Prepare(h);
  Reply reply = h.Run(GroupCmd({BalanceCmd("alice"), ClaimOfCmd("seat:1"), BalanceCmd("ghost")}));
  EXPECT_EQ(reply.result(), "executed");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.last_wait, Lsn{5});
}

TEST(GroupTest, UndoLogRestoresInReverseOrder) {
  EngineState state;
  ClaimTable& claims = state.claims;
  ClaimSlot original;
  original.live = true;
  original.owner = "first";
  claims.Restore("k", original);
  UndoLog undo;
  const ClaimSlot saved_first = *claims.Find("k");
  undo.SaveClaim("k", &saved_first);
  ClaimSlot changed = original;
  changed.owner = "second";
  claims.Restore("k", changed);
  const ClaimSlot saved_second = *claims.Find("k");
  undo.SaveClaim("k", &saved_second);
  claims.Restore("k", std::nullopt);
  undo.SaveClaim("new", nullptr);
  claims.Restore("new", original);
  EXPECT_EQ(claims.live(), 1u);
  undo.Rollback(&state);
  EXPECT_TRUE(undo.empty());
  EXPECT_EQ(claims.Find("k")->owner, "first");
  EXPECT_FALSE(claims.Contains("new"));
  EXPECT_EQ(claims.live(), 1u);
}

}  // namespace
}  // namespace exactly::core
