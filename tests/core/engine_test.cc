// Engine: batches, wait LSNs, time, journal records, replay determinism and
// snapshots taken in the middle of a random workload.
#include "core/engine.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "core/engine_harness.h"
#include "core/record_codec.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::BalanceCmd;
using testing::ClaimCmd;
using testing::ClaimOfCmd;
using testing::GroupCmd;
using testing::Harness;
using testing::IdemBeginCmd;
using testing::IdemEndCmd;
using testing::Int;
using testing::kT0;
using testing::LockCmd;
using testing::Per;
using testing::ReplyText;
using testing::ReserveCmd;
using testing::Token;
using testing::TransferCmd;
using testing::Ttl;
using testing::UnclaimCmd;

TEST(EngineTest, BatchRepliesInOrderWithWaitLsns) {
  Harness h;
  h.Run(ClaimCmd("seen", "x"));  // LSN 1
  std::vector<Command> batch;
  batch.push_back(ClaimOfCmd("missing"));
  batch.push_back(ClaimCmd("a", "alice"));
  batch.push_back(ClaimCmd("a", "bob"));
  batch.push_back(ClaimOfCmd("seen"));
  BatchOutput out = h.Batch(std::move(batch));
  ASSERT_EQ(out.replies.size(), 4u);
  EXPECT_EQ(out.replies[1].result(), "won");
  EXPECT_EQ(out.replies[2].result(), "held");
  EXPECT_EQ(out.wait_lsn[0], Lsn{0});
  EXPECT_EQ(out.wait_lsn[1], Lsn{2});
  EXPECT_EQ(out.wait_lsn[2], Lsn{2});  // observed the claim this batch made
  EXPECT_EQ(out.wait_lsn[3], Lsn{1});
  EXPECT_EQ(h.engine.applied_lsn(), Lsn{2});
  auto decoded = DecodeRecord(out.record);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->commands.size(), 1u);  // only the state change is logged
  EXPECT_EQ(decoded->timestamp_ms, kT0);
}

TEST(EngineTest, ReadOnlyBatchLeavesNoRecordAndKeepsAppliedLsn) {
  Harness h;
  h.Run(ClaimCmd("a", "x"));
  std::vector<Command> reads;
  reads.push_back(ClaimOfCmd("a"));
  BatchOutput out;
  h.engine.ApplyBatch(reads, TimestampMs{kT0 + 1}, Lsn{2}, &out);
  EXPECT_TRUE(out.record.empty());
  EXPECT_EQ(h.engine.applied_lsn(), Lsn{1});
  // The unused LSN may be offered again.
  std::vector<Command> write;
  write.push_back(ClaimCmd("b", "x"));
  h.engine.ApplyBatch(write, TimestampMs{kT0 + 2}, Lsn{2}, &out);
  EXPECT_EQ(h.engine.applied_lsn(), Lsn{2});
}

TEST(EngineTest, TimeNeverRunsBackwards) {
  Harness h;
  h.now_ms = kT0 + 1000;
  h.Run(ClaimCmd("a", "x"));
  h.now_ms = kT0;  // clock stepped back
  Reply won = h.Run(ClaimCmd("b", "x", Ttl(10)));
  EXPECT_EQ(Int(won, "since"), kT0 + 1000);
  EXPECT_EQ(Int(won, "expires"), kT0 + 1010);
  EXPECT_EQ(h.engine.last_timestamp(), TimestampMs{kT0 + 1000});
}

TEST(EngineTest, CallerCommandsAreResolved) {
  Engine engine;
  std::vector<Command> batch;
  batch.push_back(ClaimCmd("a", "x", Ttl(10)));
  BatchOutput out;
  engine.ApplyBatch(batch, TimestampMs{kT0}, Lsn{1}, &out);
  EXPECT_TRUE(batch[0].resolved);
  EXPECT_EQ(batch[0].expires_ms, kT0 + 10);
}

TEST(EngineTest, ReplayRejectsGarbageAndOldLsns) {
  Harness h;
  h.Run(ClaimCmd("a", "x"));
  Engine other;
  EXPECT_FALSE(other.Replay(Lsn{1}, "garbage").ok());
  ASSERT_TRUE(other.Replay(Lsn{1}, h.records[0].second).ok());
  EXPECT_FALSE(other.Replay(Lsn{1}, h.records[0].second).ok());
  EXPECT_EQ(other.SaveState(), h.engine.SaveState());
}

TEST(EngineTest, ReplayIgnoresLoweredTableMaxima) {
  Harness h;
  h.Run(ClaimCmd("a", "x"));
  h.Run(ClaimCmd("b", "x"));
  EngineConfig small;
  small.claims_max = 1;
  Engine other(small);
  for (const auto& [lsn, record] : h.records) ASSERT_TRUE(other.Replay(lsn, record).ok());
  EXPECT_EQ(other.SaveState(), h.engine.SaveState());
}

