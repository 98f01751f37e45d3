// Recovery's table of cases (docs/journal_format.md): replay, torn tails cut at
// every byte, corruption refused with file and offset, snapshots and fallbacks.
#include "storage/recovery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "storage/journal_format.h"
#include "storage/snapshot_writer.h"
#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::ExpectRecords;
using test::kDir;
using test::PayloadFor;
using test::RecoverAll;
using test::SegmentPath;
using test::WriteRecords;
using testing::FaultFileSystem;

// Byte offset of record `lsn` in a segment starting at `first`.
uint64_t RecordOffset(uint64_t first, uint64_t lsn) {
  uint64_t offset = kSegmentHeaderBytes;
  for (uint64_t l = first; l < lsn; ++l) offset += kRecordHeaderBytes + PayloadFor(Lsn{l}).size();
  return offset;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(RecoveryTest, EmptyDirectoryIsCreatedAndEmpty) {
  FaultFileSystem fs;
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.report.last_lsn, Lsn{0});
  EXPECT_TRUE(out.records.empty());
  auto listed = fs.ListDir(kDir);
  EXPECT_TRUE(listed.ok());
}

TEST(RecoveryTest, CheckModeOnAMissingDirectoryIsNotFound) {
  FaultFileSystem fs;
  test::Recovered out = RecoverAll(fs, kDir, RecoveryOptions{.cut_torn_tail = false});
  EXPECT_EQ(out.status.code(), base::StatusCode::kNotFound);
}

TEST(RecoveryTest, WholeJournalIsReplayedInOrder) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{50});
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 50);
  EXPECT_EQ(out.report.records_replayed, 50u);
  EXPECT_EQ(out.report.last_lsn, Lsn{50});
  EXPECT_EQ(out.report.bytes_cut, 0u);
  EXPECT_TRUE(out.report.cut_file.empty());
}

// Case 4: an incomplete last record, cut at every byte offset.
TEST(RecoveryTest, TailCutAtEveryByteOfTheLastRecordIsCutBack) {
  constexpr uint64_t kRecords = 8;
  FaultFileSystem written;
  WriteRecords(written, kDir, Lsn{1}, Lsn{kRecords});
  const std::string path = SegmentPath(kDir, 1);
  const std::string whole = written.Contents(path);
  const uint64_t last_start = RecordOffset(1, kRecords);
  ASSERT_EQ(whole.size(), RecordOffset(1, kRecords + 1));
  for (uint64_t cut = last_start; cut <= whole.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    FaultFileSystem fs;
    fs.SetContents(path, whole.substr(0, cut));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    uint64_t expected = cut == whole.size() ? kRecords : kRecords - 1;
    ExpectRecords(out.records, 1, expected);
    EXPECT_EQ(out.report.last_lsn, Lsn{expected});
    // Zero bytes at the end of the piece carry nothing (they read like reserved
    // space), so the cut counts up to the last non-zero byte.
    const uint64_t torn = std::max(DataEnd(whole.substr(0, cut)), last_start) - last_start;
    EXPECT_EQ(out.report.bytes_cut, cut == whole.size() ? 0 : torn);
    EXPECT_EQ(out.report.cut_file, cut == whole.size() || torn == 0 ? "" : SegmentFileName(Lsn{1}));
    EXPECT_EQ(fs.Contents(path).size(), cut == whole.size() ? whole.size() : last_start);
    // A second recovery finds nothing left to cut.
    test::Recovered again = RecoverAll(fs, kDir);
    ASSERT_TRUE(again.status.ok());
    EXPECT_EQ(again.report.bytes_cut, 0u);
    EXPECT_EQ(again.records.size(), expected);
  }
}

TEST(RecoveryTest, CheckModeReportsTheCutButChangesNothing) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{5});
  const std::string path = SegmentPath(kDir, 1);
  std::string whole = fs.Contents(path);
  fs.SetContents(path, whole.substr(0, whole.size() - 3));
  test::Recovered out = RecoverAll(fs, kDir, RecoveryOptions{.cut_torn_tail = false});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.report.bytes_cut, kRecordHeaderBytes + PayloadFor(Lsn{5}).size() - 3);
  EXPECT_EQ(out.report.cut_file, SegmentFileName(Lsn{1}));
  EXPECT_EQ(fs.Contents(path).size(), whole.size() - 3);
  ExpectRecords(out.records, 1, 4);
}

