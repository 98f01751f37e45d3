// Claims: won / again / held / released / not_holder / free, TTL, UNTIL, PER,
// PERSIST, CLAIMLOG and its retention, the table maximum.
#include "core/claims.h"

#include <gtest/gtest.h>

#include "core/engine_harness.h"
#include "core/limits.h"

namespace exactly::core {
namespace {

using testing::ClaimCmd;
using testing::ClaimLogCmd;
using testing::ClaimOfCmd;
using testing::FieldNames;
using testing::Harness;
using testing::Int;
using testing::kT0;
using testing::List;
using testing::Per;
using testing::Str;
using testing::Ttl;
using testing::UnclaimCmd;
using testing::Until;

TEST(ClaimsTest, FirstOwnerWins) {
  Harness h;
  Reply won = h.Run(ClaimCmd("job", "alice"));
  EXPECT_EQ(won.result(), "won");
  EXPECT_EQ(FieldNames(won), (std::vector<std::string_view>{"result", "key", "owner", "since",
                                                            "expires", "window"}));
  EXPECT_EQ(Str(won, "key"), "job");
  EXPECT_EQ(Str(won, "owner"), "alice");
  EXPECT_EQ(Int(won, "since"), kT0);
  EXPECT_EQ(Int(won, "expires"), -1);
  EXPECT_EQ(Int(won, "window"), -1);
  EXPECT_TRUE(h.last_logged);
  EXPECT_EQ(h.last_wait, Lsn{1});

  h.now_ms += 5;
  Reply held = h.Run(ClaimCmd("job", "bob"));
  EXPECT_EQ(held.result(), "held");
  EXPECT_EQ(Str(held, "owner"), "alice");
  EXPECT_EQ(Int(held, "since"), kT0);
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.last_wait, Lsn{1});
}

TEST(ClaimsTest, RepeatBySameOwnerAnswersAgainWithOriginalTimes) {
  Harness h;
  h.Run(ClaimCmd("job", "alice", Ttl(1000)));
  h.now_ms += 100;
  Reply again = h.Run(ClaimCmd("job", "alice", Ttl(5000)));
  EXPECT_EQ(again.result(), "again");
  EXPECT_EQ(Int(again, "since"), kT0);
  EXPECT_EQ(Int(again, "expires"), kT0 + 1000);
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.last_wait, Lsn{1});
}

TEST(ClaimsTest, PersistOnRepeatMakesClaimPermanent) {
  Harness h;
  h.Run(ClaimCmd("job", "alice", Ttl(1000)));
  Reply again = h.Run(ClaimCmd("job", "alice", {}, /*persist=*/true));
  EXPECT_EQ(again.result(), "again");
  EXPECT_EQ(Int(again, "expires"), -1);
  EXPECT_TRUE(h.last_logged);
  h.now_ms += 10'000;
  EXPECT_EQ(h.Run(ClaimOfCmd("job")).result(), "held");
  auto log = List(h.Run(ClaimLogCmd("job")), "entries");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(Str(log[0], "event"), "persisted");
  EXPECT_EQ(Str(log[1], "event"), "won");
  // A second PERSIST changes nothing.
  h.Run(ClaimCmd("job", "alice", {}, true));
  EXPECT_FALSE(h.last_logged);
}

TEST(ClaimsTest, PersistOverridesTtl) {
  Harness h;
  Reply won = h.Run(ClaimCmd("job", "alice", Ttl(1000), /*persist=*/true));
  EXPECT_EQ(Int(won, "expires"), -1);
}

TEST(ClaimsTest, TtlExpiresAtBatchStart) {
  Harness h;
  h.Run(ClaimCmd("job", "alice", Ttl(1000)));
  h.now_ms = kT0 + 999;
  EXPECT_EQ(h.Run(ClaimCmd("job", "bob")).result(), "held");
  h.now_ms = kT0 + 1000;
  Reply won = h.Run(ClaimCmd("job", "bob"));
  EXPECT_EQ(won.result(), "won");
  auto log = List(h.Run(ClaimLogCmd("job")), "entries");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(Str(log[1], "event"), "expired");
  EXPECT_EQ(Int(log[1], "at"), kT0 + 1000);
  EXPECT_EQ(Str(log[1], "owner"), "alice");
}

TEST(ClaimsTest, UntilSetsAbsoluteExpiry) {
  Harness h;
  Reply won = h.Run(ClaimCmd("job", "alice", Until(kT0 + 42)));
  EXPECT_EQ(Int(won, "expires"), kT0 + 42);
  h.now_ms = kT0 + 42;
  EXPECT_EQ(h.Run(ClaimOfCmd("job")).result(), "free");
}

