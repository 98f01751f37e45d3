// JournalWriter: framing, lsn order, segment rollover and its durability steps.
#include "storage/journal_writer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "storage/journal_reader.h"
#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::kDir;
using test::PayloadFor;
using test::SegmentPath;
using testing::FaultFileSystem;

TEST(JournalWriterTest, OpenCreatesADurableSegmentWithItsHeader) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{41});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ((*writer)->segment_path(), SegmentPath(kDir, 42));
  fs.Crash();  // the name and the header were synced at open
  std::string bytes = fs.Contents(SegmentPath(kDir, 42));
  ASSERT_EQ(bytes.size(), kSegmentHeaderBytes);
  std::optional<SegmentHeader> header = DecodeSegmentHeader(bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->first_lsn, Lsn{42});
  EXPECT_EQ(header->version, kJournalVersion);
}

TEST(JournalWriterTest, AppendRequiresTheNextLsn) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ((*writer)->Append(Lsn{2}, "x").code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->Append(Lsn{0}, "x").code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*writer)->Append(Lsn{1}, "x").ok());
  EXPECT_EQ((*writer)->Append(Lsn{1}, "x").code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->last_lsn(), Lsn{1});
}

TEST(JournalWriterTest, AppendBuffersUntilFlush) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(Lsn{1}, "abc").ok());
  EXPECT_EQ(fs.Contents(SegmentPath(kDir, 1)).size(), kSegmentHeaderBytes);
  ASSERT_TRUE((*writer)->Flush().ok());
  std::string expected;
  EncodeSegmentHeader(Lsn{1}, &expected);
  EncodeRecord(Lsn{1}, kSegmentHeaderBytes, "abc", &expected);
  EXPECT_EQ(fs.Contents(SegmentPath(kDir, 1)), expected);
}

TEST(JournalWriterTest, RollsSegmentsAtTheSizeAndNeverSplitsARecord) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0}, JournalWriterOptions{.segment_bytes = 200});
  ASSERT_TRUE(writer.ok());
  for (uint64_t lsn = 1; lsn <= 40; ++lsn) {
    ASSERT_TRUE((*writer)->Append(Lsn{lsn}, PayloadFor(Lsn{lsn})).ok());
  }
  ASSERT_TRUE((*writer)->Sync().ok());
  auto segments = ListSegments(fs, kDir);
  ASSERT_TRUE(segments.ok());
  ASSERT_GT(segments->size(), 3u);
  uint64_t largest_record = 0;
  for (uint64_t lsn = 1; lsn <= 40; ++lsn) {
    largest_record =
        std::max<uint64_t>(largest_record, kRecordHeaderBytes + PayloadFor(Lsn{lsn}).size());
  }
  uint64_t next = 1;
  for (const SegmentFile& segment : *segments) {
    EXPECT_EQ(segment.first_lsn, Lsn{next});
    std::string bytes = fs.Contents(std::string(kDir) + "/" + segment.name);
    auto scan = ScanSegment(bytes, segment.first_lsn,
                            [](Lsn, std::string_view) { return base::Status::Ok(); });
    ASSERT_TRUE(scan.ok());
    EXPECT_EQ(scan->end, SegmentEnd::kClean);
    EXPECT_GE(scan->records, 1u);
    // A segment passes the size by less than one record.
    EXPECT_LT(bytes.size(), 200 + largest_record);
    next = scan->last_lsn.value + 1;
  }
  EXPECT_EQ(next, 41u);
  EXPECT_EQ((*writer)->segment_path(), std::string(kDir) + "/" + segments->back().name);
}

TEST(JournalWriterTest, RolledSegmentsSurviveACrashOnceSynced) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0}, JournalWriterOptions{.segment_bytes = 100});
  ASSERT_TRUE(writer.ok());
  for (uint64_t lsn = 1; lsn <= 20; ++lsn) {
    ASSERT_TRUE((*writer)->Append(Lsn{lsn}, PayloadFor(Lsn{lsn})).ok());
  }
  ASSERT_TRUE((*writer)->Sync().ok());
  fs.Crash();
  test::Recovered out = test::RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  test::ExpectRecords(out.records, 1, 20);
}

TEST(JournalWriterTest, RefusesToOverwriteASegmentHoldingRecords) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{3});
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(fs.Contents(SegmentPath(kDir, 1)).size(),
            kSegmentHeaderBytes + 3 * kRecordHeaderBytes + PayloadFor(Lsn{1}).size() +
                PayloadFor(Lsn{2}).size() + PayloadFor(Lsn{3}).size());
}

TEST(JournalWriterTest, ReplacesAnEmptySegmentLeftByACrash) {
  FaultFileSystem fs;
  { ASSERT_TRUE(OpenJournalWriter(fs, kDir, Lsn{0}).ok()); }
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Append(Lsn{1}, "one").ok());
  ASSERT_TRUE((*writer)->Sync().ok());
  test::Recovered out = test::RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok());
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].second, "one");
}

TEST(JournalWriterTest, FailuresLatch) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(Lsn{1}, "one").ok());
  fs.FailSyncsAfter(0);
  EXPECT_EQ((*writer)->Sync().code(), base::StatusCode::kIoError);
  fs.FailSyncsAfter(-1);
  EXPECT_EQ((*writer)->Append(Lsn{2}, "two").code(), base::StatusCode::kIoError);
  EXPECT_EQ((*writer)->Sync().code(), base::StatusCode::kIoError);
}

TEST(JournalWriterTest, RejectsAnOversizedPayload) {
  FaultFileSystem fs;
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  ASSERT_TRUE(writer.ok());
  std::string big(kRecordPayloadBytesMax + 1, 'x');
  EXPECT_EQ((*writer)->Append(Lsn{1}, big).code(), base::StatusCode::kInvalidArgument);
  big.pop_back();
  EXPECT_TRUE((*writer)->Append(Lsn{1}, big).ok());
}

}  // namespace
}  // namespace exactly::storage
