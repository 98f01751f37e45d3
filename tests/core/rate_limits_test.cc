// Rate limits: the fixed window of S3's limiter, GCRA against a token-bucket
// reference model in exact rational arithmetic over random arrivals, and the
// volatility contract (never logged, kept in snapshots).
#include "core/rate_limits.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/engine_harness.h"

namespace exactly::core {
namespace {

using testing::FieldNames;
using testing::GroupCmd;
using testing::Harness;
using testing::Int;
using testing::kT0;
using testing::LimitRateCmd;
using testing::LimitWindowCmd;

TEST(RateLimitsTest, WindowOfFiveAllowsExactlyFive) {
  Harness h;
  std::vector<Command> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(LimitWindowCmd("login", 5, 1000));
  BatchOutput out = h.Batch(std::move(batch));
  EXPECT_TRUE(out.record.empty());
  int allowed = 0;
  for (size_t i = 0; i < out.replies.size(); ++i) {
    const Reply& reply = out.replies[i];
    EXPECT_EQ(out.wait_lsn[i], Lsn{0});
    if (reply.result() == "allowed") {
      ++allowed;
      EXPECT_EQ(Int(reply, "remaining"), 5 - allowed);
      EXPECT_EQ(Int(reply, "retry_after_ms"), 0);
    } else {
      EXPECT_EQ(reply.result(), "limited");
      EXPECT_EQ(Int(reply, "remaining"), 0);
      EXPECT_EQ(Int(reply, "retry_after_ms"), 1000);
    }
    EXPECT_EQ(Int(reply, "reset_ms"), 1000);
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(FieldNames(out.replies[0]),
            (std::vector<std::string_view>{"result", "remaining", "retry_after_ms", "reset_ms"}));
  h.now_ms += 400;
  Reply later = h.Run(LimitWindowCmd("login", 5, 1000));
  EXPECT_EQ(later.result(), "limited");
  EXPECT_EQ(Int(later, "retry_after_ms"), 600);
  h.now_ms = kT0 + 1000;
  Reply next = h.Run(LimitWindowCmd("login", 5, 1000, 2));
  EXPECT_EQ(next.result(), "allowed");
  EXPECT_EQ(Int(next, "remaining"), 3);
  EXPECT_EQ(h.engine.stats().limit_keys, 1u);
  h.now_ms = kT0 + 2000;
  h.Batch({});
  EXPECT_EQ(h.engine.stats().limit_keys, 0u);  // idle keys are forgotten
}

TEST(RateLimitsTest, VolatileButKeptInSnapshots) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.Run(LimitRateCmd("k", 3, 3000));
  EXPECT_TRUE(h.records.empty());
  Engine restored;
  ASSERT_TRUE(restored.LoadState(h.engine.SaveState()).ok());
  std::vector<Command> again{LimitRateCmd("k", 3, 3000)};
  BatchOutput out;
  restored.ApplyBatch(again, TimestampMs{h.now_ms}, Lsn{1}, &out);
  EXPECT_EQ(out.replies[0].result(), "limited");
  EXPECT_EQ(Int(out.replies[0], "retry_after_ms"), 1000);
  EXPECT_EQ(Int(out.replies[0], "reset_ms"), 3000);
}

TEST(RateLimitsTest, LimitedRollsBackAGroup) {
  Harness h;
  h.Run(LimitWindowCmd("k", 1, 1000));
  Reply group = h.Run(GroupCmd({testing::ClaimCmd("c", "x"), LimitWindowCmd("k", 1, 1000)}));
  EXPECT_EQ(group.result(), "rolled_back");
  EXPECT_EQ(h.Run(testing::ClaimOfCmd("c")).result(), "free");
}

// The reference: a token bucket whose level is kept as tokens * per (an exact
// integer), refilled by n per ms and capped at burst * per.
struct ReferenceBucket {
  int64_t n, per, burst;
  __int128 level;  // tokens * per
  int64_t last_ms;

  struct Answer {
    bool allowed;
    int64_t remaining, retry_after_ms, reset_ms;
  };

  static int64_t CeilDiv(__int128 a, __int128 b) { return static_cast<int64_t>((a + b - 1) / b); }

  Answer Request(int64_t now_ms, int64_t cost) {
    const __int128 full = static_cast<__int128>(burst) * per;
    level = std::min(full, level + static_cast<__int128>(now_ms - last_ms) * n);
    last_ms = now_ms;
    const __int128 need = static_cast<__int128>(cost) * per;
    if (level >= need) {
      level -= need;
      return {true, static_cast<int64_t>(level / per), 0, CeilDiv(full - level, n)};
    }
    return {false, static_cast<int64_t>(level / per), CeilDiv(need - level, n),
            CeilDiv(full - level, n)};
  }
};

TEST(RateLimitsTest, GcraMatchesTheTokenBucketModel) {
  const uint64_t seed = std::random_device{}();
  std::printf("GCRA model seed %llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 20);
    const int64_t per = 1 + static_cast<int64_t>(rng() % 5000);
    const int64_t burst = rng() % 3 == 0 ? 0 : 1 + static_cast<int64_t>(rng() % 30);
    const int64_t capacity = burst > 0 ? burst : n;
    Harness h;
    ReferenceBucket model{n, per, capacity, static_cast<__int128>(capacity) * per, h.now_ms};
    for (int i = 0; i < 200; ++i) {
      const uint64_t gap = rng() % 4;
      h.now_ms += gap == 0 ? 0 : static_cast<int64_t>(rng() % (gap == 3 ? 3 * per : per / 4 + 1));
      const int64_t cost = 1 + static_cast<int64_t>(rng() % std::min<int64_t>(capacity, 3));
      const Reply reply = h.Run(LimitRateCmd("k", n, per, burst, cost));
      const ReferenceBucket::Answer expected = model.Request(h.now_ms, cost);
      ASSERT_EQ(reply.result(), expected.allowed ? "allowed" : "limited")
          << "trial " << trial << " request " << i;
      ASSERT_EQ(Int(reply, "remaining"), expected.remaining) << trial << "/" << i;
      ASSERT_EQ(Int(reply, "retry_after_ms"), expected.retry_after_ms) << trial << "/" << i;
      ASSERT_EQ(Int(reply, "reset_ms"), expected.reset_ms) << trial << "/" << i;
    }
  }
}

TEST(RateLimitsTest, BurstAndCost) {
  Harness h;
  // 10 per second, bucket of 3: three at once, then one every 100 ms.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.Run(LimitRateCmd("k", 10, 1000, 3)).result(), "allowed");
  Reply limited = h.Run(LimitRateCmd("k", 10, 1000, 3));
  EXPECT_EQ(limited.result(), "limited");
  EXPECT_EQ(Int(limited, "retry_after_ms"), 100);
  EXPECT_EQ(Int(limited, "reset_ms"), 300);
  h.now_ms += 100;
  EXPECT_EQ(h.Run(LimitRateCmd("k", 10, 1000, 3)).result(), "allowed");
  h.now_ms += 300;
  Reply heavy = h.Run(LimitRateCmd("k", 10, 1000, 3, 3));
  EXPECT_EQ(heavy.result(), "allowed");
  EXPECT_EQ(Int(heavy, "remaining"), 0);
}

}  // namespace
}  // namespace exactly::core