// Zeros after a record boundary are reserved space (or a block zero-filled when
// the file grew): nothing was cut, and the space is given back.
TEST(RecoveryTest, ZerosAfterTheLastRecordAreReservedSpace) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{5});
  const std::string path = SegmentPath(kDir, 1);
  std::string whole = fs.Contents(path);
  fs.SetContents(path, whole + std::string(4096, '\0'));
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.report.bytes_cut, 0u);
  EXPECT_TRUE(out.report.cut_file.empty());
  ExpectRecords(out.records, 1, 5);
  EXPECT_EQ(fs.Contents(path), whole);
}

// A record torn inside reserved space: its written part, then zeros.
TEST(RecoveryTest, RecordTornInsideReservedSpaceIsCut) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{5});
  const std::string path = SegmentPath(kDir, 1);
  std::string whole = fs.Contents(path);
  const uint64_t last_start = RecordOffset(1, 5);
  const uint64_t kept = kRecordHeaderBytes + 3;  // header and 3 payload bytes reached the disk
  fs.SetContents(path, whole.substr(0, last_start + kept) + std::string(1 << 20, '\0'));
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 4);
  EXPECT_EQ(out.report.bytes_cut, kept);
  EXPECT_EQ(out.report.cut_file, SegmentFileName(Lsn{1}));
  EXPECT_EQ(fs.Contents(path), whole.substr(0, last_start));
}

TEST(RecoveryTest, AllZeroRecordHeaderNeverVerifies) {
  EXPECT_FALSE(DecodeRecordHeader(std::string(kRecordHeaderBytes, '\0')).has_value());
}

// Case 5: any bit flipped in a record that has good records after it.
TEST(RecoveryTest, BitFlipBeforeGoodRecordsIsCorruptionNamingFileAndOffset) {
  constexpr uint64_t kBad = 4;
  FaultFileSystem written;
  // Each record its own synced write: the damaged one was synced before the next began.
  test::WriteRecordsOneSyncEach(written, kDir, Lsn{1}, Lsn{8});
  const std::string path = SegmentPath(kDir, 1);
  const std::string whole = written.Contents(path);
  const uint64_t start = RecordOffset(1, kBad);
  const uint64_t end = RecordOffset(1, kBad + 1);
  for (uint64_t bit = start * 8; bit < end * 8; ++bit) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    FaultFileSystem fs;
    fs.SetContents(path, whole);
    fs.FlipBit(path, bit / 8, static_cast<int>(bit % 8));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
    EXPECT_TRUE(Contains(out.status.message(), path)) << out.status.message();
    EXPECT_TRUE(Contains(out.status.message(), "at byte " + std::to_string(start)))
        << out.status.message();
    EXPECT_TRUE(Contains(out.status.message(), "exactly repair --dir /data"))
        << out.status.message();
    ExpectRecords(out.records, 1, kBad - 1);  // replayed up to the bad record only
    EXPECT_EQ(fs.Contents(path), whole.substr(0, bit / 8) +
                                     static_cast<char>(whole[bit / 8] ^ (1 << (bit % 8))) +
                                     whole.substr(bit / 8 + 1));  // nothing was cut
  }
}

// Documented choice: damage confined to the last write is a torn tail, even when
// whole records of that write follow it (case 5a); here the last write is the
// whole journal.
TEST(RecoveryTest, BitFlipInsideTheLastWriteIsATornTail) {
  constexpr uint64_t kBad = 4;
  FaultFileSystem written;
  WriteRecords(written, kDir, Lsn{1}, Lsn{8});  // one write, one sync
  const std::string path = SegmentPath(kDir, 1);
  const std::string whole = written.Contents(path);
  const uint64_t start = RecordOffset(1, kBad);
  for (uint64_t bit = start * 8; bit < RecordOffset(1, kBad + 1) * 8; bit += 7) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    FaultFileSystem fs;
    fs.SetContents(path, whole);
    fs.FlipBit(path, bit / 8, static_cast<int>(bit % 8));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ExpectRecords(out.records, 1, kBad - 1);
    EXPECT_EQ(out.report.bytes_cut, whole.size() - start);
    EXPECT_EQ(fs.Contents(path), whole.substr(0, start));
  }
}

