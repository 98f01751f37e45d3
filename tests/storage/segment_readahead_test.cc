// Tests for storage/segment_readahead: the thread reads and scans exactly what
// the caller would, stays within its depth, and has stopped (no file open) by
// the time recovery cuts or removes a segment.
#include "storage/segment_readahead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/journal_format.h"
#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::kDir;
using test::WriteRecords;
using testing::FaultFileSystem;

// A FileSystem over a FaultFileSystem that watches reads: how many files were
// opened for reading, which are open now, and whether a file was truncated or
// removed while open for reading. Reads by threads other than the one that made
// it can be slowed, to hold the readahead thread inside a read.
class WatchingFileSystem final : public FileSystem {
 public:
  explicit WatchingFileSystem(FaultFileSystem& inner) : inner_(inner) {}

  // ReadAt on other threads sleeps this long on files whose name sorts at or
  // after `from_name`.
  void SlowOtherThreads(std::string from_name, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    slow_from_ = std::string(kDir) + "/" + from_name;
    delay_ = delay;
  }
  int opens() {
    std::lock_guard lock(mutex_);
    return opens_;
  }
  int opens_by_other_threads() {
    std::lock_guard lock(mutex_);
    return other_opens_;
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mutex_);
    return violations_;
  }

  base::Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    return inner_.OpenForAppend(path);
  }
  base::Result<std::unique_ptr<WritableFile>> OpenTruncated(const std::string& path) override {
    return inner_.OpenTruncated(path);
  }
  base::Result<std::string> ReadFile(const std::string& path) override {
    return inner_.ReadFile(path);
  }
  base::Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) override;
  base::Status Truncate(const std::string& path, uint64_t size) override {
    CheckNotOpen("truncated", path);
    return inner_.Truncate(path, size);
  }
  base::Status Rename(const std::string& from, const std::string& to) override {
    return inner_.Rename(from, to);
  }
  base::Status Remove(const std::string& path) override {
    CheckNotOpen("removed", path);
    return inner_.Remove(path);
  }
  base::Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return inner_.ListDir(dir);
  }
  base::Status CreateDir(const std::string& dir) override { return inner_.CreateDir(dir); }
  base::Status SyncDir(const std::string& dir) override { return inner_.SyncDir(dir); }

 private:
  class Watched final : public ReadableFile {
   public:
    Watched(WatchingFileSystem& fs, std::string path, std::unique_ptr<ReadableFile> inner,
            std::chrono::milliseconds delay)
        : fs_(fs), path_(std::move(path)), inner_(std::move(inner)), delay_(delay) {}
    ~Watched() override {
      std::lock_guard lock(fs_.mutex_);
      --fs_.open_[path_];
    }
    base::Result<size_t> ReadAt(uint64_t offset, char* out, size_t bytes) override {
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      return inner_->ReadAt(offset, out, bytes);
    }
    uint64_t NextData(uint64_t offset) override { return inner_->NextData(offset); }
    uint64_t size() const override { return inner_->size(); }

   private:
    WatchingFileSystem& fs_;
    const std::string path_;
    std::unique_ptr<ReadableFile> inner_;
    const std::chrono::milliseconds delay_;
  };

  void CheckNotOpen(const char* what, const std::string& path) {
    std::lock_guard lock(mutex_);
    if (open_[path] > 0) violations_.push_back(path + " " + what + " while open for reading");
  }

  FaultFileSystem& inner_;
  const std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mutex_;
  std::map<std::string, int> open_;  // guarded by mutex_
  int opens_ = 0;                    // guarded by mutex_
  int other_opens_ = 0;              // guarded by mutex_
  std::string slow_from_;            // guarded by mutex_; "" for none
  std::chrono::milliseconds delay_{0};
  std::vector<std::string> violations_;  // guarded by mutex_
};

base::Result<std::unique_ptr<ReadableFile>> WatchingFileSystem::OpenForRead(
    const std::string& path) {
  base::Result<std::unique_ptr<ReadableFile>> file = inner_.OpenForRead(path);
  if (!file.ok()) return file.status();
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mutex_);
    ++opens_;
    ++open_[path];
    const bool other = std::this_thread::get_id() != owner_;
    if (other) ++other_opens_;
    if (other && !slow_from_.empty() && path >= slow_from_) delay = delay_;
  }
  return std::unique_ptr<ReadableFile>(
      std::make_unique<Watched>(*this, path, std::move(file.value()), delay));
}

// Waits (up to a generous deadline, for a loaded machine) until `fs` has opened
// `count` files; then waits a little more, so that an extra open would show.
void WaitForOpens(WatchingFileSystem& fs, int count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fs.opens() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
}

// The journal's segments, in order.
std::vector<SegmentFile> Segments(FileSystem& fs) {
  auto listed = ListSegments(fs, kDir);
  EXPECT_TRUE(listed.ok());
  return listed.ok() ? listed.value() : std::vector<SegmentFile>();
}

void ExpectSameSegment(const ScannedSegment& a, const ScannedSegment& b) {
  EXPECT_EQ(a.status.ToString(), b.status.ToString());
  EXPECT_EQ(a.bytes.data, b.bytes.data);
  EXPECT_EQ(a.bytes.file_bytes, b.bytes.file_bytes);
  EXPECT_EQ(a.scan.end, b.scan.end);
  EXPECT_EQ(a.scan.good_bytes, b.scan.good_bytes);
  EXPECT_EQ(a.scan.data_bytes, b.scan.data_bytes);
  EXPECT_EQ(a.scan.last_lsn, b.scan.last_lsn);
  EXPECT_EQ(a.scan.records, b.scan.records);
  EXPECT_EQ(a.scan.torn_write_offset, b.scan.torn_write_offset);
  EXPECT_EQ(a.scan.problem, b.scan.problem);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_EQ(a.records[i].lsn, b.records[i].lsn);
    EXPECT_EQ(a.records[i].payload, b.records[i].payload);
  }
}

