// Engine state bytes: canonical order, round trips, expiry rebuilt on load, and
// refusal of malformed or invariant-breaking bytes.
#include "core/state_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "core/byte_codec.h"
#include "core/engine_harness.h"

namespace exactly::core {
namespace {

using testing::AccountCmd;
using testing::BalanceCmd;
using testing::ClaimCmd;
using testing::ClaimOfCmd;
using testing::Harness;
using testing::Infinite;
using testing::Int;
using testing::kT0;
using testing::ReserveCmd;
using testing::TransferCmd;
using testing::Ttl;

TEST(StateCodecTest, EmptyEngineRoundTrips) {
  Engine engine;
  const std::string bytes = engine.SaveState();
  Engine other;
  ASSERT_TRUE(other.LoadState(bytes).ok());
  EXPECT_EQ(other.SaveState(), bytes);
}

TEST(StateCodecTest, BytesDoNotDependOnInsertionOrder) {
  Harness forward;
  Harness backward;
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back("key" + std::to_string(i));
  for (const auto& key : keys) forward.Run(ClaimCmd(key, "x"));
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) backward.Run(ClaimCmd(*it, "x"));
  // Same final LSN and time, different insertion order.
  std::string a = forward.engine.SaveState();
  std::string b = backward.engine.SaveState();
  EngineState from_a;
  EngineState from_b;
  ASSERT_TRUE(DecodeState(a, &from_a).ok());
  ASSERT_TRUE(DecodeState(b, &from_b).ok());
  // The claim lsns differ (key0 was first in one and last in the other), but the
  // key order in the bytes is the same: check by re-encoding with equal lsns.
  for (const auto& key : keys) {
    ClaimSlot slot = *from_b.claims.Find(key);
    slot.lsn = from_a.claims.Find(key)->lsn;
    from_b.claims.Restore(key, slot);
  }
  EXPECT_EQ(EncodeState(from_a), EncodeState(from_b));
}

TEST(StateCodecTest, LoadedEngineExpiresLikeTheOriginal) {
  Harness h;
  h.Run(AccountCmd("bank", Infinite(), Infinite()));
  h.Run(AccountCmd("a"));
  h.Run(ClaimCmd("c", "x", Ttl(100)));
  h.Run(ReserveCmd("r", "bank", "a", 5, 200));
  Engine loaded;
  ASSERT_TRUE(loaded.LoadState(h.engine.SaveState()).ok());
  EXPECT_EQ(loaded.stats().claims, 1u);
  EXPECT_EQ(loaded.stats().pending, 1u);
  std::vector<Command> batch;
  batch.push_back(ClaimOfCmd("c"));
  batch.push_back(BalanceCmd("bank"));
  BatchOutput out;
  loaded.ApplyBatch(batch, TimestampMs{kT0 + 200}, Lsn{10}, &out);
  EXPECT_EQ(out.replies[0].result(), "free");
  EXPECT_EQ(Int(out.replies[1], "reserved"), 0);
  EXPECT_EQ(loaded.stats().pending, 0u);
}

TEST(StateCodecTest, RandomStatesRoundTrip) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  Harness h;
  for (int i = 0; i < 2000; ++i) {
    h.now_ms += static_cast<int64_t>(rng() % 300);
    h.Run(testing::RandomCommand(rng));
  }
  const std::string bytes = h.engine.SaveState();
  Engine other;
  ASSERT_TRUE(other.LoadState(bytes).ok());
  EXPECT_EQ(other.SaveState(), bytes);
  EXPECT_EQ(other.applied_lsn(), h.engine.applied_lsn());
  EXPECT_EQ(other.last_timestamp(), h.engine.last_timestamp());
}

TEST(StateCodecTest, RejectsTruncationsAndTrailingBytes) {
  Harness h;
  h.Run(AccountCmd("bank", Infinite(), Infinite()));
  h.Run(AccountCmd("a"));
  h.Run(TransferCmd("t", "bank", "a", 5, {}, "n"));
  h.Run(ClaimCmd("c", "x", Ttl(100), false, "note"));
  const std::string bytes = h.engine.SaveState();
  for (size_t size = 0; size < bytes.size(); ++size) {
    Engine other;
    EXPECT_FALSE(other.LoadState(bytes.substr(0, size)).ok()) << size;
  }
  Engine other;
  EXPECT_FALSE(other.LoadState(bytes + "x").ok());
  std::string wrong_version = bytes;
  wrong_version[0] = static_cast<char>(kStateVersion + 1);
  EXPECT_FALSE(other.LoadState(wrong_version).ok());
}

TEST(StateCodecTest, FailedLoadKeepsCurrentState) {
  Harness h;
  h.Run(ClaimCmd("c", "x"));
  const std::string before = h.engine.SaveState();
  EXPECT_FALSE(h.engine.LoadState("nonsense").ok());
  EXPECT_EQ(h.engine.SaveState(), before);
}

TEST(StateCodecTest, RejectsAccountOutsideItsBounds) {
  std::string bytes;
  ByteWriter writer(&bytes);
  writer.U8(kStateVersion);
  writer.U64(1);  // applied lsn
  writer.I64(0);  // last timestamp
  writer.U64(0);  // claims
  writer.U64(1);  // accounts
  writer.Bytes("a");
  writer.U8(0);  // min finite
  writer.I64(0);
  writer.U8(0);  // max finite
  writer.I64(10);
  writer.I64(11);  // balance above max
  writer.I64(0);
  writer.I64(0);
  writer.U64(1);
  writer.U64(0);  // history
  writer.U64(0);  // transfers
  EngineState state;
  EXPECT_FALSE(DecodeState(bytes, &state).ok());
}

}  // namespace
}  // namespace exactly::core