// Documented choice: damage confined to the last record is a torn tail.
TEST(RecoveryTest, BitFlipInTheLastRecordOnlyIsATornTail) {
  constexpr uint64_t kRecords = 6;
  FaultFileSystem written;
  WriteRecords(written, kDir, Lsn{1}, Lsn{kRecords});
  const std::string path = SegmentPath(kDir, 1);
  const std::string whole = written.Contents(path);
  const uint64_t start = RecordOffset(1, kRecords);
  for (uint64_t bit = start * 8; bit < whole.size() * 8; ++bit) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    FaultFileSystem fs;
    fs.SetContents(path, whole);
    fs.FlipBit(path, bit / 8, static_cast<int>(bit % 8));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ExpectRecords(out.records, 1, kRecords - 1);
    EXPECT_EQ(out.report.bytes_cut, whole.size() - start);
    EXPECT_EQ(out.report.last_lsn, Lsn{kRecords - 1});
  }
}

std::string SegmentWithLsns(std::initializer_list<uint64_t> lsns, uint64_t first) {
  std::string bytes;
  EncodeSegmentHeader(Lsn{first}, &bytes);
  for (uint64_t lsn : lsns) EncodeRecord(Lsn{lsn}, bytes.size(), PayloadFor(Lsn{lsn}), &bytes);
  return bytes;
}

// Case 3: a whole record with the wrong lsn, in the middle or at the end.
TEST(RecoveryTest, LsnGapIsCorruptionEvenAtTheEnd) {
  for (auto lsns :
       {std::initializer_list<uint64_t>{1, 2, 4, 5}, std::initializer_list<uint64_t>{1, 2, 4},
        std::initializer_list<uint64_t>{1, 2, 2, 3}}) {
    FaultFileSystem fs;
    fs.SetContents(SegmentPath(kDir, 1), SegmentWithLsns(lsns, 1));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
    EXPECT_TRUE(Contains(out.status.message(), "where lsn 3 was expected")) << out.status.message();
    EXPECT_TRUE(Contains(out.status.message(), "at byte " + std::to_string(RecordOffset(1, 3))))
        << out.status.message();
  }
}

TEST(RecoveryTest, SegmentHeaderLsnMustMatchItsName) {
  FaultFileSystem fs;
  fs.SetContents(SegmentPath(kDir, 1), SegmentWithLsns({2, 3}, 2));
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), "file name says 1")) << out.status.message();
}

TEST(RecoveryTest, JournalNotStartingAtOneWithoutSnapshotIsCorruption) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{5}, Lsn{9});
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), "records 1..4 are missing")) << out.status.message();
}

TEST(RecoveryTest, RolloverSegmentsAreReplayedAcrossFiles) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{100}, JournalWriterOptions{.segment_bytes = 300});
  auto names = fs.ListDir(kDir);
  ASSERT_TRUE(names.ok());
  EXPECT_GT(names->size(), 5u);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 100);
}

TEST(RecoveryTest, TornTailOfAnEarlierSegmentIsCorruption) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{30}, JournalWriterOptions{.segment_bytes = 300});
  auto names = fs.ListDir(kDir);
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  const std::string first = std::string(kDir) + "/" + names->front();
  std::string bytes = fs.Contents(first);
  fs.SetContents(first, bytes.substr(0, bytes.size() - 1));
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), first)) << out.status.message();
  EXPECT_TRUE(Contains(out.status.message(), "not the last")) << out.status.message();
}

TEST(RecoveryTest, MissingMiddleSegmentIsCorruption) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{30}, JournalWriterOptions{.segment_bytes = 300});
  auto names = fs.ListDir(kDir);
  ASSERT_TRUE(names.ok());
  ASSERT_GE(names->size(), 3u);
  std::sort(names->begin(), names->end());
  ASSERT_TRUE(fs.Remove(std::string(kDir) + "/" + (*names)[1]).ok());
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), (*names)[2])) << out.status.message();
}

TEST(RecoveryTest, LastSegmentWithATornHeaderIsRemoved) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{4});
  fs.SetContents(SegmentPath(kDir, 5), std::string("EXJL\x01", 5));
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 4);
  EXPECT_EQ(out.report.bytes_cut, 5u);
  EXPECT_EQ(out.report.cut_file, SegmentFileName(Lsn{5}));
  EXPECT_FALSE(fs.Exists(SegmentPath(kDir, 5)));
}

