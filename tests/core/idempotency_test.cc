// Idempotency keys: run / running / done / mismatch, END and ABORT, 50 parked
// duplicates answered by one END, runner lease ends, WAIT running out, TTL.
#include "core/idempotency.h"

#include <gtest/gtest.h>

#include "core/engine_harness.h"

namespace exactly::core {
namespace {

using testing::ClaimCmd;
using testing::FieldNames;
using testing::GroupCmd;
using testing::Harness;
using testing::IdemAbortCmd;
using testing::IdemBeginCmd;
using testing::IdemEndCmd;
using testing::IfLock;
using testing::Int;
using testing::kT0;
using testing::LockCmd;
using testing::Str;
using testing::Token;

TEST(IdempotencyTest, RunRunningDoneAndMismatch) {
  Harness h;
  Reply run = h.Run(IdemBeginCmd("pay:1", "fp-a", 10'000, 60'000));
  EXPECT_EQ(run.result(), "run");
  EXPECT_EQ(FieldNames(run), (std::vector<std::string_view>{"result", "token", "response"}));
  EXPECT_TRUE(h.last_logged);
  const uint64_t token = Token(run);
  EXPECT_GT(token, 0u);

  Reply running = h.Run(IdemBeginCmd("pay:1", "fp-a"));
  EXPECT_EQ(running.result(), "running");
  EXPECT_EQ(Int(running, "token"), 0);
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.Run(IdemBeginCmd("pay:1", "fp-b")).result(), "mismatch");
  EXPECT_EQ(h.Run(IdemBeginCmd("pay:1")).result(), "running");  // no fingerprint: no check

  EXPECT_EQ(h.Run(IdemEndCmd("pay:1", token + 1, "x")).result(), "stale");
  Reply done = h.Run(IdemEndCmd("pay:1", token, "{\"paid\":true}"));
  EXPECT_EQ(done.result(), "done");
  EXPECT_EQ(Str(done, "response"), "{\"paid\":true}");
  EXPECT_EQ(h.Run(IdemEndCmd("pay:1", token, "other")).result(), "done");  // repeat
  Reply replayed = h.Run(IdemBeginCmd("pay:1", "fp-a"));
  EXPECT_EQ(replayed.result(), "done");
  EXPECT_EQ(Str(replayed, "response"), "{\"paid\":true}");
  EXPECT_EQ(h.Run(IdemBeginCmd("pay:1", "fp-b")).result(), "mismatch");
  EXPECT_EQ(h.engine.stats().idem_keys, 1u);

