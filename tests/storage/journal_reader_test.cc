// ScanSegment's classification of how a segment ends (clean, torn, corrupt).
#include "storage/journal_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "storage/journal_format.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

std::string PayloadOf(uint64_t lsn) { return "payload " + std::to_string(lsn); }

// A segment of records first.., each its own write.
std::string Segment(uint64_t first, uint64_t count) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{first}, &bytes);
  for (uint64_t lsn = first; lsn < first + count; ++lsn) {
    EncodeRecord(Lsn{lsn}, bytes.size(), PayloadOf(lsn), &bytes);
  }
  return bytes;
}

// A segment of records first.., `writes[i]` of them in write i. Fills `starts` with
// the offset of each write and `records` with the offset of each record.
std::string SegmentOfWrites(uint64_t first, const std::vector<uint64_t>& writes,
                            std::vector<uint64_t>* starts, std::vector<uint64_t>* records) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{first}, &bytes);
  uint64_t lsn = first;
  for (uint64_t count : writes) {
    const uint64_t start = bytes.size();
    starts->push_back(start);
    for (uint64_t i = 0; i < count; ++i, ++lsn) {
      records->push_back(bytes.size());
      EncodeRecord(Lsn{lsn}, start, PayloadOf(lsn), &bytes);
    }
  }
  return bytes;
}

void Zero(std::string* bytes, uint64_t from, uint64_t to) {
  std::fill(bytes->begin() + static_cast<std::ptrdiff_t>(from),
            bytes->begin() + static_cast<std::ptrdiff_t>(to), '\0');
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
  const uint64_t second = kSegmentHeaderBytes + kRecordHeaderBytes + PayloadOf(1).size();
  bytes[second + 5] ^= 0x40;  // payload length of record 2
  std::vector<uint64_t> seen;
  SegmentScan scan = Scan(bytes, 1, &seen);
  EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
  EXPECT_EQ(scan.good_bytes, second);
  EXPECT_EQ(scan.last_lsn, Lsn{1});
  EXPECT_EQ(seen, (std::vector<uint64_t>{1}));
}

// Case 5a: the last write lost a stretch (its first page, say) but later pages of
// it reached the disk: a torn tail cut where the damage starts, not corruption.
TEST(JournalReaderTest, DamageInsideTheLastWriteWithItsLaterRecordsPresentIsTorn) {
  std::vector<uint64_t> starts, records;
  std::string bytes = SegmentOfWrites(1, {3, 6}, &starts, &records);
  for (uint64_t from : {records[3], records[3] + 5, records[4] + 2, records[6]}) {
    SCOPED_TRACE("zeros from " + std::to_string(from));
    std::string damaged = bytes;
    Zero(&damaged, from, from + 40);  // covers the next header, or part of it
    std::vector<uint64_t> seen;
    SegmentScan scan = Scan(damaged + std::string(4096, '\0'), 1, &seen);
    EXPECT_EQ(scan.end, SegmentEnd::kTorn) << scan.problem;
    EXPECT_EQ(scan.torn_write_offset, starts[1]) << scan.problem;
    const uint64_t bad =
        *std::find_if(records.rbegin(), records.rend(), [&](uint64_t r) { return r <= from; });
    EXPECT_EQ(scan.good_bytes, bad);
    EXPECT_EQ(seen.size(), static_cast<size_t>(std::find(records.begin(), records.end(), bad) -
                                               records.begin()));
    EXPECT_NE(
        scan.problem.find("belong to the same write (begun at byte " + std::to_string(starts[1])),
        std::string::npos)
        << scan.problem;
  }
}

// A hole in a write followed by a record of the next write: that next write began
// only once the damaged one was synced, so synced data was damaged.
TEST(JournalReaderTest, DamageFollowedByALaterWriteIsCorrupt) {
  std::vector<uint64_t> starts, records;
  std::string bytes = SegmentOfWrites(1, {3, 4, 2}, &starts, &records);
  for (uint64_t from : {records[0], records[1] + 3, records[4], records[6] - 10}) {
    SCOPED_TRACE("zeros from " + std::to_string(from));
    std::string damaged = bytes;
    Zero(&damaged, from, from + 10);
    SegmentScan scan = Scan(damaged, 1);
    EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
    EXPECT_FALSE(scan.torn_write_offset);
    EXPECT_NE(scan.problem.find("from a later write"), std::string::npos) << scan.problem;
  }
}

// Records of the damaged write that are themselves broken (a second hole) do not
// stop the search for a later write behind them.
TEST(JournalReaderTest, TwoHolesInOneWriteThenALaterWriteIsCorrupt) {
  std::vector<uint64_t> starts, records;
  std::string bytes = SegmentOfWrites(1, {5, 1}, &starts, &records);
  Zero(&bytes, records[1], records[1] + 8);
  Zero(&bytes, records[3] + 2, records[3] + 6);
  EXPECT_EQ(Scan(bytes, 1).end, SegmentEnd::kCorrupt);
  // Without the later write, the same two holes are a torn last write.
  std::string last_write = bytes.substr(0, starts[1]);
  SegmentScan scan = Scan(last_write, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kTorn) << scan.problem;
  EXPECT_EQ(scan.torn_write_offset, starts[0]);
}

// A whole record must start its write or continue the previous record's.
TEST(JournalReaderTest, RecordWithAnImpossibleWriteOffsetIsCorrupt) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{1}, &bytes);
  EncodeRecord(Lsn{1}, bytes.size(), PayloadOf(1), &bytes);
  const uint64_t second = bytes.size();
  EncodeRecord(Lsn{2}, second + 1, PayloadOf(2), &bytes);
  SegmentScan scan = Scan(bytes, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
  EXPECT_EQ(scan.good_bytes, second);
  EXPECT_NE(scan.problem.find("write began at byte " + std::to_string(second + 1)),
            std::string::npos)
      << scan.problem;
}