TEST(RecoveryTest, SnapshotThenLaterRecords) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{10});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{6}, "state at 6").ok());
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.snapshots.size(), 1u);
  EXPECT_EQ(out.snapshots[0], std::make_pair(uint64_t{6}, std::string("state at 6")));
  ExpectRecords(out.records, 7, 10);
  EXPECT_EQ(out.report.snapshot_lsn, Lsn{6});
  EXPECT_EQ(out.report.records_replayed, 4u);
  EXPECT_EQ(out.report.last_lsn, Lsn{10});
}

TEST(RecoveryTest, SnapshotNewerThanTheJournalEnd) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{5});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{8}, "state at 8").ok());
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.records.empty());
  EXPECT_EQ(out.report.last_lsn, Lsn{8});
}

TEST(RecoveryTest, CorruptNewestSnapshotFallsBackToAnOlderOne) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{10});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{3}, "state at 3").ok());
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{6}, "state at 6").ok());
  fs.FlipBit(std::string(kDir) + "/snapshot-00000000000000000006.snap", 45, 2);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.snapshots.size(), 1u);
  EXPECT_EQ(out.snapshots[0].first, 3u);
  ExpectRecords(out.records, 4, 10);
  ASSERT_FALSE(out.report.notes.empty());
  EXPECT_TRUE(Contains(out.report.notes[0], "skipped snapshot snapshot-00000000000000000006.snap"))
      << out.report.notes[0];
}

TEST(RecoveryTest, NoValidSnapshotFallsBackToTheWholeJournal) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{10});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{6}, "state at 6").ok());
  fs.FlipBit(std::string(kDir) + "/snapshot-00000000000000000006.snap", 3, 0);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.snapshots.empty());
  ExpectRecords(out.records, 1, 10);
}

TEST(RecoveryTest, NoValidSnapshotAndAPrunedJournalIsCorruption) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{40}, JournalWriterOptions{.segment_bytes = 300});
  ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{30}, "state at 30").ok());
  ASSERT_TRUE(PruneBefore(fs, kDir, Lsn{30}).ok());
  fs.FlipBit(std::string(kDir) + "/snapshot-00000000000000000030.snap", 41, 7);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), "not at lsn 1")) << out.status.message();
}

TEST(RecoveryTest, CallbackErrorsAreReturned) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{3});
  auto result = Recover(
      fs, kDir, {}, [](Lsn, std::string_view) { return base::Status::Ok(); },
      [](Lsn lsn, std::string_view) {
        return lsn == Lsn{2} ? base::Status::Corruption("undecodable") : base::Status::Ok();
      });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "undecodable");
}

// The fault file forgets what was not synced; recovery returns exactly the synced
// prefix, and a write torn at any byte of the crash is cut, never corruption.
TEST(RecoveryTest, CrashKeepsExactlyTheSyncedPrefix) {
  FaultFileSystem base_fs;
  WriteRecords(base_fs, kDir, Lsn{1}, Lsn{5});
  const std::string synced = base_fs.Contents(SegmentPath(kDir, 1));
  std::string unsynced;
  for (uint64_t lsn = 6; lsn <= 9; ++lsn) {
    EncodeRecord(Lsn{lsn}, synced.size(), PayloadFor(Lsn{lsn}), &unsynced);
  }
  for (uint64_t keep = 0; keep <= unsynced.size(); ++keep) {
    SCOPED_TRACE("keep " + std::to_string(keep));
    FaultFileSystem fs;
    {
      auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
      ASSERT_TRUE(writer.ok());
      for (uint64_t lsn = 1; lsn <= 9; ++lsn) {
        ASSERT_TRUE((*writer)->Append(Lsn{lsn}, PayloadFor(Lsn{lsn})).ok());
        if (lsn == 5) {
          ASSERT_TRUE((*writer)->Sync().ok());
        }
      }
      ASSERT_TRUE((*writer)->Flush().ok());
      fs.Crash(keep);
    }
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    uint64_t whole = 5;
    while (whole < 9 && RecordOffset(1, whole + 2) <= synced.size() + keep) ++whole;
    ExpectRecords(out.records, 1, whole);
    EXPECT_EQ(fs.Contents(SegmentPath(kDir, 1)).size(), RecordOffset(1, whole + 1));
  }
}

