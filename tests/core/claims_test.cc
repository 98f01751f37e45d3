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

// Storage (claims.cc on a RecordStore): many keys through several index growths,
// notes and long owners beside the compact common case, erase by expiry and the
// reuse of freed record handles.
TEST(ClaimsStorageTest, ManyKeysThroughGrowthExpiryAndErase) {
  EngineConfig config;
  config.id_retention_ms = 10;
  Harness h(config);
  constexpr int kKeys = 20000;
  const std::string long_owner(200, 'o');
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    const std::string owner = i % 7 == 0 ? long_owner : "owner-" + std::to_string(i % 3);
    Reply won = h.Run(ClaimCmd(key, owner, i % 2 == 0 ? Ttl(1000) : TimeSpec{}, false,
                               i % 3 == 0 ? "note " + key : ""));
    ASSERT_EQ(won.result(), "won") << key;
  }
  EXPECT_EQ(h.engine.stats().claims, static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; i += 5) {
    const std::string owner = i % 7 == 0 ? long_owner : "owner-" + std::to_string(i % 3);
    ASSERT_EQ(h.Run(UnclaimCmd("k" + std::to_string(i), owner)).result(), "released");
  }
  for (int i = 1; i < kKeys; i += 997) {
    const std::string key = "k" + std::to_string(i);
    Reply of = h.Run(ClaimOfCmd(key));
    EXPECT_EQ(of.result(), i % 5 == 0 ? "free" : "held") << key;
    Reply log = h.Run(ClaimLogCmd(key));
    const auto& entries = List(log, "entries");
    ASSERT_EQ(entries.size(), i % 5 == 0 ? 2u : 1u) << key;
    const Reply& won = entries.back();
    EXPECT_EQ(Str(won, "event"), "won");
    EXPECT_EQ(Str(won, "note"), i % 3 == 0 ? "note " + key : "");
    EXPECT_EQ(Int(won, "expires"), i % 2 == 0 ? kT0 + 1000 : -1);
  }
  // A replay holds the same bytes (compared before time moves on: a read-only
  // batch leaves no record for the replay to reach its time).
  EXPECT_EQ(h.Replayed(config)->SaveState(), h.engine.SaveState());
  // Past the TTL and the retention: expired and released slots are gone.
  h.now_ms += 2000;
  h.Run(ClaimOfCmd("k1"));
  size_t held = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (i % 2 == 1 && i % 5 != 0) ++held;
  }
  EXPECT_EQ(h.engine.stats().claims, held);
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("k0")), "entries").empty());
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("k2")), "entries").empty());
  EXPECT_EQ(List(h.Run(ClaimLogCmd("k3")), "entries").size(), 1u);
  // A snapshot loads into the same bytes.
  const std::string state = h.engine.SaveState();
  Engine loaded(config);
  ASSERT_TRUE(loaded.LoadState(state).ok());
  EXPECT_EQ(loaded.SaveState(), state);
  EXPECT_EQ(loaded.stats().claims, held);
}

// A freed handle is reused by the next key; an expiry entry left for its old key
// must not end the new claim early, and one that falls due at the new claim's own
// time ends it once.
TEST(ClaimsStorageTest, StaleExpiryEntryOfAReusedHandle) {
  EngineConfig config;
  config.id_retention_ms = 10;
  Harness h(config);
  h.Run(ClaimCmd("a", "x", Ttl(1000)));  // entry at kT0 + 1000
  h.Run(ClaimCmd("b", "x", Ttl(500)));   // entry at kT0 + 500
  h.Run(UnclaimCmd("a", "x"));
  h.Run(UnclaimCmd("b", "x"));
  h.now_ms += 20;  // both slots forgotten, both handles free
  h.Run(ClaimOfCmd("a"));
  EXPECT_TRUE(List(h.Run(ClaimLogCmd("a")), "entries").empty());
  // The two new keys take the two freed handles (which one gets which does not
  // matter: each case is covered by one of them).
  h.Run(ClaimCmd("c", "y", Ttl(980)));  // ends at kT0 + 1000
  h.Run(ClaimCmd("d", "y", Ttl(980)));
  h.now_ms = kT0 + 600;  // past b's old entry
  EXPECT_EQ(h.Run(ClaimOfCmd("c")).result(), "held");
  EXPECT_EQ(h.Run(ClaimOfCmd("d")).result(), "held");
  h.now_ms = kT0 + 1000;
  EXPECT_EQ(h.Run(ClaimOfCmd("c")).result(), "free");
  EXPECT_EQ(h.Run(ClaimOfCmd("d")).result(), "free");
  for (const char* key : {"c", "d"}) {
    const auto& entries = List(h.Run(ClaimLogCmd(key)), "entries");
    ASSERT_EQ(entries.size(), 2u) << key;
    EXPECT_EQ(Str(entries[0], "event"), "expired");
    EXPECT_EQ(Int(entries[0], "at"), kT0 + 1000);
    EXPECT_EQ(Str(entries[1], "event"), "won");
  }
  EXPECT_EQ(h.engine.stats().claims, 0u);
}

// The newest CLAIMLOG entry is implicit while it is a note-less won; the bound of
// 32 entries counts it, through claims, persists, releases and expiries.
TEST(ClaimsStorageTest, LogBoundCountsTheImplicitEntry) {
  Harness h;
  for (int round = 0; round < 40; ++round) {
    const std::string note = round % 4 == 1 ? "n" + std::to_string(round) : "";
    ASSERT_EQ(h.Run(ClaimCmd("k", "o", Ttl(10), false, note)).result(), "won");
    if (round % 3 == 0) {
      h.Run(ClaimCmd("k", "o", {}, true));  // persisted
      h.Run(UnclaimCmd("k", "o"));
    } else if (round % 3 == 1) {
      h.Run(UnclaimCmd("k", "o"));
    } else {
      h.now_ms += 10;  // expires
    }
    h.now_ms += 1;
  }
  h.Run(ClaimCmd("k", "o"));
  const auto& entries = List(h.Run(ClaimLogCmd("k", 1000)), "entries");
  ASSERT_EQ(entries.size(), 32u);
  EXPECT_EQ(Str(entries[0], "event"), "won");
  EXPECT_EQ(Int(entries[0], "expires"), -1);
  EXPECT_EQ(Str(entries[1], "event"), "released");  // round 39
  EXPECT_EQ(Str(entries[2], "event"), "persisted");
  EXPECT_EQ(Str(entries[4], "event"), "expired");  // round 38
  const std::string state = h.engine.SaveState();
  Engine loaded;
  ASSERT_TRUE(loaded.LoadState(state).ok());
  EXPECT_EQ(loaded.SaveState(), state);
  EXPECT_EQ(h.Replayed()->SaveState(), state);
}

}  // namespace
}  // namespace exactly::core
