// Batch records: round trips of every field, groups keeping only what changed,
// and refusal of malformed payloads.
#include "core/record_codec.h"

#include <gtest/gtest.h>

#include <limits>
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

// Equality is each kind's defaulted one, over every member (command.h checks at
// compile time that each kind's field list names every member too).
void ExpectSame(const Command& a, const Command& b) {
  EXPECT_TRUE(b.resolved);
  EXPECT_EQ(a, b);
}

TEST(RecordCodecTest, RoundTripsEveryField) {
  Command claim =
      ClaimCmd(std::string("k\0ey", 4), "owner", Per(Period::kMonth, 75, -300), true, "a note");
  claim.expires_ms = 123;
  claim.window_ms = -456;
  claim.remember_until_ms = std::numeric_limits<int64_t>::max();
  Command account = testing::AccountCmd("acct", testing::Infinite(), testing::Finite(-7));
  Command transfer = TransferCmd("id", "from", "to", std::numeric_limits<int64_t>::max());
  Command lock = testing::LockCmd("l", "o", 1000, 500, "req");
  lock.remember_until_ms = 77;
  std::vector<Command> commands = {Resolved(claim),
                                   Resolved(account),
                                   Resolved(transfer),
                                   Resolved(testing::ReserveCmd("r", "a", "b", 3, 900)),
                                   Resolved(testing::HistoryCmd("h", 9)),
                                   Resolved(lock),
                                   Resolved(testing::RenewCmd("l", 12, 2000)),
                                   Resolved(testing::IdemBeginCmd("i", "fp", 100, 200, 300)),
                                   Resolved(testing::IdemEndCmd("i", 13, "resp")),
                                   Resolved(testing::CancelWaiterCmd(99))};
  const std::string bytes = EncodeRecord(-42, commands);
  auto decoded = DecodeRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->timestamp_ms, -42);
  ASSERT_EQ(decoded->commands.size(), commands.size());
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
  EXPECT_EQ(decoded->commands[0].group[0].As<cmd::Claim>().key, "a");
  EXPECT_EQ(decoded->commands[0].group[1].As<cmd::Claim>().key, "c");
}

TEST(RecordCodecTest, DropsFieldsTheKindDoesNotHave) {
  // Before the commands were typed any field could be stored with any kind; a
  // record that carries one its kind has no member for (here a TRANSFER with a
  // COUNT) is read, and the field dropped.
  std::string bytes = EncodeRecord(1, {});
  bytes += '\x06';                      // transfer
  bytes += std::string("\x84\x10", 2);  // present: id (bit 2) and count (bit 11)
  bytes += std::string("\x01t", 2);     // id "t"
  bytes += '\x0a';                      // count 5, zigzag
  auto decoded = DecodeRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->commands.size(), 1u);
  EXPECT_EQ(decoded->commands[0], Resolved(TransferCmd("t", "", "", 0)));
}

TEST(RecordCodecTest, DecodingIntoAUsedRecordResetsEveryField) {
  // Replay decodes every record into one DecodedRecord: nothing of a command of
  // the previous record may survive into the next one, of the same kind or not.
  DecodedRecord record;
  std::vector<Command> first = {
      Resolved(ClaimCmd("k", "o", Per(Period::kDay), true, "note")),
      Resolved(TransferCmd("t", "a", "b", 5)),
      Resolved(GroupCmd({ClaimCmd("g", "o")})),
  };
  first[0].expires_ms = 9;
  ASSERT_TRUE(DecodeRecordInto(EncodeRecord(1, first), &record).ok());
  std::vector<Command> second = {Resolved(ClaimCmd("k2", "o2")), Resolved(ClaimCmd("k3", "o3"))};
  ASSERT_TRUE(DecodeRecordInto(EncodeRecord(2, second), &record).ok());
  ASSERT_EQ(record.commands.size(), second.size());
  for (size_t i = 0; i < second.size(); ++i) EXPECT_EQ(record.commands[i], second[i]);
}

TEST(RecordCodecTest, BoundCoversEveryKindsRecord) {
  // RecordBytesBound comes from the same field lists: check it against what the
  // writer writes, for every kind with long strings and the widest integers.
  std::vector<Command> commands = {
      ClaimCmd(std::string(512, 'k'), std::string(256, 'o'), Per(Period::kMonth, -1, -1), true,
               std::string(1024, 'n')),
      TransferCmd(std::string(256, 'i'), std::string(512, 'f'), std::string(512, 't'),
                  std::numeric_limits<int64_t>::min(), Per(Period::kWeek), std::string(1024, 'n')),
      testing::ReserveCmd("r", "a", "b", -1, std::numeric_limits<int64_t>::min()),
      testing::IdemEndCmd(std::string(512, 'k'), ~uint64_t{0}, std::string(65536, 'r')),
      testing::LockCmd("l", "o", std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::min(), std::string(256, 'i')),
      GroupCmd({ClaimCmd("a", "b"), testing::CommitCmd("c")}),
  };
  for (Command& command : commands) {
    command = Resolved(command);
    command.expires_ms = std::numeric_limits<int64_t>::min();
    command.window_ms = std::numeric_limits<int64_t>::min();
    command.remember_until_ms = std::numeric_limits<int64_t>::min();
    const size_t written = EncodeRecord(0, {&command, 1}).size() - EncodeRecord(0, {}).size();
    EXPECT_LE(written, RecordBytesBound(command)) << ::testing::PrintToString(command);
  }
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