namespace exactly::core {
namespace {

// A version 2 snapshot (claims as fields) still loads, and is saved as version 3.
TEST(StateCodecTest, LoadsVersion2Claims) {
  std::string bytes;
  ByteWriter writer(&bytes);
  writer.U8(2);
  writer.U64(7);    // applied lsn
  writer.I64(kT0);  // last timestamp
  writer.U64(2);    // claims
  writer.Bytes("held");
  writer.U8(1);
  writer.Bytes("alice");
  for (int64_t time : {kT0 - 5, kT0 + 100, int64_t{-1}, kT0 + 200, int64_t{-1}}) writer.I64(time);
  writer.U64(3);  // lsn
  writer.U64(1);  // one log entry
  writer.U8(0);   // won
  for (int64_t time : {kT0 - 5, kT0 + 100, int64_t{-1}}) writer.I64(time);
  writer.Bytes("alice");
  writer.Bytes("");
  writer.Bytes("gone");
  writer.U8(0);
  writer.Bytes("");
  for (int64_t time : {kT0 - 9, int64_t{-1}, int64_t{-1}, int64_t{-1}, kT0 + 50}) writer.I64(time);
  writer.U64(4);
  writer.U64(1);
  writer.U8(1);  // released
  for (int64_t time : {kT0 - 8, int64_t{-1}, int64_t{-1}}) writer.I64(time);
  writer.Bytes("bob");
  writer.Bytes("");
  for (int i = 0; i < 8; ++i) writer.U64(0);  // accounts .. limits: none
  Engine engine;
  ASSERT_TRUE(engine.LoadState(bytes).ok());
  EXPECT_EQ(engine.stats().claims, 1u);
  const std::string saved = engine.SaveState();
  EXPECT_EQ(static_cast<uint8_t>(saved[0]), kStateVersion);
  EngineState state;
  ASSERT_TRUE(DecodeState(saved, &state).ok());
  const std::optional<ClaimSlot> held = state.claims.Find("held");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->owner, "alice");
  EXPECT_EQ(held->expires_ms, kT0 + 100);
  EXPECT_EQ(held->keep_log_until_ms, kT0 + 200);
  ASSERT_EQ(held->log.size(), 1u);
  const std::optional<ClaimSlot> gone = state.claims.Find("gone");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->live);
  EXPECT_EQ(gone->forget_ms, kT0 + 50);
  ASSERT_EQ(gone->log.size(), 1u);
  EXPECT_EQ(gone->log[0].owner, "bob");
  // The old slot is forgotten on time.
  std::vector<Command> batch;
  batch.push_back(ClaimOfCmd("held"));
  BatchOutput out;
  engine.ApplyBatch(batch, TimestampMs{kT0 + 100}, Lsn{8}, &out);
  EXPECT_EQ(out.replies[0].result(), "free");
  EXPECT_EQ(engine.stats().claims, 0u);
}

// A version this build does not know is refused with its number.
TEST(StateCodecTest, RefusesUnknownVersion) {
  std::string bytes(1, static_cast<char>(kStateVersion + 1));
  EngineState state;
  const base::Status status = DecodeState(bytes, &state);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.ToString().find("version"), std::string::npos) << status.ToString();
}

// Version 3 claim keys must ascend: a duplicate or a swap is refused.
TEST(StateCodecTest, RefusesClaimKeysOutOfOrder) {
  Harness h;
  h.Run(ClaimCmd("a", "x", Ttl(100)));
  h.Run(ClaimCmd("b", "y"));
  EngineState state;
  ASSERT_TRUE(DecodeState(h.engine.SaveState(), &state).ok());
  const RecordStore& records = state.claims.records();
  const std::string a(records.Value(records.Find("a")));
  const std::string b(records.Value(records.Find("b")));
  auto bytes_with = [&](std::vector<std::pair<std::string, std::string>> claims) {
    std::string bytes;
    ByteWriter writer(&bytes);
    writer.U8(3);
    writer.U64(2);
    writer.I64(kT0);
    writer.U64(claims.size());
    for (const auto& [key, value] : claims) {
      writer.Bytes(key);
      writer.Bytes(value);
    }
    for (int i = 0; i < 8; ++i) writer.U64(0);  // accounts .. limits: none
    return bytes;
  };
  Engine engine;
  EXPECT_TRUE(engine.LoadState(bytes_with({{"a", a}, {"b", b}})).ok());
  EXPECT_EQ(engine.stats().claims, 2u);
  EXPECT_FALSE(engine.LoadState(bytes_with({{"b", b}, {"a", a}})).ok());
  EXPECT_FALSE(engine.LoadState(bytes_with({{"a", a}, {"a", b}})).ok());
  EXPECT_FALSE(engine.LoadState(bytes_with({{"a", a.substr(0, a.size() - 1)}})).ok());
  EXPECT_EQ(engine.stats().claims, 2u);  // a failed load keeps the state
}

}  // namespace
}  // namespace exactly::core