// A journal of two writes, as --fsync always leaves it: records 1..5 written and
// synced together, then records 6..kLast written together; whether the second
// write was synced is up to the test. Returns the segment's bytes; `second` is
// where the second write begins.
constexpr uint64_t kLast = 30;
std::string TwoWrites(FaultFileSystem& fs, bool sync_second, uint64_t* second) {
  auto writer = OpenJournalWriter(fs, kDir, Lsn{0});
  EXACTLY_ASSERT(writer.ok());
  for (uint64_t lsn = 1; lsn <= kLast; ++lsn) {
    EXACTLY_ASSERT((*writer)->Append(Lsn{lsn}, PayloadFor(Lsn{lsn})).ok());
    if (lsn == 5) EXACTLY_ASSERT((*writer)->Sync().ok());
  }
  EXACTLY_ASSERT(sync_second ? (*writer)->Sync().ok() : (*writer)->Flush().ok());
  *second = RecordOffset(1, 6);
  return fs.Contents(SegmentPath(kDir, 1));
}

// The lsn of the first record that the bytes [from, to) touch.
uint64_t FirstRecordTouched(uint64_t from) {
  uint64_t lsn = 1;
  while (RecordOffset(1, lsn + 1) <= from) ++lsn;
  return lsn;
}

// The power cut this format exists for: the last write never finished its sync and
// the disk got some of its pages but not an earlier one (here: any stretch of it
// lost, reading as the reserved zeros it replaced). None of it was acknowledged, so
// it is a torn tail: cut where the damage starts, keep the synced records and the
// whole records before the damage, and start. A second recovery finds it clean.
TEST(RecoveryTest, UnsyncedWriteWithALostStretchAndLaterPagesPresentIsCut) {
  FaultFileSystem written;
  uint64_t second = 0;
  const std::string whole = TwoWrites(written, /*sync_second=*/false, &second);
  const std::string path = SegmentPath(kDir, 1);
  int torn_writes = 0;
  for (uint64_t hole = second; hole < whole.size(); hole += 13) {
    for (uint64_t length : {1u, 9u, 32u, 80u, 400u}) {
      if (hole + length >= whole.size()) continue;  // something of the write must follow
      SCOPED_TRACE("zeros at " + std::to_string(hole) + ", " + std::to_string(length) + " bytes");
      std::string disk = whole;
      std::fill(disk.begin() + static_cast<std::ptrdiff_t>(hole),
                disk.begin() + static_cast<std::ptrdiff_t>(hole + length), '\0');
      if (disk == whole) continue;  // the stretch held only zeros already
      uint64_t changed = hole;
      while (disk[changed] == whole[changed]) ++changed;
      const uint64_t bad = FirstRecordTouched(changed);
      FaultFileSystem fs;
      fs.SetContents(path, disk + std::string(4096, '\0'));
      test::Recovered check = RecoverAll(fs, kDir, RecoveryOptions{.cut_torn_tail = false});
      ASSERT_TRUE(check.status.ok()) << check.status.ToString();
      test::Recovered out = RecoverAll(fs, kDir);
      ASSERT_TRUE(out.status.ok()) << out.status.ToString();
      ExpectRecords(out.records, 1, bad - 1);
      EXPECT_EQ(out.report.last_lsn, Lsn{bad - 1});
      EXPECT_EQ(fs.Contents(path), whole.substr(0, RecordOffset(1, bad)));
      EXPECT_EQ(out.report.bytes_cut, DataEnd(disk) - RecordOffset(1, bad));
      torn_writes += Contains(out.report.notes.back(), "belong to the same write");
      test::Recovered again = RecoverAll(fs, kDir);
      ASSERT_TRUE(again.status.ok());
      EXPECT_EQ(again.report.bytes_cut, 0u);
      ExpectRecords(again.records, 1, bad - 1);
    }
  }
  EXPECT_GT(torn_writes, 100);  // most holes leave whole records of the write after them
}