TEST(SegmentReadaheadTest, ThreadReadsWhatTheCallerWould) {
  FaultFileSystem fs;
  WriteRecords(fs, kDir, Lsn{1}, Lsn{120}, JournalWriterOptions{.segment_bytes = 400});
  const std::vector<SegmentFile> segments = Segments(fs);
  ASSERT_GT(segments.size(), 8u);
  // Damage in the middle and a torn end, so that not every scan is clean.
  fs.FlipBit(std::string(kDir) + "/" + segments[3].name, kSegmentHeaderBytes + 40, 2);
  const std::string last = std::string(kDir) + "/" + segments.back().name;
  const std::string last_bytes = fs.Contents(last);
  fs.SetContents(last, last_bytes.substr(0, last_bytes.size() - 3));

  for (const size_t depth : {1, 2, 5}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    SegmentReadahead serial(fs, kDir, segments, 0);
    SegmentReadahead threaded(fs, kDir, segments, depth);
    for (size_t i = 0; i < segments.size(); ++i) {
      SCOPED_TRACE(segments[i].name);
      std::unique_ptr<ScannedSegment> expected = serial.Next();
      std::unique_ptr<ScannedSegment> got = threaded.Next();
      ExpectSameSegment(*expected, *got);
      // Recycled buffers hold later segments: what they held must not leak in.
      serial.Recycle(std::move(expected));
      threaded.Recycle(std::move(got));
    }
  }
}

TEST(SegmentReadaheadTest, StaysWithinItsDepth) {
  FaultFileSystem inner;
  WriteRecords(inner, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  WatchingFileSystem fs(inner);
  const std::vector<SegmentFile> segments = Segments(fs);
  ASSERT_GT(segments.size(), 6u);
  SegmentReadahead readahead(fs, kDir, segments, 2);
  std::unique_ptr<ScannedSegment> first = readahead.Next();
  // The caller holds one segment; the thread reads two more and waits, even
  // once the caller gives its buffer back, until the caller takes one.
  WaitForOpens(fs, 3);
  EXPECT_EQ(fs.opens(), 3);
  readahead.Recycle(std::move(first));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fs.opens(), 3);
  std::unique_ptr<ScannedSegment> second = readahead.Next();
  WaitForOpens(fs, 4);
  EXPECT_EQ(fs.opens(), 4);
}

TEST(SegmentReadaheadTest, StopEndsTheReading) {
  FaultFileSystem inner;
  WriteRecords(inner, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  WatchingFileSystem fs(inner);
  const std::vector<SegmentFile> segments = Segments(fs);
  SegmentReadahead readahead(fs, kDir, segments, 1);
  std::unique_ptr<ScannedSegment> first = readahead.Next();
  readahead.Recycle(std::move(first));
  readahead.Stop();
  const int opens = fs.opens();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fs.opens(), opens);
  EXPECT_LE(opens, 3);
  readahead.Stop();  // idempotent
}

TEST(SegmentReadaheadTest, AFailedReadEndsTheReading) {
  FaultFileSystem inner;
  WriteRecords(inner, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  WatchingFileSystem fs(inner);
  std::vector<SegmentFile> segments = Segments(fs);
  ASSERT_GT(segments.size(), 4u);
  ASSERT_TRUE(inner.Remove(std::string(kDir) + "/" + segments[1].name).ok());
  SegmentReadahead readahead(fs, kDir, segments, 8);
  EXPECT_TRUE(readahead.Next()->status.ok());
  EXPECT_EQ(readahead.Next()->status.code(), base::StatusCode::kNotFound);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fs.opens(), 1);  // the missing file was never opened; nothing after it
}

// The negative control for recovery's Stop() before it cuts: a repair removes
// the segments after the damage while the thread is still inside reading one of
// them (held there by a slow read). Without the Stop, the removal meets an open
// file and this fails.
TEST(SegmentReadaheadTest, RecoveryStopsTheReadingBeforeItCuts) {
  FaultFileSystem inner;
  WriteRecords(inner, kDir, Lsn{1}, Lsn{60}, JournalWriterOptions{.segment_bytes = 300});
  WatchingFileSystem fs(inner);
  const std::vector<SegmentFile> segments = Segments(fs);
  ASSERT_GT(segments.size(), 5u);
  // A bad record with good ones after it, in the second segment: corruption.
  inner.FlipBit(std::string(kDir) + "/" + segments[1].name, kSegmentHeaderBytes + 40, 3);
  fs.SlowOtherThreads(segments[2].name, std::chrono::milliseconds(100));

  RecoveryOptions options{.cut_torn_tail = true, .cut_corruption = true, .readahead_segments = 8};
  std::vector<uint64_t> applied;
  auto result = Recover(
      fs, kDir, options, [](Lsn, std::string_view) { return base::Status::Ok(); },
      [&](Lsn lsn, std::string_view) {
        // Hold replay until the thread is inside the slow reads.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (fs.opens_by_other_threads() < 3 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        applied.push_back(lsn.value);
        return base::Status::Ok();
      });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(fs.violations(), std::vector<std::string>());
  for (size_t i = 2; i < segments.size(); ++i) {
    EXPECT_FALSE(inner.Exists(std::string(kDir) + "/" + segments[i].name)) << segments[i].name;
  }
  ASSERT_FALSE(applied.empty());
  EXPECT_EQ(applied.back(), result->last_lsn.value);
  const int opens = fs.opens();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(fs.opens(), opens);  // nothing reads after Recover returned
}

}  // namespace
}  // namespace exactly::storage
