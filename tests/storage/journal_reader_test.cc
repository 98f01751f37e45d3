// ScanSegment's classification of how a segment ends (clean, torn, corrupt).
#include "storage/journal_reader.h"

#include <gtest/gtest.h>

#include "storage/journal_format.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

std::string Segment(uint64_t first, uint64_t count) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{first}, &bytes);
  for (uint64_t lsn = first; lsn < first + count; ++lsn) {
    EncodeRecord(Lsn{lsn}, "payload " + std::to_string(lsn), &bytes);
  }
  return bytes;
}

SegmentScan Scan(std::string_view bytes, uint64_t first, std::vector<uint64_t>* seen = nullptr) {
  auto scan = ScanSegment(bytes, Lsn{first}, [&](Lsn lsn, std::string_view) {
    if (seen != nullptr) seen->push_back(lsn.value);
    return base::Status::Ok();
  });
  EXACTLY_ASSERT(scan.ok());
  return scan.value();
}

TEST(JournalReaderTest, CleanSegment) {
  std::string bytes = Segment(10, 3);
  std::vector<uint64_t> seen;
  SegmentScan scan = Scan(bytes, 10, &seen);
  EXPECT_EQ(scan.end, SegmentEnd::kClean);
  EXPECT_EQ(scan.good_bytes, bytes.size());
  EXPECT_EQ(scan.records, 3u);
  EXPECT_EQ(scan.last_lsn, Lsn{12});
  EXPECT_EQ(seen, (std::vector<uint64_t>{10, 11, 12}));
}

TEST(JournalReaderTest, HeaderOnlySegmentIsCleanAndEmpty) {
  SegmentScan scan = Scan(Segment(5, 0), 5);
  EXPECT_EQ(scan.end, SegmentEnd::kClean);
  EXPECT_EQ(scan.records, 0u);
  EXPECT_EQ(scan.last_lsn, Lsn{4});
}

TEST(JournalReaderTest, ShortOrBadSegmentHeaderIsTorn) {
  EXPECT_EQ(Scan("", 1).end, SegmentEnd::kTorn);
  EXPECT_EQ(Scan(Segment(1, 0).substr(0, 23), 1).end, SegmentEnd::kTorn);
  std::string zeros(100, '\0');
  SegmentScan scan = Scan(zeros, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kTorn);
  EXPECT_EQ(scan.good_bytes, 0u);
}

TEST(JournalReaderTest, BadSegmentHeaderWithRecordsAfterIsCorrupt) {
  std::string bytes = Segment(1, 2);
  bytes[0] = 'X';
  SegmentScan scan = Scan(bytes, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
  EXPECT_EQ(scan.good_bytes, 0u);
  EXPECT_NE(scan.problem.find("valid record header follows at byte 24"), std::string::npos)
      << scan.problem;
}

// A damaged length must not hide the good records behind it.
TEST(JournalReaderTest, DamagedLengthStillFindsLaterRecords) {
  std::string bytes = Segment(1, 4);
  const uint64_t second = kSegmentHeaderBytes + kRecordHeaderBytes + 9;
  bytes[second + 5] ^= 0x40;  // payload length of record 2
  std::vector<uint64_t> seen;
  SegmentScan scan = Scan(bytes, 1, &seen);
  EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
  EXPECT_EQ(scan.good_bytes, second);
  EXPECT_EQ(scan.last_lsn, Lsn{1});
  EXPECT_EQ(seen, (std::vector<uint64_t>{1}));
}

TEST(JournalReaderTest, VisitorErrorStopsTheScan) {
  std::string bytes = Segment(1, 3);
  auto scan = ScanSegment(bytes, Lsn{1}, [](Lsn lsn, std::string_view) {
    return lsn == Lsn{2} ? base::Status::Corruption("bad record") : base::Status::Ok();
  });
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().message(), "bad record");
}

TEST(JournalReaderTest, ListSegmentsSortsAndIgnoresOtherFiles) {
  testing::FaultFileSystem fs;
  fs.SetContents("/d/journal-00000000000000000100.log", "");
  fs.SetContents("/d/journal-00000000000000000009.log", "");
  fs.SetContents("/d/snapshot-00000000000000000050.snap", "");
  fs.SetContents("/d/journal-00000000000000000009.log.bak", "");
  auto segments = ListSegments(fs, "/d");
  ASSERT_TRUE(segments.ok());
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_EQ((*segments)[0].first_lsn, Lsn{9});
  EXPECT_EQ((*segments)[1].first_lsn, Lsn{100});
}

}  // namespace
}  // namespace exactly::storage