// The same write-back, then the server starts again: the cut journal takes new
// records at the lsns the cut freed, and they replay.
// Recovery of `fs` starts with records 1..last; `more` records appended after it
// come back after the next recovery, behind them.
void ExpectRecoversThenGoesOn(FileSystem& fs, uint64_t last, uint64_t more) {
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, last);
  WriteRecords(fs, kDir, Lsn{last + 1}, Lsn{last + more});
  test::Recovered again = RecoverAll(fs, kDir);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  ExpectRecords(again.records, 1, last + more);
}

TEST(RecoveryTest, AfterCuttingAnUnsyncedWriteTheJournalGoesOn) {
  FaultFileSystem written;
  uint64_t second = 0;
  const std::string whole = TwoWrites(written, /*sync_second=*/false, &second);
  std::string disk = whole;
  std::fill(disk.begin() + static_cast<std::ptrdiff_t>(second),
            disk.begin() + static_cast<std::ptrdiff_t>(second + 100), '\0');
  FaultFileSystem fs;
  fs.SetContents(SegmentPath(kDir, 1), disk);
  ExpectRecoversThenGoesOn(fs, /*last=*/5, /*more=*/3);
}

// Negative control: the same lost stretch in the first write, which was synced
// before the second began, is damage to acknowledged records: refused, nothing cut.
TEST(RecoveryTest, LostStretchInASyncedWriteWithALaterWriteAfterIsCorruption) {
  FaultFileSystem written;
  uint64_t second = 0;
  const std::string whole = TwoWrites(written, /*sync_second=*/true, &second);
  const std::string path = SegmentPath(kDir, 1);
  for (uint64_t hole = kSegmentHeaderBytes; hole < second; hole += 3) {
    for (uint64_t length : {1u, 9u, 32u, 80u, 400u}) {
      const uint64_t end = std::min(hole + length, second);
      SCOPED_TRACE("zeros at " + std::to_string(hole) + ".." + std::to_string(end));
      std::string disk = whole;
      std::fill(disk.begin() + static_cast<std::ptrdiff_t>(hole),
                disk.begin() + static_cast<std::ptrdiff_t>(end), '\0');
      if (disk == whole) continue;
      uint64_t changed = hole;
      while (disk[changed] == whole[changed]) ++changed;
      const uint64_t bad = FirstRecordTouched(changed);
      FaultFileSystem fs;
      fs.SetContents(path, disk);
      test::Recovered out = RecoverAll(fs, kDir);
      ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
      EXPECT_TRUE(Contains(out.status.message(), "at byte " + std::to_string(RecordOffset(1, bad))))
          << out.status.message();
      EXPECT_TRUE(Contains(out.status.message(), "from a later write")) << out.status.message();
      EXPECT_TRUE(Contains(out.status.message(), "exactly repair")) << out.status.message();
      ExpectRecords(out.records, 1, bad - 1);
      EXPECT_EQ(fs.Contents(path), disk);  // nothing was cut
    }
  }
}

// Negative control: a bit flipped in the synced first write, a later write after it.
TEST(RecoveryTest, BitFlipInASyncedWriteWithALaterWriteAfterIsCorruption) {
  FaultFileSystem written;
  uint64_t second = 0;
  const std::string whole = TwoWrites(written, /*sync_second=*/true, &second);
  const std::string path = SegmentPath(kDir, 1);
  for (uint64_t bit = kSegmentHeaderBytes * 8; bit < second * 8; bit += 5) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    FaultFileSystem fs;
    fs.SetContents(path, whole);
    fs.FlipBit(path, bit / 8, static_cast<int>(bit % 8));
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
    ExpectRecords(out.records, 1, FirstRecordTouched(bit / 8) - 1);
  }
}

// A version 1 journal (records without a write offset), as a build before version 2
// left it: it loads, and the writer goes on in a version 2 segment after it.
std::string VersionOneSegment(uint64_t first, uint64_t last) {
  std::string bytes = "EXJL";
  PutU32(kJournalVersionV1, &bytes);
  PutU64(first, &bytes);
  PutU32(HeaderChecksum(bytes), &bytes);
  PutU32(0, &bytes);
  for (uint64_t lsn = first; lsn <= last; ++lsn) {
    const std::string payload = PayloadFor(Lsn{lsn});
    std::string header;
    PutU32(static_cast<uint32_t>(payload.size()), &header);
    PutU64(lsn, &header);
    PutU64(PayloadChecksum(payload), &header);
    PutU32(HeaderChecksum(header), &bytes);
    bytes += header + payload;
  }
  return bytes;
}

