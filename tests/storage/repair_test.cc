// Repair: cut at the first bad record, keep everything before it.
#include "storage/repair.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "storage/journal_format.h"
#include "storage/journal_reader.h"
#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::kDir;
using test::PayloadFor;
using testing::FaultFileSystem;

TEST(RepairTest, CleanJournalIsLeftAlone) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{10});
  std::string before = fs.Contents(test::SegmentPath(kDir, 1));
  auto report = Repair(fs, kDir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->bytes_cut, 0u);
  EXPECT_EQ(report->last_lsn, Lsn{10});
  EXPECT_EQ(fs.Contents(test::SegmentPath(kDir, 1)), before);
}

TEST(RepairTest, CutsAtTheFirstBadRecordAndDropsLaterSegments) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  auto segments = ListSegments(fs, kDir);
  ASSERT_TRUE(segments.ok());
  ASSERT_GE(segments->size(), 4u);
  const SegmentFile damaged = (*segments)[1];
  const std::string path = std::string(kDir) + "/" + damaged.name;
  // Damage the second record of the second segment.
  const uint64_t offset =
      kSegmentHeaderBytes + kRecordHeaderBytes + PayloadFor(damaged.first_lsn).size();
  fs.FlipBit(path, offset + 30, 1);
  uint64_t expected_cut = fs.Contents(path).size() - offset;
  for (size_t i = 2; i < segments->size(); ++i) {
    expected_cut += fs.Contents(std::string(kDir) + "/" + (*segments)[i].name).size();
  }

  test::Recovered refused = test::RecoverAll(fs, kDir);
  ASSERT_EQ(refused.status.code(), base::StatusCode::kCorruption);

  auto report = Repair(fs, kDir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->cut_file, damaged.name);
  EXPECT_EQ(report->bytes_cut, expected_cut);
  EXPECT_EQ(report->last_lsn, damaged.first_lsn);
  EXPECT_EQ(fs.Contents(path).size(), offset);
  for (size_t i = 2; i < segments->size(); ++i) {
    EXPECT_FALSE(fs.Exists(std::string(kDir) + "/" + (*segments)[i].name));
  }

  fs.Crash();  // the cut is durable
  test::Recovered out = test::RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  test::ExpectRecords(out.records, 1, damaged.first_lsn.value);
}

TEST(RepairTest, RemovesASegmentWithABadHeader) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{30}, JournalWriterOptions{.segment_bytes = 300});
  auto segments = ListSegments(fs, kDir);
  ASSERT_TRUE(segments.ok());
  ASSERT_GE(segments->size(), 3u);
  const std::string path = std::string(kDir) + "/" + (*segments)[1].name;
  fs.FlipBit(path, 2, 0);  // magic
  auto report = Repair(fs, kDir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(fs.Exists(path));
  test::Recovered out = test::RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  test::ExpectRecords(out.records, 1, (*segments)[1].first_lsn.value - 1);
}

TEST(RepairTest, CannotInventMissingRecords) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{3}, Lsn{5});
  auto report = Repair(fs, kDir);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace exactly::storage