TEST(EngineTest, ReplayDoesNotReadRetentionFromConfig) {
  EngineConfig short_retention;
  short_retention.id_retention_ms = 10;
  Harness h(short_retention);
  h.Run(AccountCmd("bank", testing::Infinite(), testing::Infinite()));
  h.Run(AccountCmd("a"));
  h.Run(TransferCmd("t", "bank", "a", 5));
  h.Run(ReserveCmd("r", "bank", "a", 5, 100));
  Engine other;  // default, 30-day retention
  for (const auto& [lsn, record] : h.records) ASSERT_TRUE(other.Replay(lsn, record).ok());
  EXPECT_EQ(other.SaveState(), h.engine.SaveState());
}

TEST(EngineTest, ExpiryInUnloggedBatchesReplaysTheSame) {
  Harness h;
  h.Run(AccountCmd("bank", testing::Infinite(), testing::Infinite()));
  h.Run(AccountCmd("a"));
  h.Run(ClaimCmd("c", "x", Ttl(100)));
  h.Run(ReserveCmd("r", "bank", "a", 5, 200));
  h.now_ms += 150;
  h.Run(BalanceCmd("a"));  // expires the claim in a batch the journal never sees
  h.now_ms += 100;
  h.Run(BalanceCmd("a"));  // times the reservation out, also unlogged
  h.now_ms += 1;
  h.Run(ClaimCmd("d", "y"));
  Engine other;
  for (const auto& [lsn, record] : h.records) ASSERT_TRUE(other.Replay(lsn, record).ok());
  EXPECT_EQ(other.SaveState(), h.engine.SaveState());
}