TEST(ClaimsTest, UntilNotInTheFutureIsAnErrorAndChangesNothing) {
  Harness h;
  h.Run(ClaimOfCmd("job"));  // the batch clock is part of the state: set it first
  const std::string before = h.engine.SaveState();
  for (const int64_t until : {kT0, kT0 - 1, int64_t{0}}) {
    Reply refused = h.Run(ClaimCmd("job", "alice", Until(until)));
    EXPECT_TRUE(refused.is_error()) << until;
    EXPECT_EQ(refused.error_message, "UNTIL is not in the future: the claim would never hold");
    EXPECT_FALSE(h.last_logged);
  }
  EXPECT_EQ(h.engine.SaveState(), before);
  EXPECT_EQ(h.Run(ClaimCmd("job", "alice", Until(kT0 + 1))).result(), "won");
}

TEST(ClaimsTest, PerDayLastsToWindowEndAndNextWindowIsFresh) {
  Harness h;
  const int64_t day = 86'400'000;
  const int64_t start = (kT0 / day) * day;
  Reply won = h.Run(ClaimCmd("signin:alice", "alice", Per(Period::kDay)));
  EXPECT_EQ(Int(won, "window"), start);
  EXPECT_EQ(Int(won, "expires"), start + day);
  h.now_ms = start + day - 1;
  EXPECT_EQ(h.Run(ClaimCmd("signin:alice", "alice", Per(Period::kDay))).result(), "again");
  h.now_ms = start + day;
  Reply next = h.Run(ClaimCmd("signin:alice", "alice", Per(Period::kDay)));
  EXPECT_EQ(next.result(), "won");
  EXPECT_EQ(Int(next, "window"), start + day);
  // History keeps each window.
  auto log = List(h.Run(ClaimLogCmd("signin:alice")), "entries");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(Int(log[0], "window"), start + day);
  EXPECT_EQ(Int(log[2], "window"), start);
}

TEST(ClaimsTest, UnclaimOutcomes) {
  Harness h;
  Reply free = h.Run(UnclaimCmd("job", "alice"));
  EXPECT_EQ(free.result(), "not_holder");
  EXPECT_EQ(Str(free, "key"), "job");
  EXPECT_FALSE(h.last_logged);
  h.Run(ClaimCmd("job", "alice"));
  EXPECT_EQ(h.Run(UnclaimCmd("job", "bob")).result(), "not_holder");
  EXPECT_FALSE(h.last_logged);
  Reply released = h.Run(UnclaimCmd("job", "alice"));
  EXPECT_EQ(released.result(), "released");
  EXPECT_EQ(FieldNames(released), (std::vector<std::string_view>{"result", "key"}));
  EXPECT_TRUE(h.last_logged);
  EXPECT_EQ(h.Run(UnclaimCmd("job", "alice")).result(), "not_holder");
  EXPECT_EQ(h.Run(ClaimCmd("job", "bob")).result(), "won");
}

TEST(ClaimsTest, ClaimOfHeldAndFree) {
  Harness h;
  Reply free = h.Run(ClaimOfCmd("job"));
  EXPECT_EQ(free.result(), "free");
  EXPECT_EQ(FieldNames(free),
            (std::vector<std::string_view>{"result", "owner", "since", "expires"}));
  EXPECT_EQ(Str(free, "owner"), "");
  EXPECT_EQ(Int(free, "since"), -1);
  EXPECT_EQ(Int(free, "expires"), -1);
  EXPECT_EQ(h.last_wait, Lsn{0});
  h.Run(ClaimCmd("job", "alice", Ttl(50)));
  Reply held = h.Run(ClaimOfCmd("job"));
  EXPECT_EQ(held.result(), "held");
  EXPECT_EQ(Str(held, "owner"), "alice");
  EXPECT_EQ(Int(held, "expires"), kT0 + 50);
  EXPECT_EQ(h.last_wait, Lsn{1});
}

