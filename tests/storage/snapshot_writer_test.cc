// Snapshots: atomic writes, verification on read, and pruning.
#include "storage/snapshot_writer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "storage/journal_reader.h"
#include "storage/snapshot_format.h"
#include "storage/snapshot_reader.h"
#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::kDir;
using testing::FaultFileSystem;

std::string SnapPath(uint64_t lsn) { return std::string(kDir) + "/" + SnapshotFileName(Lsn{lsn}); }
std::string TempPath(uint64_t lsn) {
  return std::string(kDir) + "/" + SnapshotTempFileName(Lsn{lsn});
}

TEST(SnapshotWriterTest, WrittenSnapshotIsDurableAndReadsBack) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.CreateDir(kDir).ok());
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{9}, "the state").ok());
  fs.Crash();
  EXPECT_FALSE(fs.Exists(TempPath(9)));
  auto snapshot = ReadSnapshot(fs, kDir, Lsn{9});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->lsn, Lsn{9});
  EXPECT_EQ(snapshot->state, "the state");
  EXPECT_EQ(fs.Contents(SnapPath(9)).substr(0, 4), "EXSN");
}

TEST(SnapshotWriterTest, FailedSyncLeavesNoSnapshot) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.CreateDir(kDir).ok());
  fs.FailSyncsAfter(0);
  EXPECT_EQ(WriteSnapshot(fs, kDir, Lsn{9}, "the state").code(), base::StatusCode::kIoError);
  EXPECT_FALSE(fs.Exists(SnapPath(9)));
}

TEST(SnapshotWriterTest, RenameIsNotDurableWithoutTheDirectorySync) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.CreateDir(kDir).ok());
  fs.FailDirSyncs(true);
  EXPECT_EQ(WriteSnapshot(fs, kDir, Lsn{9}, "the state").code(), base::StatusCode::kIoError);
  fs.Crash();
  EXPECT_FALSE(fs.Exists(SnapPath(9)));
}

TEST(SnapshotReaderTest, EveryFlippedBitIsCorruption) {
  FaultFileSystem written;
  ASSERT_TRUE(written.CreateDir(kDir).ok());
  ASSERT_TRUE(WriteSnapshot(written, kDir, Lsn{3}, "state!").ok());
  const std::string whole = written.Contents(SnapPath(3));
  for (uint64_t bit = 0; bit < whole.size() * 8; ++bit) {
    // The reserved header field is not covered by the checksum.
    if (bit / 8 >= 36 && bit / 8 < kSnapshotHeaderBytes) continue;
    FaultFileSystem fs;
    fs.SetContents(SnapPath(3), whole);
    fs.FlipBit(SnapPath(3), bit / 8, static_cast<int>(bit % 8));
    auto snapshot = ReadSnapshot(fs, kDir, Lsn{3});
    ASSERT_FALSE(snapshot.ok()) << "bit " << bit;
    EXPECT_EQ(snapshot.status().code(), base::StatusCode::kCorruption);
  }
}

TEST(SnapshotReaderTest, TruncatedOrRenamedSnapshotIsCorruption) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.CreateDir(kDir).ok());
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{3}, "state!").ok());
  std::string whole = fs.Contents(SnapPath(3));
  fs.SetContents(SnapPath(4), whole);  // header says 3
  EXPECT_EQ(ReadSnapshot(fs, kDir, Lsn{4}).status().code(), base::StatusCode::kCorruption);
  fs.SetContents(SnapPath(3), whole.substr(0, whole.size() - 1));
  EXPECT_EQ(ReadSnapshot(fs, kDir, Lsn{3}).status().code(), base::StatusCode::kCorruption);
  fs.SetContents(SnapPath(3), whole.substr(0, 10));
  EXPECT_EQ(ReadSnapshot(fs, kDir, Lsn{3}).status().code(), base::StatusCode::kCorruption);
  EXPECT_EQ(ReadSnapshot(fs, kDir, Lsn{5}).status().code(), base::StatusCode::kNotFound);
}

TEST(SnapshotReaderTest, ListsNewestFirstAndIgnoresOtherFiles) {
  FaultFileSystem fs;
  ASSERT_TRUE(fs.CreateDir(kDir).ok());
  for (uint64_t lsn : {5, 20, 7}) ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{lsn}, "s").ok());
  fs.SetContents(TempPath(30), "partial");
  fs.SetContents(std::string(kDir) + "/notes.txt", "x");
  auto lsns = ListSnapshots(fs, kDir);
  ASSERT_TRUE(lsns.ok());
  EXPECT_EQ(*lsns, (std::vector<Lsn>{Lsn{20}, Lsn{7}, Lsn{5}}));
}

std::vector<std::string> SortedNames(FaultFileSystem& fs) {
  auto names = fs.ListDir(kDir);
  EXACTLY_ASSERT(names.ok());
  std::sort(names->begin(), names->end());
  return *names;
}

TEST(PruneBeforeTest, RemovesOnlyWhatTheSnapshotCovers) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  auto before = ListSegments(fs, kDir);
  ASSERT_TRUE(before.ok());
  ASSERT_GE(before->size(), 4u);
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{10}, "old").ok());
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{40}, "new").ok());
  fs.SetContents(TempPath(39), "leftover");
  fs.SetContents(TempPath(50), "being written");
  ASSERT_TRUE(PruneBefore(fs, kDir, Lsn{40}).ok());
  fs.Crash();  // the removals were made durable

  EXPECT_FALSE(fs.Exists(SnapPath(10)));
  EXPECT_TRUE(fs.Exists(SnapPath(40)));
  EXPECT_FALSE(fs.Exists(TempPath(39)));
  EXPECT_TRUE(fs.Exists(TempPath(50)));
  for (size_t i = 0; i < before->size(); ++i) {
    const SegmentFile& segment = (*before)[i];
    bool last = i + 1 == before->size();
    bool covered = !last && (*before)[i + 1].first_lsn.value <= 41;
    EXPECT_EQ(fs.Exists(std::string(kDir) + "/" + segment.name), !covered) << segment.name;
  }
  test::Recovered out = test::RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.report.snapshot_lsn, Lsn{40});
  test::ExpectRecords(out.records, 41, 60);
}

TEST(PruneBeforeTest, NeverRemovesTheNewestSegment) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{10});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{10}, "all").ok());
  ASSERT_TRUE(PruneBefore(fs, kDir, Lsn{10}).ok());
  EXPECT_TRUE(fs.Exists(test::SegmentPath(kDir, 1)));
}

TEST(PruneBeforeTest, MissingSnapshotRemovesNothing) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{30}, JournalWriterOptions{.segment_bytes = 200});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{5}, "old").ok());
  std::vector<std::string> before = SortedNames(fs);
  EXPECT_EQ(PruneBefore(fs, kDir, Lsn{25}).code(), base::StatusCode::kNotFound);
  EXPECT_EQ(SortedNames(fs), before);
}

}  // namespace
}  // namespace exactly::storage
