// Helpers shared by the storage tests: write a journal, recover it into a list.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "storage/file.h"
#include "storage/journal_writer.h"
#include "storage/recovery.h"

namespace exactly::storage::test {

inline constexpr char kDir[] = "/data";

// A payload whose bytes and length depend on its lsn, so a record read back
// under the wrong lsn does not match.
inline std::string PayloadFor(Lsn lsn) {
  return "record-" + std::to_string(lsn.value) + std::string(lsn.value % 17, 'x');
}

// Appends records first..last (after `first - 1`) through a fresh writer; syncs
// after each record when `sync_each`, else once at the end.
inline void AppendRecords(FileSystem& fs, const std::string& dir, Lsn first, Lsn last,
                          JournalWriterOptions options, bool sync_each) {
  auto writer = OpenJournalWriter(fs, dir, Lsn{first.value - 1}, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (uint64_t lsn = first.value; lsn <= last.value; ++lsn) {
    ASSERT_TRUE((*writer)->Append(Lsn{lsn}, PayloadFor(Lsn{lsn})).ok());
    if (sync_each) {
      ASSERT_TRUE((*writer)->Sync().ok());
    }
  }
  if (!sync_each) {
    ASSERT_TRUE((*writer)->Sync().ok());
  }
}

// Records first..last in one write, synced once.
inline void WriteRecords(FileSystem& fs, const std::string& dir, Lsn first, Lsn last,
                         JournalWriterOptions options = {}) {
  AppendRecords(fs, dir, first, last, options, /*sync_each=*/false);
}

// As WriteRecords, but each record goes out in its own write and is synced before
// the next is appended (--fsync always with one record per batch): damage to one of
// them, with later ones after it, is damage to synced data.
inline void WriteRecordsOneSyncEach(FileSystem& fs, const std::string& dir, Lsn first, Lsn last,
                                    JournalWriterOptions options = {}) {
  AppendRecords(fs, dir, first, last, options, /*sync_each=*/true);
}

struct Recovered {
  base::Status status;
  RecoveryReport report;
  std::vector<std::pair<uint64_t, std::string>> snapshots;  // what load_snapshot got
  std::vector<std::pair<uint64_t, std::string>> records;    // what apply got
};

inline Recovered RecoverAll(FileSystem& fs, const std::string& dir, RecoveryOptions options = {}) {
  Recovered out;
  auto result = Recover(
      fs, dir, options,
      [&](Lsn lsn, std::string_view bytes) {
        out.snapshots.emplace_back(lsn.value, std::string(bytes));
        return base::Status::Ok();
      },
      [&](Lsn lsn, std::string_view bytes) {
        out.records.emplace_back(lsn.value, std::string(bytes));
        return base::Status::Ok();
      });
  if (result.ok()) {
    out.report = std::move(result.value());
  } else {
    out.status = result.status();
  }
  return out;
}

// Asserts that `records` are exactly lsns first..last with their payloads.
inline void ExpectRecords(const std::vector<std::pair<uint64_t, std::string>>& records,
                          uint64_t first, uint64_t last) {
  ASSERT_EQ(records.size(), last + 1 - first);
  for (uint64_t lsn = first; lsn <= last; ++lsn) {
    EXPECT_EQ(records[lsn - first].first, lsn);
    EXPECT_EQ(records[lsn - first].second, PayloadFor(Lsn{lsn}));
  }
}

inline std::string SegmentPath(const std::string& dir, uint64_t first_lsn) {
  return dir + "/" + SegmentFileName(Lsn{first_lsn});
}

}  // namespace exactly::storage::test
