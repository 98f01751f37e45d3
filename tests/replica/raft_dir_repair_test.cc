// RepairInterruptedInstall on directories that are not the failing shape: it must
// leave them exactly as they were. The failing shape itself is built from real
// nodes' files in raft_node_test.cc (InterruptedSnapshotInstallIsSetAsideAtStart).
#include "replica/raft_dir_repair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace exactly::replica {
namespace {

namespace fs = std::filesystem;

void WriteFile(const std::string& path, std::size_t zeros, const std::string& bytes = "") {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  out.close();
  if (zeros > 0) fs::resize_file(path, bytes.size() + zeros);
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(RaftDirRepairTest, MissingDirIsAnIoError) {
  auto repair = RepairInterruptedInstall("/nonexistent/raft-dir-repair-test");
  ASSERT_FALSE(repair.ok());
  EXPECT_EQ(repair.status().code(), base::StatusCode::kIoError);
}

TEST(RaftDirRepairTest, LeavesDirsOutsideTheShapeAlone) {
  testing::TempDir dir;
  auto empty = RepairInterruptedInstall(dir.path());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value().segments_set_aside, 0u);

  // Segments only, no snapshot: the log is the whole state.
  WriteFile(dir.File("0000000000000001-0000000000000100"), 4096);
  WriteFile(dir.File("open-1"), 4096);
  // A snapshot whose data file is empty does not count for C-Raft (UvList), nor a
  // .meta without its data, nor names that only look like C-Raft's.
  WriteFile(dir.File("snapshot-3-500-1.meta"), 64);
  WriteFile(dir.File("snapshot-3-500-1"), 0);
  WriteFile(dir.File("snapshot-3-600-1.meta"), 64);
  WriteFile(dir.File("snapshot-3-700-1.meta.bak"), 64);
  WriteFile(dir.File("snapshot-3-700-1.bak"), 64);
  std::vector<std::string> names = Names(dir.path());
  auto repair = RepairInterruptedInstall(dir.path());
  ASSERT_TRUE(repair.ok()) << repair.status().ToString();
  EXPECT_EQ(repair.value().segments_set_aside, 0u);
  EXPECT_EQ(Names(dir.path()), names);

  // A snapshot behind the log's end: the loader keeps the log.
  WriteFile(dir.File("snapshot-3-90-1.meta"), 64);
  WriteFile(dir.File("snapshot-3-90-1"), 64);
  names = Names(dir.path());
  repair = RepairInterruptedInstall(dir.path());
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(repair.value().segments_set_aside, 0u);
  EXPECT_TRUE(repair.value().notes.empty());
  EXPECT_EQ(Names(dir.path()), names);
}

TEST(RaftDirRepairTest, AnUnreadableMetaLeavesTheSegments) {
  testing::TempDir dir;
  WriteFile(dir.File("0000000000000001-0000000000000100"), 4096);
  WriteFile(dir.File("open-1"), 1u << 20);
  WriteFile(dir.File("snapshot-3-500-1"), 64);
  WriteFile(dir.File("snapshot-3-500-1.meta"), 64);  // zeros: not C-Raft's format
  std::vector<std::string> names = Names(dir.path());
  auto repair = RepairInterruptedInstall(dir.path());
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(repair.value().segments_set_aside, 0u);
  ASSERT_EQ(repair.value().notes.size(), 1u);
  EXPECT_NE(repair.value().notes[0].find("left as it is"), std::string::npos);
  EXPECT_EQ(Names(dir.path()), names);
}

}  // namespace
}  // namespace exactly::replica
