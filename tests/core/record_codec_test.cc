// Batch records: round trips of every field, groups keeping only what changed,
// and refusal of malformed payloads.
#include "core/record_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "core/engine_harness.h"

namespace exactly::core {
namespace {

using testing::ClaimCmd;
using testing::GroupCmd;
using testing::Per;
using testing::TransferCmd;

Command Resolved(Command command) {
  command.resolved = true;
  for (Command& sub : command.group) sub.resolved = true;
  return command;
}

void ExpectSame(const Command& a, const Command& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.amount, b.amount);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.time.kind, b.time.kind);
  EXPECT_EQ(a.time.ttl_ms, b.time.ttl_ms);
  EXPECT_EQ(a.time.until_ms, b.time.until_ms);
  EXPECT_EQ(a.time.period, b.time.period);
  EXPECT_EQ(a.time.at_minutes, b.time.at_minutes);
  EXPECT_EQ(a.time.tz_minutes, b.time.tz_minutes);
  EXPECT_EQ(a.persist, b.persist);
  EXPECT_EQ(a.note, b.note);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.expires_ms, b.expires_ms);
  EXPECT_EQ(a.window_ms, b.window_ms);
  EXPECT_EQ(a.remember_until_ms, b.remember_until_ms);
  EXPECT_TRUE(b.resolved);
  ASSERT_EQ(a.group.size(), b.group.size());
  for (size_t i = 0; i < a.group.size(); ++i) ExpectSame(a.group[i], b.group[i]);
}

TEST(RecordCodecTest, RoundTripsEveryField) {
  Command claim =
      ClaimCmd(std::string("k\0ey", 4), "owner", Per(Period::kMonth, 75, -300), true, "a note");
  claim.expires_ms = 123;
  claim.window_ms = -456;
  claim.remember_until_ms = std::numeric_limits<int64_t>::max();
  Command account = testing::AccountCmd("acct", testing::Infinite(), testing::Finite(-7));
  Command transfer = TransferCmd("id", "from", "to", std::numeric_limits<int64_t>::max());
  transfer.count = 5;
  std::vector<Command> commands = {Resolved(claim), Resolved(account), Resolved(transfer)};
  const std::string bytes = EncodeRecord(-42, commands);
  auto decoded = DecodeRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->timestamp_ms, -42);
  ASSERT_EQ(decoded->commands.size(), 3u);
  for (size_t i = 0; i < commands.size(); ++i) ExpectSame(commands[i], decoded->commands[i]);
}

TEST(RecordCodecTest, RandomCommandsRoundTrip) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    std::vector<Command> commands;
    for (int i = 0; i < 5; ++i) commands.push_back(Resolved(testing::RandomCommand(rng)));
    auto decoded = DecodeRecord(EncodeRecord(round, commands));
    ASSERT_TRUE(decoded.ok());
    ASSERT_EQ(decoded->commands.size(), commands.size());
    for (size_t i = 0; i < commands.size(); ++i) ExpectSame(commands[i], decoded->commands[i]);
  }
}

TEST(RecordCodecTest, GroupKeepsOnlyMarkedCommands) {
  Command group = Resolved(GroupCmd({ClaimCmd("a", "x"), ClaimCmd("b", "x"), ClaimCmd("c", "x")}));
  std::string bytes;
  RecordWriter writer(&bytes);
  writer.Begin(7);
  const std::vector<uint8_t> keep = {1, 0, 1};
  writer.AddGroup(group, keep);
  auto decoded = DecodeRecord(bytes);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->commands.size(), 1u);
  ASSERT_EQ(decoded->commands[0].group.size(), 2u);
  EXPECT_EQ(decoded->commands[0].group[0].key, "a");
  EXPECT_EQ(decoded->commands[0].group[1].key, "c");
}

TEST(RecordCodecTest, SmallClaimRecord) {
  // A claim costs its strings plus a handful of bytes: the journal is the hot path.
  std::vector<Command> commands = {Resolved(ClaimCmd("key", "owner"))};
  EXPECT_LE(EncodeRecord(1'700'000'000'000, commands).size(), 1u + 6 + 2 + 4 + 6 + 2);
}

TEST(RecordCodecTest, RejectsMalformedPayloads) {
  std::vector<Command> commands = {Resolved(TransferCmd("id", "from", "to", 5))};
  const std::string good = EncodeRecord(99, commands);
  EXPECT_FALSE(DecodeRecord("").ok());
  std::string wrong_version = good;
  wrong_version[0] = 9;
  EXPECT_FALSE(DecodeRecord(wrong_version).ok());
  // Every strict prefix longer than the header is a torn command.
  for (size_t size = 2; size < good.size(); ++size) {
    auto decoded = DecodeRecord(good.substr(0, size));
    if (decoded.ok()) {
      // Only the header-only prefix (no commands) may decode.
      EXPECT_TRUE(decoded->commands.empty()) << size;
    }
  }
  std::string bad_kind = good;
  bad_kind[EncodeRecord(99, {}).size()] = 0x7f;  // the first command's kind byte
  EXPECT_FALSE(DecodeRecord(bad_kind).ok());
  std::string huge_string = EncodeRecord(1, {});
  huge_string += '\x01';                           // kind claim
  huge_string += '\x01';                           // key present
  huge_string += std::string("\xff\xff\xff\x7f");  // key length far past the end
  EXPECT_FALSE(DecodeRecord(huge_string).ok());
}

TEST(RecordCodecTest, RejectsNestedGroups) {
  std::string bytes = EncodeRecord(1, {});
  bytes += '\x0c';                          // group
  bytes += std::string("\x80\x80\x02", 3);  // present: group bit (1 << 15)
  bytes += '\x01';                          // one sub-command
  bytes += '\x0c';
  bytes += std::string("\x80\x80\x02", 3);
  bytes += '\x00';
  EXPECT_FALSE(DecodeRecord(bytes).ok());
}

}  // namespace
}  // namespace exactly::core