  // The response is kept for TTL from END, then the key is new again.
  h.now_ms += 60'000;
  Reply again = h.Run(IdemBeginCmd("pay:1", "fp-b"));
  EXPECT_EQ(again.result(), "run");
  EXPECT_GT(Token(again), token);
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(IdempotencyTest, FiftyParkedDuplicatesAllGetTheResponse) {
  Harness h;
  std::vector<Command> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(IdemBeginCmd("k", "fp", 10'000, 0, 5'000));
  BatchOutput out = h.Batch(std::move(batch));
  int runs = 0;
  uint64_t token = 0;
  std::vector<uint64_t> parked;
  for (size_t i = 0; i < out.replies.size(); ++i) {
    if (out.parked[i] != 0) {
      parked.push_back(out.parked[i]);
      EXPECT_TRUE(out.replies[i].fields.empty());
    } else {
      EXPECT_EQ(out.replies[i].result(), "run");
      token = Token(out.replies[i]);
      ++runs;
    }
  }
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(parked.size(), 49u);
  EXPECT_EQ(h.engine.stats().waiters, 49u);
  h.now_ms += 100;
  BatchOutput end = h.RunOut(IdemEndCmd("k", token, "R"));
  EXPECT_EQ(end.replies[0].result(), "done");
  ASSERT_EQ(end.wakes.size(), 49u);
  for (size_t i = 0; i < end.wakes.size(); ++i) {
    EXPECT_EQ(end.wakes[i].waiter, parked[i]);
    EXPECT_EQ(end.wakes[i].reply.result(), "done");
    EXPECT_EQ(Str(end.wakes[i].reply, "response"), "R");
    EXPECT_EQ(end.wakes[i].wait_lsn, h.records.back().first);
  }
  EXPECT_EQ(h.engine.stats().waiters, 0u);
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(IdempotencyTest, RunnerLeaseEndHandsTheKeyToTheNextWaiter) {
  Harness h;
  const uint64_t first = Token(h.Run(IdemBeginCmd("k", "", 1000)));
  BatchOutput a = h.RunOut(IdemBeginCmd("k", "", 2000, 0, 60'000));
  BatchOutput b = h.RunOut(IdemBeginCmd("k", "", 2000, 0, 60'000));
  ASSERT_NE(a.parked[0], 0u);
  ASSERT_NE(b.parked[0], 0u);
  EXPECT_EQ(h.engine.NextWakeMs(), kT0 + 1000);
  h.now_ms = kT0 + 1500;
  BatchOutput out = h.Batch({});
  ASSERT_EQ(out.wakes.size(), 1u);
  EXPECT_EQ(out.wakes[0].waiter, a.parked[0]);
  EXPECT_EQ(out.wakes[0].reply.result(), "run");
  const uint64_t second = Token(out.wakes[0].reply);
  EXPECT_GT(second, first);
  EXPECT_FALSE(out.record.empty());  // the hand-over is logged
  // The dead runner's END is stale; the new runner's lease runs from 1000.
  EXPECT_EQ(h.Run(IdemEndCmd("k", first, "late")).result(), "stale");
  h.now_ms = kT0 + 2999;
  EXPECT_EQ(h.Run(IdemAbortCmd("k", second)).result(), "released");
  // ABORT hands the key to the next waiter at once.
  EXPECT_EQ(h.engine.stats().waiters, 0u);
  Reply running = h.Run(IdemBeginCmd("k"));
  EXPECT_EQ(running.result(), "running");
  EXPECT_EQ(h.Replayed()->SaveState(), h.engine.SaveState());
}

TEST(IdempotencyTest, WaitRunningOutAnswersRunning) {
  Harness h;
  const uint64_t token = Token(h.Run(IdemBeginCmd("k", "", 10'000)));
  BatchOutput parked = h.RunOut(IdemBeginCmd("k", "", 0, 0, 100));
  ASSERT_NE(parked.parked[0], 0u);
  EXPECT_EQ(h.engine.NextWakeMs(), kT0 + 100);
  h.now_ms = kT0 + 100;
  BatchOutput out = h.Batch({});
  ASSERT_EQ(out.wakes.size(), 1u);
  EXPECT_EQ(out.wakes[0].reply.result(), "running");
  EXPECT_TRUE(out.record.empty());  // a timeout is a pure function of time
  EXPECT_EQ(h.Run(IdemEndCmd("k", token, "R")).result(), "done");
}

TEST(IdempotencyTest, AbortWithoutWaitersFreesTheKey) {
  Harness h;
  const uint64_t token = Token(h.Run(IdemBeginCmd("k")));
  EXPECT_EQ(h.Run(IdemAbortCmd("k", token + 7)).result(), "stale");
  EXPECT_EQ(h.Run(IdemAbortCmd("k", token)).result(), "released");
  EXPECT_EQ(h.engine.stats().idem_keys, 0u);
  EXPECT_EQ(h.Run(IdemAbortCmd("k", token)).result(), "stale");
  EXPECT_EQ(h.Run(IdemBeginCmd("k")).result(), "run");
}

TEST(IdempotencyTest, IfLockAndGroups) {
  Harness h;
  const uint64_t lock = Token(h.Run(LockCmd("L", "a", 1000)));
  EXPECT_EQ(h.Run(IfLock(IdemBeginCmd("k"), "L", lock + 1)).result(), "stale");
  EXPECT_EQ(h.engine.stats().idem_keys, 0u);
  const uint64_t token = Token(h.Run(IfLock(IdemBeginCmd("k"), "L", lock)));
  h.Run(IdemEndCmd("k", token, "R"));
  // A group guarded by IDEM BEGIN stops when the operation is already done.
  Reply group = h.Run(GroupCmd({IdemBeginCmd("k"), ClaimCmd("side-effect", "x")}));
  EXPECT_EQ(group.result(), "rolled_back");
  EXPECT_EQ(h.Run(testing::ClaimOfCmd("side-effect")).result(), "free");
}

}  // namespace
}  // namespace exactly::core