TEST(RecoveryTest, VersionOneJournalLoadsAndVersionTwoFollowsIt) {
  FaultFileSystem fs;
  fs.SetContents(SegmentPath(kDir, 1), VersionOneSegment(1, 7));
  ExpectRecoversThenGoesOn(fs, /*last=*/7, /*more=*/5);
}

// Version 1 records carry no write offset, so damage with records after it stays
// corruption there, and damage in its last record a torn tail, as before.
TEST(RecoveryTest, VersionOneDamageKeepsTheVersionOneCases) {
  const std::string whole = VersionOneSegment(1, 6);
  const uint64_t third = kSegmentHeaderBytes + 2 * kRecordHeaderBytesV1 +
                         PayloadFor(Lsn{1}).size() + PayloadFor(Lsn{2}).size();
  FaultFileSystem fs;
  fs.SetContents(SegmentPath(kDir, 1), whole);
  fs.FlipBit(SegmentPath(kDir, 1), third + 30, 3);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Contains(out.status.message(), "at byte " + std::to_string(third)))
      << out.status.message();
  ExpectRecords(out.records, 1, 2);

  FaultFileSystem torn;
  torn.SetContents(SegmentPath(kDir, 1), whole.substr(0, whole.size() - 2));
  test::Recovered cut = RecoverAll(torn, kDir);
  ASSERT_TRUE(cut.status.ok()) << cut.status.ToString();
  ExpectRecords(cut.records, 1, 5);
}

// A segment of a version this build does not know is neither cut nor removed, even
// by the repair tool: the error says which version it is.
TEST(RecoveryTest, UnknownJournalVersionIsRefusedAndLeftAlone) {
  std::string bytes = "EXJL";
  PutU32(kJournalVersion + 1, &bytes);
  PutU64(1, &bytes);
  PutU32(HeaderChecksum(bytes), &bytes);
  PutU32(0, &bytes);
  bytes += std::string(100, 'r');
  for (bool repair : {false, true}) {
    FaultFileSystem fs;
    fs.SetContents(SegmentPath(kDir, 1), bytes);
    test::Recovered out = RecoverAll(fs, kDir, RecoveryOptions{.cut_corruption = repair});
    ASSERT_EQ(out.status.code(), base::StatusCode::kCorruption);
    EXPECT_TRUE(
        Contains(out.status.message(), "journal version " + std::to_string(kJournalVersion + 1)))
        << out.status.message();
    EXPECT_FALSE(Contains(out.status.message(), "exactly repair")) << out.status.message();
    EXPECT_EQ(fs.Contents(SegmentPath(kDir, 1)), bytes);
  }
}

// Everything a recovery run leaves behind, to compare two runs.
struct RunResult {
  std::string status;
  test::Recovered out;
  std::map<std::string, std::string> files;
};

RunResult RecoverWithReadahead(const std::function<void(FaultFileSystem&)>& build,
                               RecoveryOptions options, size_t readahead, int fail_at_lsn) {
  FaultFileSystem fs;
  build(fs);
  options.readahead_segments = readahead;
  RunResult run;
  auto result = Recover(
      fs, kDir, options,
      [&](Lsn lsn, std::string_view bytes) {
        run.out.snapshots.emplace_back(lsn.value, std::string(bytes));
        return base::Status::Ok();
      },
      [&](Lsn lsn, std::string_view bytes) {
        if (lsn.value == static_cast<uint64_t>(fail_at_lsn)) {
          return base::Status::Corruption("undecodable");
        }
        run.out.records.emplace_back(lsn.value, std::string(bytes));
        return base::Status::Ok();
      });
  run.status = result.ok() ? "ok" : result.status().ToString();
  if (result.ok()) run.out.report = std::move(result.value());
  auto names = fs.ListDir(kDir);
  if (names.ok()) {
    for (const std::string& name : names.value()) {
      run.files[name] = fs.Contents(std::string(kDir) + "/" + name);
    }
  }
  return run;
}

