// The real file system end to end: journal, snapshot, prune, torn tail, recover.
#include "storage/posix_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "storage/journal_reader.h"
#include "storage/journal_writer.h"
#include "storage/snapshot_writer.h"
#include "storage/storage_test_util.h"
#include "support/temp_dir.h"

namespace exactly::storage {
namespace {

using test::PayloadFor;

TEST(PosixFileTest, BasicOperations) {
  testing::TempDir dir;
  FileSystem& fs = DefaultFileSystem();
  EXPECT_EQ(fs.ReadFile(dir.File("missing")).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(fs.ListDir(dir.File("nodir")).status().code(), base::StatusCode::kNotFound);
  {
    auto file = fs.OpenForAppend(dir.File("a"));
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("hello ").ok());
    ASSERT_TRUE((*file)->Append("world").ok());
    ASSERT_TRUE((*file)->Sync().ok());
    EXPECT_EQ((*file)->size(), 11u);
  }
  {
    auto file = fs.OpenForAppend(dir.File("a"));
    ASSERT_TRUE(file.ok());
    EXPECT_EQ((*file)->size(), 11u);
    ASSERT_TRUE((*file)->Append("!").ok());
  }
  EXPECT_EQ(fs.ReadFile(dir.File("a")).value(), "hello world!");
  ASSERT_TRUE(fs.Truncate(dir.File("a"), 5).ok());
  EXPECT_EQ(fs.ReadFile(dir.File("a")).value(), "hello");
  { ASSERT_TRUE(fs.OpenTruncated(dir.File("a")).ok()); }
  EXPECT_EQ(fs.ReadFile(dir.File("a")).value(), "");
  ASSERT_TRUE(fs.Rename(dir.File("a"), dir.File("b")).ok());
  ASSERT_TRUE(fs.CreateDir(dir.File("sub")).ok());
  ASSERT_TRUE(fs.CreateDir(dir.File("sub")).ok());  // already there is fine
  ASSERT_TRUE(fs.SyncDir(dir.path()).ok());
  auto names = fs.ListDir(dir.path());
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "sub"}));
  ASSERT_TRUE(fs.Remove(dir.File("b")).ok());
  EXPECT_EQ(fs.Remove(dir.File("b")).code(), base::StatusCode::kNotFound);
}

TEST(PosixFileTest, CreateDirSyncsTheParentOfNewAndExistingDirs) {
  // The parent's fsync is what makes the name durable; a power cut is simulated
  // end to end by tests/integration/test_power_loss.py. Here: every form of path
  // reaches a parent that can be synced, and a missing parent is reported.
  testing::TempDir dir;
  FileSystem& fs = DefaultFileSystem();
  EXPECT_TRUE(fs.CreateDir(dir.File("new")).ok());
  EXPECT_TRUE(fs.CreateDir(dir.File("new")).ok());        // existed: the parent is synced again
  EXPECT_TRUE(fs.CreateDir(dir.File("new") + "/").ok());  // a trailing slash names the same dir
  EXPECT_TRUE(fs.CreateDir("/").ok());                    // the root is its own parent
  EXPECT_EQ(fs.CreateDir(dir.File("missing/child")).code(), base::StatusCode::kNotFound);
  const std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  EXPECT_TRUE(fs.CreateDir("relative").ok());  // parent "."
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("relative")));
}

TEST(PosixFileTest, JournalSnapshotPruneAndTornTailOnDisk) {
  testing::TempDir dir;
  FileSystem& fs = DefaultFileSystem();
  const std::string data = dir.File("data");
  test::WriteRecords(fs, data, Lsn{1}, Lsn{200}, JournalWriterOptions{.segment_bytes = 1000});
  ASSERT_TRUE(WriteSnapshot(fs, data, Lsn{150}, "state at 150").ok());
  ASSERT_TRUE(PruneBefore(fs, data, Lsn{150}).ok());

  // Tear the last record: a crash in the middle of its write.
  auto segments = ListSegments(fs, data);
  ASSERT_TRUE(segments.ok());
  const std::string last = data + "/" + segments->back().name;
  // The segment is reserved to its full size: its data ends before the file does.
  const uint64_t size = DataEnd(fs.ReadFile(last).value());
  EXPECT_EQ(std::filesystem::file_size(last), 1000u);
  std::filesystem::resize_file(last, size - 5);

  test::Recovered out = test::RecoverAll(fs, data);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.report.snapshot_lsn, Lsn{150});
  test::ExpectRecords(out.records, 151, 199);
  EXPECT_EQ(out.report.bytes_cut, kRecordHeaderBytes + PayloadFor(Lsn{200}).size() - 5);
  EXPECT_EQ(std::filesystem::file_size(last),
            size - kRecordHeaderBytes - PayloadFor(Lsn{200}).size());

  // Continue after the recovered lsn; the next start sees everything.
  test::WriteRecords(fs, data, Lsn{200}, Lsn{210});
  test::Recovered again = test::RecoverAll(fs, data);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  test::ExpectRecords(again.records, 151, 210);
}

// A fresh segment is reserved at its full size; ReadSegment keeps only its data and
// reads the same bytes as ReadFile does, zeros included.
TEST(PosixFileTest, ReadSegmentKeepsOnlyTheDataOfAReservedSegment) {
  testing::TempDir dir;
  FileSystem& fs = DefaultFileSystem();
  const std::string data = dir.File("data");
  test::WriteRecords(fs, data, Lsn{1}, Lsn{20});
  const std::string path = test::SegmentPath(data, 1);
  auto whole = fs.ReadFile(path);
  ASSERT_TRUE(whole.ok());
  auto segment = ReadSegment(fs, path);
  ASSERT_TRUE(segment.ok()) << segment.status().ToString();
  EXPECT_EQ(segment->file_bytes, whole->size());
  EXPECT_EQ(segment->data, whole->substr(0, DataEnd(*whole)));
  // A byte far into the reserved space is found, with the zeros before it.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(whole->size() - 10));
    f.put('x');
  }
  auto damaged = ReadSegment(fs, path);
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(damaged->data.size(), whole->size() - 9);
  EXPECT_EQ(damaged->data.back(), 'x');
  EXPECT_EQ(damaged->data.substr(0, segment->data.size()), segment->data);
  EXPECT_EQ(ReadSegment(fs, dir.File("missing")).status().code(), base::StatusCode::kNotFound);
}

}  // namespace
}  // namespace exactly::storage