TEST(ClaimsTest, ClaimLogNewestFirstWithNotesAndCount) {
  Harness h;
  h.Run(ClaimCmd("job", "alice", {}, false, "first"));
  h.now_ms += 1;
  h.Run(UnclaimCmd("job", "alice"));
  h.now_ms += 1;
  h.Run(ClaimCmd("job", "bob", {}, false, "second"));
  Reply reply = h.Run(ClaimLogCmd("job"));
  EXPECT_EQ(reply.result(), "ok");
  auto log = List(reply, "entries");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(FieldNames(log[0]),
            (std::vector<std::string_view>{"event", "owner", "at", "expires", "window", "note"}));
  EXPECT_EQ(Str(log[0], "event"), "won");
  EXPECT_EQ(Str(log[0], "owner"), "bob");
  EXPECT_EQ(Str(log[0], "note"), "second");
  EXPECT_EQ(Str(log[1], "event"), "released");
  EXPECT_EQ(Int(log[1], "at"), kT0 + 1);
  EXPECT_EQ(Str(log[2], "note"), "first");
  EXPECT_EQ(List(h.Run(ClaimLogCmd("job", 1)), "entries").size(), 1u);
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("nothing")), "entries").empty());
  EXPECT_FALSE(h.last_logged);
}

TEST(ClaimsTest, ClaimLogIsBounded) {
  Harness h;
  for (size_t i = 0; i < kClaimLogPerKeyMax + 5; ++i) {
    h.Run(ClaimCmd("job", "owner" + std::to_string(i)));
    h.Run(UnclaimCmd("job", "owner" + std::to_string(i)));
  }
  auto log = List(h.Run(ClaimLogCmd("job", kCountMax)), "entries");
  ASSERT_EQ(log.size(), kClaimLogPerKeyMax);
  EXPECT_EQ(Str(log[0], "event"), "released");
  EXPECT_EQ(Str(log[0], "owner"), "owner" + std::to_string(kClaimLogPerKeyMax + 4));
}

TEST(ClaimsTest, LogOfEndedClaimIsForgottenAfterRetention) {
  EngineConfig config;
  config.id_retention_ms = 1000;
  Harness h(config);
  h.Run(ClaimCmd("job", "alice", Ttl(100)));
  h.now_ms = kT0 + 100 + 999;
  EXPECT_EQ(List(h.Run(ClaimLogCmd("job")), "entries").size(), 2u);
  h.now_ms = kT0 + 100 + 1000;
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("job")), "entries").empty());

  h.Run(ClaimCmd("other", "alice"));
  h.now_ms += 10;
  h.Run(UnclaimCmd("other", "alice"));
  const int64_t released_at = h.now_ms;
  h.now_ms = released_at + 999;
  EXPECT_EQ(List(h.Run(ClaimLogCmd("other")), "entries").size(), 2u);
  h.now_ms = released_at + 1000;
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("other")), "entries").empty());
}

TEST(ClaimsTest, NewClaimKeepsLogPastOldRetention) {
  EngineConfig config;
  config.id_retention_ms = 1000;
  Harness h(config);
  h.Run(ClaimCmd("job", "alice"));
  h.Run(UnclaimCmd("job", "alice"));
  h.now_ms += 500;
  h.Run(ClaimCmd("job", "bob"));
  h.now_ms += 5000;
  EXPECT_EQ(List(h.Run(ClaimLogCmd("job")), "entries").size(), 3u);
}

TEST(ClaimsTest, TableMaximumRefusesWithErrorAndNoChange) {
  EngineConfig config;
  config.claims_max = 2;
  Harness h(config);
  h.Run(ClaimCmd("a", "x"));
  h.Run(ClaimCmd("b", "x"));
  const std::string before = h.engine.SaveState();
  Reply full = h.Run(ClaimCmd("c", "x"));
  EXPECT_TRUE(full.is_error());
  EXPECT_EQ(full.error_code, "ERR");
  EXPECT_EQ(full.error_message, "claims table full (max 2)");
  EXPECT_FALSE(h.last_logged);
  EXPECT_EQ(h.engine.SaveState(), before);
  // Repeats and releases still work at the limit.
  EXPECT_EQ(h.Run(ClaimCmd("a", "x")).result(), "again");
  h.Run(UnclaimCmd("a", "x"));
  EXPECT_EQ(h.Run(ClaimCmd("c", "x")).result(), "won");
  EXPECT_EQ(h.engine.stats().claims, 2u);
}

TEST(ClaimsTest, StatsCountLiveClaims) {
  Harness h;
  h.Run(ClaimCmd("a", "x", Ttl(10)));
  h.Run(ClaimCmd("b", "x"));
  EXPECT_EQ(h.engine.stats().claims, 2u);
  h.now_ms += 10;
  h.Run(ClaimOfCmd("a"));
  EXPECT_EQ(h.engine.stats().claims, 1u);
}

}  // namespace
}  // namespace exactly::core