// Reading segments ahead on a thread of its own (RecoveryOptions::readahead_segments)
// changes when the journal is read, never what recovery does: every case of the
// table ends the same, cuts and refusals included, as reading in the caller.
TEST(RecoveryTest, ReadaheadEndsLikeReadingInTheCaller) {
  const JournalWriterOptions small{.segment_bytes = 300};
  auto segment_name = [](FaultFileSystem& fs, size_t index) {
    auto names = fs.ListDir(kDir);
    std::vector<std::string> sorted;
    for (const std::string& name : names.value()) {
      if (name.starts_with("journal-")) sorted.push_back(name);
    }
    std::sort(sorted.begin(), sorted.end());
    return std::string(kDir) + "/" + sorted.at(index);
  };
  const std::vector<std::pair<std::string, std::function<void(FaultFileSystem&)>>> cases = {
      {"whole", [&](FaultFileSystem& fs) { WriteRecords(fs, kDir, Lsn{1}, Lsn{80}, small); }},
      {"torn tail",
       [&](FaultFileSystem& fs) {
         WriteRecords(fs, kDir, Lsn{1}, Lsn{80}, small);
         const std::string path = segment_name(fs, fs.ListDir(kDir)->size() - 1);
         const std::string bytes = fs.Contents(path);
         fs.SetContents(path, bytes.substr(0, bytes.size() - 7));
       }},
      {"torn earlier segment",
       [&](FaultFileSystem& fs) {
         WriteRecords(fs, kDir, Lsn{1}, Lsn{80}, small);
         const std::string path = segment_name(fs, 2);
         const std::string bytes = fs.Contents(path);
         fs.SetContents(path, bytes.substr(0, bytes.size() - 1));
       }},
      {"missing middle segment",
       [&](FaultFileSystem& fs) {
         WriteRecords(fs, kDir, Lsn{1}, Lsn{80}, small);
         ASSERT_TRUE(fs.Remove(segment_name(fs, 3)).ok());
       }},
      {"bit flip with later writes",
       [&](FaultFileSystem& fs) {
         test::WriteRecordsOneSyncEach(fs, kDir, Lsn{1}, Lsn{80}, small);
         fs.FlipBit(segment_name(fs, 4), kSegmentHeaderBytes + 36, 1);
       }},
      {"snapshot",
       [&](FaultFileSystem& fs) {
         WriteRecords(fs, kDir, Lsn{1}, Lsn{80}, small);
         ASSERT_TRUE(WriteSnapshot(fs, kDir, Lsn{33}, "state at 33").ok());
       }},
  };
  const std::vector<std::pair<std::string, RecoveryOptions>> modes = {
      {"start", RecoveryOptions{}},
      {"check", RecoveryOptions{.cut_torn_tail = false}},
      {"repair", RecoveryOptions{.cut_corruption = true}},
  };
  for (const auto& [case_name, build] : cases) {
    for (const auto& [mode_name, options] : modes) {
      for (const int fail_at : {0, 50}) {
        SCOPED_TRACE(case_name + ", " + mode_name + ", apply fails at " + std::to_string(fail_at));
        const RunResult serial = RecoverWithReadahead(build, options, 0, fail_at);
        for (const size_t readahead : {1, 3}) {
          SCOPED_TRACE("readahead " + std::to_string(readahead));
          const RunResult threaded = RecoverWithReadahead(build, options, readahead, fail_at);
          EXPECT_EQ(threaded.status, serial.status);
          EXPECT_EQ(threaded.out.snapshots, serial.out.snapshots);
          EXPECT_EQ(threaded.out.records, serial.out.records);
          EXPECT_EQ(threaded.out.report.snapshot_lsn, serial.out.report.snapshot_lsn);
          EXPECT_EQ(threaded.out.report.records_replayed, serial.out.report.records_replayed);
          EXPECT_EQ(threaded.out.report.last_lsn, serial.out.report.last_lsn);
          EXPECT_EQ(threaded.out.report.bytes_cut, serial.out.report.bytes_cut);
          EXPECT_EQ(threaded.out.report.cut_file, serial.out.report.cut_file);
          EXPECT_EQ(threaded.out.report.notes, serial.out.report.notes);
          EXPECT_EQ(threaded.files, serial.files);
        }
      }
    }
  }
}

}  // namespace
}  // namespace exactly::storage
