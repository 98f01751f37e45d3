// StateDigest: equal for the same state whatever the batch clock, different otherwise.
#include "server/state_digest.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/engine.h"
#include "core/engine_harness.h"

namespace exactly::server {
namespace {

using core::testing::ClaimCmd;
using core::testing::ClaimOfCmd;
using core::testing::Harness;
using core::testing::kT0;

TEST(StateDigestTest, TheClockAloneDoesNotChangeIt) {
  Harness a;
  Harness b;
  a.Run(ClaimCmd("k", "x"));
  b.Run(ClaimCmd("k", "x"));
  const uint64_t before = StateDigest(a.engine.SaveState());
  EXPECT_NE(before, 0u);
  EXPECT_EQ(before, StateDigest(b.engine.SaveState()));
  // A read-only batch raises a's clock (a leader's reads do) and logs nothing.
  std::vector<core::Command> reads;
  reads.push_back(ClaimOfCmd("k"));
  core::BatchOutput out;
  a.engine.ApplyBatch(reads, TimestampMs{kT0 + 60000}, Lsn{2}, &out);
  ASSERT_TRUE(out.record.empty());
  ASSERT_NE(a.engine.SaveState(), b.engine.SaveState());
  EXPECT_EQ(StateDigest(a.engine.SaveState()), before);
}

TEST(StateDigestTest, AnotherStateHasAnotherDigest) {
  Harness a;
  Harness b;
  a.Run(ClaimCmd("k", "x"));
  b.Run(ClaimCmd("k", "y"));
  EXPECT_NE(StateDigest(a.engine.SaveState()), StateDigest(b.engine.SaveState()));
  EXPECT_EQ(StateDigest(""), 0u);
}

}  // namespace
}  // namespace exactly::server
