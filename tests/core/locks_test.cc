// Locks: every outcome, re-entry, leases, fencing tokens across snapshots and
// replay, FIFO waiters (granted in order, skipped when timed out or cancelled),
// lease-end grants through the journal, IFLOCK and groups.
#include "core/locks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <random>
#include <set>

#include "core/engine_harness.h"
#include "core/record_codec.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::CancelWaiterCmd;
using testing::ClaimCmd;
using testing::DropWaitersCmd;
using testing::FenceCmd;
using testing::FieldNames;
using testing::GroupCmd;
using testing::Harness;
using testing::IfLock;
using testing::Int;
using testing::kT0;
using testing::LockCmd;
using testing::RenewCmd;
using testing::ReplyText;
using testing::Str;
using testing::Token;
using testing::TransferCmd;
using testing::UnlockCmd;

TEST(LocksTest, AcquireReenterBusyAndRelease) {
  Harness h;
  Reply first = h.Run(LockCmd("L", "alice", 1000));
  EXPECT_EQ(first.result(), "acquired");
  EXPECT_EQ(FieldNames(first),
            (std::vector<std::string_view>{"result", "token", "depth", "expires"}));
  EXPECT_EQ(Int(first, "depth"), 1);
  EXPECT_EQ(Int(first, "expires"), kT0 + 1000);
  EXPECT_TRUE(h.last_logged);
  const uint64_t token = Token(first);
  EXPECT_GT(token, 0u);

  h.now_ms += 10;
  Reply again = h.Run(LockCmd("L", "alice", 2000));
  EXPECT_EQ(again.result(), "reentered");
  EXPECT_EQ(Token(again), token);
  EXPECT_EQ(Int(again, "depth"), 2);
  EXPECT_EQ(Int(again, "expires"), kT0 + 10 + 2000);

  Reply busy = h.Run(LockCmd("L", "bob", 1000));
  EXPECT_EQ(busy.result(), "busy");
  EXPECT_EQ(FieldNames(busy),
            (std::vector<std::string_view>{"result", "token", "depth", "expires", "holder"}));
  EXPECT_EQ(Int(busy, "token"), -1);
  EXPECT_EQ(Int(busy, "depth"), 0);
  EXPECT_EQ(Int(busy, "expires"), kT0 + 2010);
  EXPECT_EQ(Str(busy, "holder"), "alice");
  EXPECT_FALSE(h.last_logged);

  Reply inner = h.Run(UnlockCmd("L", token));
  EXPECT_EQ(inner.result(), "released");
  EXPECT_EQ(Int(inner, "depth"), 1);
  // S4: the nested call's unlock leaves the lock held until the outer one.
  EXPECT_EQ(h.Run(LockCmd("L", "bob", 1000)).result(), "busy");
  EXPECT_EQ(h.Run(FenceCmd("L", token)).result(), "valid");
  Reply outer = h.Run(UnlockCmd("L", token));
  EXPECT_EQ(outer.result(), "released");
  EXPECT_EQ(Int(outer, "depth"), 0);
  EXPECT_EQ(Int(outer, "expires"), -1);

  Reply fence = h.Run(FenceCmd("L", token));
  EXPECT_EQ(fence.result(), "stale");
  EXPECT_EQ(Int(fence, "depth"), 0);
  EXPECT_EQ(h.Run(UnlockCmd("L", token)).result(), "stale");
  EXPECT_EQ(h.Run(RenewCmd("L", token, 100)).result(), "stale");
  Reply bob = h.Run(LockCmd("L", "bob", 1000));
  EXPECT_EQ(bob.result(), "acquired");
  EXPECT_GT(Token(bob), token);
  EXPECT_EQ(h.engine.stats().locks, 1u);
}