// Past damage, a header that claims the damaged write but an lsn already read is
// not a record of that write.
TEST(JournalReaderTest, LaterHeaderRepeatingAnLsnIsCorrupt) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{1}, &bytes);
  EncodeRecord(Lsn{1}, bytes.size(), PayloadOf(1), &bytes);
  const uint64_t bad = bytes.size();
  bytes += std::string(10, 'z');
  EncodeRecord(Lsn{1}, bad, PayloadOf(1), &bytes);
  SegmentScan scan = Scan(bytes, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kCorrupt);
  EXPECT_NE(scan.problem.find("with lsn 1"), std::string::npos) << scan.problem;
}

TEST(JournalReaderTest, UnknownVersionIsNotTornNorCorrupt) {
  std::string bytes = Segment(1, 2);
  const uint32_t version = kJournalVersion + 1;
  std::memcpy(bytes.data() + 4, &version, 4);
  const uint32_t checksum = HeaderChecksum(std::string_view(bytes).substr(0, 16));
  std::memcpy(bytes.data() + 16, &checksum, 4);
  SegmentScan scan = Scan(bytes, 1);
  EXPECT_EQ(scan.end, SegmentEnd::kUnknownVersion);
  EXPECT_NE(scan.problem.find("version " + std::to_string(version)), std::string::npos)
      << scan.problem;
}

// ReadSegment over the fault file system, whose Reserve()d space is a hole, and
// ScanSegment over what it kept must say what a scan of the whole file says.
TEST(JournalReaderTest, ReadSegmentScansAsTheWholeFileDoes) {
  std::vector<uint64_t> starts, records;
  const std::string clean = SegmentOfWrites(1, {3, 6}, &starts, &records);
  std::vector<std::string> contents = {clean, clean.substr(0, clean.size() - 3)};
  std::string hole = clean;
  Zero(&hole, records[4], records[4] + 30);
  contents.push_back(hole);
  std::string flipped = clean;
  flipped[records[1] + 3] ^= 1;
  contents.push_back(flipped);
  // A record whose payload ends in zeros: its data ends before the record does.
  std::string zeros_at_end;
  EncodeSegmentHeader(Lsn{1}, &zeros_at_end);
  EncodeRecord(Lsn{1}, zeros_at_end.size(), std::string(3, 'p') + std::string(600000, '\0'),
               &zeros_at_end);
  contents.push_back(zeros_at_end);
  for (size_t i = 0; i < contents.size(); ++i) {
    for (uint64_t reserved : {uint64_t{0}, uint64_t{3} << 20}) {
      SCOPED_TRACE("content " + std::to_string(i) + ", reserved " + std::to_string(reserved));
      testing::FaultFileSystem fs;
      ASSERT_TRUE(fs.CreateDir("/d").ok());
      auto file = fs.OpenTruncated("/d/s");
      ASSERT_TRUE(file.ok());
      ASSERT_TRUE((*file)->Reserve(reserved).ok());
      ASSERT_TRUE((*file)->Append(contents[i]).ok());
      auto whole = fs.ReadFile("/d/s");
      ASSERT_TRUE(whole.ok());
      auto segment = ReadSegment(fs, "/d/s");
      ASSERT_TRUE(segment.ok());
      EXPECT_EQ(segment->file_bytes, whole->size());
      EXPECT_EQ(segment->data, whole->substr(0, DataEnd(*whole)));
      std::vector<uint64_t> seen_whole, seen_read;
      SegmentScan expected = Scan(*whole, 1, &seen_whole);
      auto scanned = ScanSegment(*segment, Lsn{1}, [&](Lsn lsn, std::string_view) {
        seen_read.push_back(lsn.value);
        return base::Status::Ok();
      });
      ASSERT_TRUE(scanned.ok());
      EXPECT_EQ(scanned->end, expected.end);
      EXPECT_EQ(scanned->good_bytes, expected.good_bytes);
      EXPECT_EQ(scanned->file_bytes, expected.file_bytes);
      EXPECT_EQ(scanned->data_bytes, expected.data_bytes);
      EXPECT_EQ(scanned->torn_write_offset, expected.torn_write_offset);
      EXPECT_EQ(scanned->problem, expected.problem);
      EXPECT_EQ(seen_read, seen_whole);
    }
  }
}

// Something non-zero far past a stretch of zeros is found (and kept with the zeros
// before it), so zeros never hide later records.
TEST(JournalReaderTest, ReadSegmentFindsDataPastLongZeros) {
  testing::FaultFileSystem fs;
  const std::string clean = Segment(1, 3);
  std::string bytes =
      clean + std::string(5u << 20, '\0') + Segment(4, 1).substr(kSegmentHeaderBytes);
  fs.SetContents("/d/s", bytes);
  auto segment = ReadSegment(fs, "/d/s");
  ASSERT_TRUE(segment.ok());
  EXPECT_EQ(segment->data, bytes);
  auto scan =
      ScanSegment(*segment, Lsn{1}, [](Lsn, std::string_view) { return base::Status::Ok(); });
  ASSERT_TRUE(scan.ok());
  // Zeros at a record boundary with a record after them are damage, not the end.
  EXPECT_EQ(scan->end, SegmentEnd::kCorrupt);
  EXPECT_EQ(scan->good_bytes, clean.size());
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
