// Raft entries of replicated mode: version 2 carries several records, and version 1
// entries (the log of builds before entry batching) still replay.
#include "server/log_entry.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/engine_harness.h"
#include "server/replicated_log.h"
#include "server/state_digest.h"

namespace exactly::server {
namespace {

using core::testing::ClaimCmd;
using core::testing::Harness;

std::string_view RecordOf(std::string_view entry, const LogEntryRecord& record) {
  return entry.substr(record.offset, record.size);
}

// Three batches, three records.
void ThreeRecords(Harness& h) {
  h.Run(ClaimCmd("a", "x"));
  h.Run(ClaimCmd("b", "y"));
  h.Run(ClaimCmd("c", "z"));
  EXPECT_EQ(h.records.size(), 3u);
}

TEST(LogEntryTest, VersionOneBytesAsTheEarlierBuildWroteThem) {
  // Spelled out byte by byte, not through the encoder, so the format stays pinned.
  std::string entry;
  entry.push_back('\x01');
  entry.append("\x07\x00\x00\x00\x00\x00\x00\x00", 8);  // lsn 7
  entry.append("\x22\x11\x00\x00\x00\x00\x00\x00", 8);  // incarnation 0x1122
  entry.append("RECORD");
  EXPECT_EQ(entry, EncodeLogEntryVersion1(Lsn{7}, 0x1122, "RECORD"));
  uint64_t incarnation = 0;
  std::vector<LogEntryRecord> records;
  ASSERT_TRUE(DecodeLogEntry(entry, &incarnation, &records).ok());
  EXPECT_EQ(incarnation, 0x1122u);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].lsn, Lsn{7});
  EXPECT_EQ(RecordOf(entry, records[0]), "RECORD");
}

TEST(LogEntryTest, VersionTwoCarriesRecordsInOrder) {
  Harness h;
  ThreeRecords(h);
  LogEntryWriter writer(42);
  for (const auto& [lsn, record] : h.records) writer.Add(lsn, record);
  EXPECT_EQ(writer.count(), 3u);
  const std::string entry = writer.Finish();
  EXPECT_EQ(writer.count(), 0u);
  EXPECT_EQ(static_cast<uint8_t>(entry[0]), kLogEntryVersion2);
  uint64_t incarnation = 0;
  std::vector<LogEntryRecord> records;
  ASSERT_TRUE(DecodeLogEntry(entry, &incarnation, &records).ok());
  EXPECT_EQ(incarnation, 42u);
  ASSERT_EQ(records.size(), 3u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].lsn, h.records[i].first);
    EXPECT_EQ(RecordOf(entry, records[i]), h.records[i].second);
  }
}

TEST(LogEntryTest, MalformedEntriesAreCorruption) {
  Harness h;
  ThreeRecords(h);
  LogEntryWriter writer(1);
  writer.Add(h.records[0].first, h.records[0].second);
  writer.Add(h.records[1].first, h.records[1].second);
  const std::string good = writer.Finish();
  uint64_t incarnation = 0;
  std::vector<LogEntryRecord> records;
  ASSERT_TRUE(DecodeLogEntry(good, &incarnation, &records).ok());  // the control
  std::vector<std::string> bad = {
      std::string(),                            // empty
      good.substr(0, good.size() - 1),          // a record cut short
      good + "x",                               // bytes after the last record
      std::string("\x03", 1) + good.substr(1),  // an unknown version
      std::string("\x01\x01", 2),               // a short version 1 head
      good.substr(0, kLogEntryHeadBytes - 1),   // a short version 2 head
  };
  std::string zero_count = good;
  zero_count.replace(9, 4, std::string(4, '\0'));
  bad.push_back(zero_count);
  // The second record's lsn made equal to the first's.
  std::string same_lsn = good;
  const size_t second = kLogEntryHeadBytes + kLogEntryRecordHeadBytes + h.records[0].second.size();
  same_lsn.replace(second, 8, good.substr(kLogEntryHeadBytes, 8));
  bad.push_back(same_lsn);
  for (const std::string& entry : bad) {
    EXPECT_FALSE(DecodeLogEntry(entry, &incarnation, &records).ok()) << entry.size();
  }
}

// The committed engine replays a log of version 1 entries, then version 2 ones, to
// the state the records make on a single node.
TEST(LogEntryTest, ALogOfBothVersionsReplaysIntoTheCommittedEngine) {
  Harness h;
  ThreeRecords(h);
  h.Run(ClaimCmd("d", "w"));
  ASSERT_EQ(h.records.size(), 4u);
  boost::asio::io_context io;
  ReplicatedLog log(io, core::EngineConfig{});
  ASSERT_TRUE(
      log.Apply(1, EncodeLogEntryVersion1(h.records[0].first, 9, h.records[0].second)).ok());
  ASSERT_TRUE(
      log.Apply(2, EncodeLogEntryVersion1(h.records[1].first, 9, h.records[1].second)).ok());
  LogEntryWriter writer(10);
  writer.Add(h.records[2].first, h.records[2].second);
  writer.Add(h.records[3].first, h.records[3].second);
  ASSERT_TRUE(log.Apply(3, writer.Finish()).ok());
  Lsn applied;
  const std::string state = log.CommittedState(&applied);
  EXPECT_EQ(applied, h.records[3].first);
  EXPECT_EQ(StateDigest(state), StateDigest(h.engine.SaveState()));
  EXPECT_EQ(StateDigest(state), StateDigest(h.Replayed()->SaveState()));
}

TEST(LogEntryTest, AnEntryItCannotReadStopsTheCommittedEngine) {
  boost::asio::io_context io;
  ReplicatedLog log(io, core::EngineConfig{});
  EXPECT_FALSE(log.Apply(1, std::string("\x02garbage", 8)).ok());
  Lsn applied{5};
  log.CommittedState(&applied);
  EXPECT_EQ(applied, Lsn{0});
}

}  // namespace
}  // namespace exactly::server