TEST(LocksTest, LeaseEndMakesTheTokenStaleAtOnce) {
  Harness h;
  const uint64_t token = Token(h.Run(LockCmd("L", "a", 100)));
  h.now_ms += 99;
  Reply valid = h.Run(FenceCmd("L", token));
  EXPECT_EQ(valid.result(), "valid");
  EXPECT_EQ(h.last_wait, Lsn{1});
  EXPECT_FALSE(h.last_logged);
  Reply renewed = h.Run(RenewCmd("L", token, 100));
  EXPECT_EQ(renewed.result(), "renewed");
  EXPECT_EQ(Int(renewed, "expires"), kT0 + 199);
  h.now_ms = kT0 + 199;
  EXPECT_EQ(h.Run(FenceCmd("L", token)).result(), "stale");
  EXPECT_EQ(h.Run(RenewCmd("L", token, 100)).result(), "stale");
  Reply next = h.Run(LockCmd("L", "b", 100));
  EXPECT_EQ(next.result(), "acquired");
  EXPECT_GT(Token(next), token);
  EXPECT_EQ(h.Run(FenceCmd("L", token + 100)).result(), "stale");
}

TEST(LocksTest, TwentyWaitersAreGrantedInOrderSkippingTimedOutAndCancelled) {
  Harness h;
  uint64_t token = Token(h.Run(LockCmd("L", "holder", 60'000)));
  std::vector<uint64_t> waiters;
  for (int i = 0; i < 20; ++i) {
    // Waiter 5 gives up after 50 ms; the others wait long.
    BatchOutput out =
        h.RunOut(LockCmd("L", "w" + std::to_string(i), 60'000, i == 5 ? 50 : 600'000));
    ASSERT_EQ(out.parked.size(), 1u);
    ASSERT_NE(out.parked[0], 0u) << i;
    EXPECT_TRUE(out.replies[0].fields.empty());
    EXPECT_FALSE(out.record.empty());  // the queue is durable state
    waiters.push_back(out.parked[0]);
  }
  EXPECT_EQ(h.engine.stats().waiters, 20u);
  EXPECT_EQ(h.engine.NextWakeMs(), kT0 + 50);
  // Waiter 9's client disconnects.
  EXPECT_EQ(h.Run(CancelWaiterCmd(waiters[9])).result(), "cancelled");
  EXPECT_TRUE(h.last_logged);
  EXPECT_EQ(h.Run(CancelWaiterCmd(waiters[9])).result(), "again");
  EXPECT_FALSE(h.last_logged);

  h.now_ms = kT0 + 50;
  BatchOutput timeout = h.Batch({});
  ASSERT_EQ(timeout.wakes.size(), 1u);
  EXPECT_EQ(timeout.wakes[0].waiter, waiters[5]);
  EXPECT_EQ(timeout.wakes[0].reply.result(), "busy");
  EXPECT_EQ(Str(timeout.wakes[0].reply, "holder"), "holder");
  EXPECT_EQ(h.engine.stats().waiters, 18u);

  std::vector<uint64_t> granted;
  for (int round = 0; round < 18; ++round) {
    h.now_ms += 1;
    BatchOutput out = h.RunOut(UnlockCmd("L", token));
    ASSERT_EQ(out.replies[0].result(), "released") << round;
    ASSERT_EQ(out.wakes.size(), 1u) << round;
    const Reply& wake = out.wakes[0].reply;
    EXPECT_EQ(wake.result(), "acquired");
    EXPECT_EQ(Int(wake, "expires"), h.now_ms + 60'000);
    EXPECT_EQ(out.wakes[0].wait_lsn, h.records.back().first);
    EXPECT_GT(Token(wake), token);
    token = Token(wake);
    granted.push_back(out.wakes[0].waiter);
  }
  std::vector<uint64_t> expected;
  for (int i = 0; i < 20; ++i) {
    if (i != 5 && i != 9) expected.push_back(waiters[i]);
  }
  EXPECT_EQ(granted, expected);
  EXPECT_EQ(h.engine.stats().waiters, 0u);
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(LocksTest, LeaseEndGrantsTheNextWaiterThroughTheJournal) {
  Harness h;
  const uint64_t first = Token(h.Run(LockCmd("L", "a", 100)));
  BatchOutput parked = h.RunOut(LockCmd("L", "b", 500, 10'000));
  ASSERT_NE(parked.parked[0], 0u);
  EXPECT_EQ(h.engine.NextWakeMs(), kT0 + 100);
  const size_t records = h.records.size();

  // The server runs an empty batch late, at 150: the grant is stamped at the lease
  // end (100), so the new lease runs from there.
  h.now_ms = kT0 + 150;
  BatchOutput out = h.Batch({});
  ASSERT_EQ(out.wakes.size(), 1u);
  EXPECT_EQ(out.wakes[0].waiter, parked.parked[0]);
  const Reply& wake = out.wakes[0].reply;
  EXPECT_EQ(wake.result(), "acquired");
  EXPECT_EQ(Int(wake, "expires"), kT0 + 100 + 500);
  EXPECT_GT(Token(wake), first);
  ASSERT_EQ(h.records.size(), records + 1);  // the grant has a record
  EXPECT_EQ(out.wakes[0].wait_lsn, h.records.back().first);
  auto decoded = DecodeRecord(out.record);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->commands.empty());
  EXPECT_EQ(decoded->timestamp_ms, kT0 + 150);

  auto replayed = h.Replayed();
  EXPECT_EQ(replayed->SaveState(), h.engine.SaveState());
  std::vector<Command> fence{FenceCmd("L", Token(wake))};
  BatchOutput check;
  replayed->ApplyBatch(fence, TimestampMs{kT0 + 200}, h.next_lsn, &check);
  EXPECT_EQ(check.replies[0].result(), "valid");
  EXPECT_EQ(Int(check.replies[0], "expires"), kT0 + 600);
  // The granted waiter's deadline stays queued as a wake time: at worst one empty
  // batch, never a missed one.
  EXPECT_EQ(h.engine.NextWakeMs(), kT0 + 10'000);
}

TEST(LocksTest, TokensKeepIncreasingAcrossSnapshotsAndReplay) {
  Harness h;
  uint64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    const uint64_t token = Token(h.Run(LockCmd("L" + std::to_string(i % 2), "o", 10)));
    EXPECT_GT(token, last);
    last = token;
    h.now_ms += 20;
  }
  Engine restored;
  ASSERT_TRUE(restored.LoadState(h.engine.SaveState()).ok());
  auto replayed = h.Replayed();
  for (Engine* engine : {&restored, replayed.get()}) {
    std::vector<Command> lock{LockCmd("L0", "p", 10)};
    BatchOutput out;
    engine->ApplyBatch(lock, TimestampMs{h.now_ms}, h.next_lsn, &out);
    EXPECT_EQ(out.replies[0].result(), "acquired");
    EXPECT_EQ(Token(out.replies[0]), last + 1);
  }
}

TEST(LocksTest, IfLockRefusesUnlessTheTokenHolds) {
  Harness h;
  h.Run(AccountCmd("bank", testing::Infinite(), testing::Infinite()));
  h.Run(AccountCmd("a"));
  const uint64_t token = Token(h.Run(LockCmd("L", "a", 1000)));
  Reply ok = h.Run(IfLock(TransferCmd("t1", "bank", "a", 5), "L", token));
  EXPECT_EQ(ok.result(), "ok");
  Reply stale = h.Run(IfLock(TransferCmd("t2", "bank", "a", 5), "L", token + 1));
  EXPECT_EQ(ReplyText(stale), "{result='stale' }");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.Run(IfLock(ClaimCmd("c", "x"), "other", token)).result(), "stale");
  h.now_ms += 1000;  // the lease ended: the token is stale without any batch noticing
  EXPECT_EQ(h.Run(IfLock(TransferCmd("t3", "bank", "a", 5), "L", token)).result(), "stale");
  // Inside a group, stale is a refusal and rolls the group back.
  Reply group = h.Run(GroupCmd({ClaimCmd("g", "x"), IfLock(ClaimCmd("h", "x"), "L", token)}));
  EXPECT_EQ(group.result(), "rolled_back");
  EXPECT_EQ(h.Run(testing::ClaimOfCmd("g")).result(), "free");
}

TEST(LocksTest, RequestIdAnswersTheFirstReply) {
  Harness h;
  Reply first = h.Run(LockCmd("L", "a", 1000, 0, "req-1"));
  EXPECT_EQ(first.result(), "acquired");
  h.now_ms += 5;
  Reply repeat = h.Run(LockCmd("L", "a", 1000, 0, "req-1"));
  EXPECT_EQ(ReplyText(repeat), ReplyText(first));  // not a re-entry
  EXPECT_EQ(h.Run(FenceCmd("L", Token(first))).result(), "valid");
  EXPECT_EQ(Int(h.Run(UnlockCmd("L", Token(first))), "depth"), 0);

  Reply busy_first = h.Run(LockCmd("M", "x", 1000));
  Reply busy = h.Run(LockCmd("M", "b", 1000, 0, "req-2"));
  EXPECT_EQ(busy.result(), "busy");
  EXPECT_TRUE(h.last_logged);  // the remembered reply is durable
  h.Run(UnlockCmd("M", Token(busy_first)));
  EXPECT_EQ(ReplyText(h.Run(LockCmd("M", "b", 1000, 0, "req-2"))), ReplyText(busy));
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(LocksTest, ParkedRequestIdIsAnsweredByItsGrant) {
  Harness h;
  const uint64_t token = Token(h.Run(LockCmd("L", "a", 1000)));
  BatchOutput parked = h.RunOut(LockCmd("L", "b", 1000, 5000, "req"));
  ASSERT_NE(parked.parked[0], 0u);
  EXPECT_EQ(h.Run(LockCmd("L", "b", 1000, 5000, "req")).result(), "busy");  // still parked
  BatchOutput out = h.RunOut(UnlockCmd("L", token));
  ASSERT_EQ(out.wakes.size(), 1u);
  EXPECT_EQ(ReplyText(h.Run(LockCmd("L", "b", 1000, 5000, "req"))), ReplyText(out.wakes[0].reply));
}

TEST(LocksTest, GroupRollbackUndoesLocksAndTokens) {
  Harness h;
  h.Run(ClaimCmd("taken", "someone"));
  Reply group = h.Run(GroupCmd({LockCmd("L", "a", 1000), ClaimCmd("taken", "me")}));
  EXPECT_EQ(group.result(), "rolled_back");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.engine.stats().locks, 0u);
  Reply after = h.Run(LockCmd("L", "a", 1000));
  EXPECT_EQ(Token(after), 1u);  // the rolled-back grant left no gap
  // WAIT inside a group never parks: the group sees busy and rolls back.
  BatchOutput out = h.RunOut(GroupCmd({ClaimCmd("x", "me"), LockCmd("L", "b", 1000, 5000)}));
  EXPECT_EQ(out.replies[0].result(), "rolled_back");
  EXPECT_EQ(out.parked[0], 0u);
  // UNLOCK in a rolled-back group grants nothing to a waiter.
  BatchOutput parked = h.RunOut(LockCmd("L", "c", 1000, 5000));
  ASSERT_NE(parked.parked[0], 0u);
  BatchOutput undone = h.RunOut(GroupCmd({UnlockCmd("L", Token(after)), ClaimCmd("taken", "me")}));
  EXPECT_EQ(undone.replies[0].result(), "rolled_back");
  EXPECT_TRUE(undone.wakes.empty());
  EXPECT_EQ(h.Run(FenceCmd("L", Token(after))).result(), "valid");
  BatchOutput done = h.RunOut(GroupCmd({UnlockCmd("L", Token(after)), ClaimCmd("free", "me")}));
  EXPECT_EQ(done.replies[0].result(), "executed");
  ASSERT_EQ(done.wakes.size(), 1u);
  EXPECT_EQ(done.wakes[0].waiter, parked.parked[0]);
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(LocksTest, DropWaitersForgetsEveryParkedCommand) {
  Harness h;
  h.Run(LockCmd("L", "a", 1000));
  h.RunOut(LockCmd("L", "b", 1000, 5000, "id"));
  h.RunOut(LockCmd("L", "c", 1000, 5000));
  EXPECT_EQ(h.engine.stats().waiters, 2u);
  EXPECT_EQ(h.Run(DropWaitersCmd()).result(), "ok");
  EXPECT_TRUE(h.last_logged);
  EXPECT_EQ(h.engine.stats().waiters, 0u);
  h.Run(DropWaitersCmd());
  EXPECT_FALSE(h.last_logged);
  h.now_ms += 1000;
  BatchOutput out = h.Batch({});
  EXPECT_TRUE(out.wakes.empty());
  EXPECT_EQ(h.engine.stats().locks, 0u);
  // The dropped request id was never answered, so it is not remembered.
  EXPECT_EQ(h.Run(LockCmd("L", "b", 1000, 0, "id")).result(), "acquired");
}

TEST(LocksTest, WaiterMaximaAreEnforced) {
  EngineConfig config;
  config.waiters_max = 2;
  config.locks_max = 1;
  Harness h(config);
  h.Run(LockCmd("L", "a", 1000));
  EXPECT_TRUE(h.Run(LockCmd("M", "a", 1000)).is_error());
  EXPECT_NE(h.RunOut(LockCmd("L", "b", 1000, 100)).parked[0], 0u);
  EXPECT_NE(h.RunOut(LockCmd("L", "c", 1000, 100)).parked[0], 0u);
  BatchOutput third = h.RunOut(LockCmd("L", "d", 1000, 100));
  EXPECT_EQ(third.parked[0], 0u);
  EXPECT_TRUE(third.replies[0].is_error());
  EXPECT_TRUE(third.record.empty());
}

}  // namespace
}  // namespace exactly::core

namespace exactly::core {
namespace {

// A random LOCK/RENEW/UNLOCK/FENCE/IDEM/transfer command over few names, using
// tokens seen so far so that some are current and some stale.
Command RandomLockCommand(std::mt19937_64& rng, const std::vector<uint64_t>& tokens) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto token = [&]() -> uint64_t {
    if (tokens.empty() || pick(8) == 0) return 1 + pick(50);
    return tokens[tokens.size() - 1 - pick(std::min<int>(6, static_cast<int>(tokens.size())))];
  };
  const std::string name = "L" + std::to_string(pick(3));
  const std::string key = "K" + std::to_string(pick(3));
  switch (pick(12)) {
    case 0:
    case 1:
    case 2:
      return testing::LockCmd(name, "o" + std::to_string(pick(3)), 1 + pick(800),
                              pick(2) ? pick(1500) : 0,
                              pick(4) == 0 ? "id" + std::to_string(pick(3)) : "");
    case 3:
      return testing::RenewCmd(name, token(), 1 + pick(800));
    case 4:
    case 5:
      return testing::UnlockCmd(name, token());
    case 6:
      return testing::FenceCmd(name, token());
    case 7:
      return testing::IdemBeginCmd(key, pick(3) ? "" : "f" + std::to_string(pick(2)), 1 + pick(800),
                                   1 + pick(3000), pick(2) ? pick(1500) : 0);
    case 8:
      return testing::IdemEndCmd(key, token(), "r" + std::to_string(pick(5)));
    case 9:
      return testing::IdemAbortCmd(key, token());
    case 10:
      return testing::IfLock(testing::ClaimCmd("c" + std::to_string(pick(4)), "x"), name, token());
    default:
      return testing::GroupCmd(
          {testing::LockCmd(name, "g", 1 + pick(500)), testing::UnlockCmd(name, token()),
           testing::IfLock(testing::ClaimCmd("c" + std::to_string(pick(4)), "y"), name, token())});
  }
}

void CollectTokens(const Reply& reply, std::vector<uint64_t>* tokens) {
  for (const auto& [field, value] : reply.fields) {
    if (field == "token" && std::holds_alternative<int64_t>(value) &&
        std::get<int64_t>(value) > 0) {
      tokens->push_back(static_cast<uint64_t>(std::get<int64_t>(value)));
    }
    if (const auto* list = std::get_if<std::vector<Reply>>(&value)) {
      for (const Reply& item : *list) CollectTokens(item, tokens);
    }
  }
}

// Engine A runs random lock/IDEM batches (some at NextWakeMs, some cancelling
// parked commands); B replays A's records and must match byte for byte after every
// logged batch; every parked command is answered exactly once (or cancelled).
void RunLockReplay(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  Engine a;
  Engine b;
  int64_t now_ms = kT0;
  uint64_t next_lsn = 1;
  std::vector<uint64_t> tokens;
  std::set<uint64_t> open;  // parked, not yet answered
  for (int round = 0; round < 400; ++round) {
    const int64_t wake = a.NextWakeMs();
    if (wake != kNoTimeMs && rng() % 3 == 0) {
      now_ms = std::max(now_ms, wake);
    } else {
      now_ms += static_cast<int64_t>(rng() % 300);
    }
    std::vector<Command> batch;
    const int size = static_cast<int>(rng() % 5);
    for (int i = 0; i < size; ++i) batch.push_back(RandomLockCommand(rng, tokens));
    uint64_t cancel = 0;
    size_t cancel_index = 0;
    if (!open.empty() && rng() % 6 == 0) {
      auto it = open.begin();
      std::advance(it, static_cast<long>(rng() % open.size()));
      cancel = *it;
      cancel_index = batch.size();
      batch.push_back(testing::CancelWaiterCmd(cancel));
    }
    const bool drop = rng() % 150 == 0;
    if (drop) batch.push_back(testing::DropWaitersCmd());
    BatchOutput out;
    a.ApplyBatch(batch, TimestampMs{now_ms}, Lsn{next_lsn}, &out);
    for (size_t i = 0; i < out.replies.size(); ++i) {
      if (out.parked[i] != 0) {
        ASSERT_TRUE(open.insert(out.parked[i]).second);
      } else {
        CollectTokens(out.replies[i], &tokens);
      }
    }
    for (const BatchOutput::Wake& woken : out.wakes) {
      ASSERT_EQ(open.erase(woken.waiter), 1u) << "round " << round;
      // A cancelled waiter is never answered: a wake means the cancel came late.
      if (woken.waiter == cancel) {
        ASSERT_EQ(out.replies[cancel_index].result(), "again");
      }
      CollectTokens(woken.reply, &tokens);
    }
    if (cancel != 0 && out.replies[cancel_index].result() == "cancelled") {
      ASSERT_EQ(open.erase(cancel), 1u);
    }
    if (drop) open.clear();
    if (!out.record.empty()) {
      ASSERT_TRUE(b.Replay(Lsn{next_lsn}, out.record).ok());
      ++next_lsn;
      ASSERT_EQ(a.SaveState(), b.SaveState()) << "round " << round;
      ASSERT_EQ(a.stats().waiters, b.stats().waiters);
      ASSERT_EQ(a.stats().locks, b.stats().locks);
    }
    ASSERT_EQ(a.stats().waiters, open.size()) << "round " << round;
    if (round % 37 == 0) {
      Engine c;
      ASSERT_TRUE(c.LoadState(a.SaveState()).ok());
      ASSERT_EQ(c.SaveState(), a.SaveState());
    }
  }
}

TEST(LocksTest, ReplayReproducesLocksWaitersAndIdemKeys) {
  const uint64_t base = std::random_device{}();
  std::printf("lock replay base seed %llu\n", static_cast<unsigned long long>(base));
  for (uint64_t i = 0; i < 10; ++i) {
    RunLockReplay(base + i);
    if (HasFatalFailure()) return;
  }
  for (uint64_t seed : {1ULL, 7ULL, 99ULL}) {
    RunLockReplay(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace exactly::core