// Replay applies through the handlers without building replies and decodes
// every record into the same reused commands. Batches of different shapes, one
// after the other, must still leave exactly the state live application left:
// a claim with a NOTE and TTL then one without (a reused command must not keep
// the note or the time), transfers in PER windows, locks with a waiter granted
// by expiry, IDEM keys, and groups that rolled back or executed in part.
TEST(EngineTest, ReplayWithoutRepliesReachesTheLiveState) {
  Harness h;
  h.Run(AccountCmd("bank", testing::Infinite(), testing::Infinite()));
  h.Run(AccountCmd("a"));
  std::vector<Command> wide;
  for (int i = 0; i < 40; ++i) {
    wide.push_back(ClaimCmd("c" + std::to_string(i), "o", Ttl(1000 + i), false,
                            std::string(200, static_cast<char>('a' + i % 26))));
  }
  wide.push_back(TransferCmd("t1", "bank", "a", 7, Per(Period::kDay, 9 * 60, 120), "note"));
  h.Batch(std::move(wide));
  std::vector<Command> narrow;
  narrow.push_back(ClaimCmd("bare", "o"));
  narrow.push_back(TransferCmd("t2", "bank", "a", 3, Per(Period::kMonth)));
  h.Batch(std::move(narrow));
  h.Run(ClaimCmd("c1", "o", {}, /*persist=*/true, "kept"));
  h.Run(UnclaimCmd("c2", "o"));
  h.Run(ReserveCmd("r1", "bank", "a", 5, 300));

  const uint64_t token = Token(h.Run(LockCmd("L", "alice", 500)));
  BatchOutput parked = h.RunOut(LockCmd("L", "bob", 400, /*wait_ms=*/2000));
  ASSERT_NE(parked.parked.at(0), 0u);
  const uint64_t idem = Token(h.Run(IdemBeginCmd("job", "fp", 1000, 60'000)));
  h.Run(IdemEndCmd("job", idem, "response"));
  h.Run(IdemBeginCmd("other", "", 700));

  // Rolled back: the transfer is refused for want of money, the claim before it undone.
  Reply rolled = h.Run(GroupCmd({ClaimCmd("g1", "o", Ttl(50)),
                                 TransferCmd("t3", "a", "bank", 1'000'000), ClaimCmd("g2", "o")}));
  EXPECT_EQ(rolled.result(), "rolled_back");
  EXPECT_FALSE(h.last_logged);
  // Executed, with a read in it that the journal leaves out.
  Reply executed =
      h.Run(GroupCmd({ClaimCmd("g3", "o", Ttl(80)), ClaimOfCmd("g3"),
                      TransferCmd("t4", "a", "bank", 1), testing::UnlockCmd("L", token)}));
  EXPECT_EQ(executed.result(), "executed");

  // Time passes in batches the journal never sees and in one it does: claims end,
  // the reservation times out, the IDEM lease runs out.
  h.now_ms += 900;
  h.Run(BalanceCmd("a"));
  h.now_ms += 400;
  h.Run(ClaimCmd("late", "o", Ttl(10)));

  Engine replayed;
  for (const auto& [lsn, record] : h.records) ASSERT_TRUE(replayed.Replay(lsn, record).ok());
  EXPECT_EQ(replayed.SaveState(), h.engine.SaveState());
  EXPECT_EQ(replayed.applied_lsn(), h.engine.applied_lsn());
  EXPECT_EQ(replayed.NextWakeMs(), h.engine.NextWakeMs());

  // Both go on alike: the same next batch gives the same replies and record.
  std::vector<Command> next_live;
  next_live.push_back(ClaimCmd("bare", "p"));
  next_live.push_back(TransferCmd("t2", "bank", "a", 3, Per(Period::kMonth)));
  next_live.push_back(LockCmd("L", "carol", 100));
  std::vector<Command> next_replayed = next_live;
  BatchOutput live_out;
  BatchOutput replayed_out;
  h.engine.ApplyBatch(next_live, TimestampMs{h.now_ms}, h.next_lsn, &live_out);
  replayed.ApplyBatch(next_replayed, TimestampMs{h.now_ms}, h.next_lsn, &replayed_out);
  ASSERT_EQ(live_out.replies.size(), replayed_out.replies.size());
  for (size_t i = 0; i < live_out.replies.size(); ++i) {
    EXPECT_EQ(ReplyText(live_out.replies[i]), ReplyText(replayed_out.replies[i]));
  }
  EXPECT_EQ(live_out.record, replayed_out.record);
  EXPECT_EQ(replayed.SaveState(), h.engine.SaveState());
}

// A record that fails to decode leaves nothing applied, and the next good one
// replays as if the bad one had not been offered.
TEST(EngineTest, ReplayAfterAMalformedRecordStillMatches) {
  Harness h;
  h.Run(ClaimCmd("a", "x", Ttl(100), false, "first"));
  h.Run(ClaimCmd("b", "y"));
  Engine other;
  ASSERT_TRUE(other.Replay(h.records[0].first, h.records[0].second).ok());
  std::string truncated = h.records[1].second;
  truncated.pop_back();
  EXPECT_FALSE(other.Replay(h.records[1].first, truncated).ok());
  ASSERT_TRUE(other.Replay(h.records[1].first, h.records[1].second).ok());
  EXPECT_EQ(other.SaveState(), h.engine.SaveState());
}

// Drives a seeded random workload through engine A, replays A's journal into B
// after every logged batch and compares states byte for byte; every so often
// clones A through SaveState/LoadState into C and runs C alongside A, comparing
// every reply and record (which checks the rebuilt expiry queue).
void RunReplayDeterminism(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  EngineConfig config;
  config.id_retention_ms = 1 + static_cast<int64_t>(rng() % 20'000);
  Engine a(config);
  Engine b(config);
  std::unique_ptr<Engine> c;
  int64_t now_ms = kT0;
  uint64_t next_lsn = 1;
  for (int round = 0; round < 600; ++round) {
    const uint64_t jump = rng() % 20;
    now_ms += jump == 0 ? static_cast<int64_t>(rng() % (40LL * 86'400'000)) : rng() % 700;
    if (jump == 1) now_ms -= 500;  // the clock may step back; the engine holds time
    std::vector<Command> batch;
    const int size = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < size; ++i) batch.push_back(testing::RandomCommand(rng));
    std::vector<Command> batch_copy = batch;

    BatchOutput out_a;
    a.ApplyBatch(batch, TimestampMs{now_ms}, Lsn{next_lsn}, &out_a);
    if (c) {
      BatchOutput out_c;
      c->ApplyBatch(batch_copy, TimestampMs{now_ms}, Lsn{next_lsn}, &out_c);
      ASSERT_EQ(out_a.record, out_c.record) << "round " << round;
      for (size_t i = 0; i < out_a.replies.size(); ++i) {
        ASSERT_EQ(ReplyText(out_a.replies[i]), ReplyText(out_c.replies[i])) << "round " << round;
        ASSERT_EQ(out_a.wait_lsn[i], out_c.wait_lsn[i]);
      }
    }
    if (!out_a.record.empty()) {
      ASSERT_TRUE(b.Replay(Lsn{next_lsn}, out_a.record).ok());
      ++next_lsn;
      ASSERT_EQ(a.SaveState(), b.SaveState()) << "round " << round;
      const EngineStats stats_a = a.stats();
      const EngineStats stats_b = b.stats();
      ASSERT_EQ(stats_a.claims, stats_b.claims);
      ASSERT_EQ(stats_a.accounts, stats_b.accounts);
      ASSERT_EQ(stats_a.transfers, stats_b.transfers);
      ASSERT_EQ(stats_a.pending, stats_b.pending);
    }
    if (round % 97 == 0) {
      c = std::make_unique<Engine>(config);
      ASSERT_TRUE(c->LoadState(a.SaveState()).ok());
      ASSERT_EQ(c->SaveState(), a.SaveState());
    }
  }
}

TEST(EngineTest, ReplayDeterminismRandomWorkloads) {
  const uint64_t base_seed = std::random_device{}();
  std::printf("replay determinism base seed %llu\n", static_cast<unsigned long long>(base_seed));
  for (uint64_t i = 0; i < 20; ++i) {
    RunReplayDeterminism(base_seed + i);
    if (HasFatalFailure()) return;
  }
}

TEST(EngineTest, ReplayDeterminismFixedSeeds) {
  for (uint64_t seed : {1ULL, 2ULL, 42ULL, 20240229ULL}) {
    RunReplayDeterminism(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace exactly::core
