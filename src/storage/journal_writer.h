// JournalWriter: appends records to the journal's segment files.
//
// Records are buffered in memory by Append and reach the file on Flush or Sync,
// one write per batch; each record's header carries the segment offset where that
// write begins (docs/journal_format.md). Segments roll at JournalWriterOptions::segment_bytes: the
// old segment is written and fdatasync'ed, the new one created and the directory
// fsync'ed. Not thread-safe: one thread (GroupCommit's) owns a writer. The first
// failure latches: every later call returns the same error, because after a
// failed write or fdatasync what reached the disk is unknown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"
#include "storage/journal_format.h"

namespace exactly::storage {

struct JournalWriterOptions {
  // A new segment starts once the current one holds at least this many bytes.
  uint64_t segment_bytes = kSegmentBytesDefault;
};

class JournalWriter {
 public:
  // Use OpenJournalWriter. `file` is the open segment at `segment_path`, its
  // header already written.
  JournalWriter(FileSystem& fs, std::string dir, JournalWriterOptions options, Lsn last_lsn,
                std::string segment_path, std::unique_ptr<WritableFile> file);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Buffers one record. `lsn` must be last_lsn() + 1 (InvalidArgument otherwise:
  // the journal's LSNs are consecutive so that recovery can see a missing record).
  // `payload` is copied; at most kRecordPayloadBytesMax bytes.
  base::Status Append(Lsn lsn, std::string_view payload);
  // Writes every buffered record to the current segment (no sync).
  base::Status Flush();
  // Flush, then fdatasync the current segment.
  base::Status Sync();

  // Bytes of the current segment written but not yet covered by a successful Sync
  // (buffered records not counted). GroupCommit asserts it is 0 before each write
  // in --fsync always.
  uint64_t unsynced_bytes() const { return file_->size() - synced_bytes_; }
  // The lsn of the last record appended (buffered or not).
  Lsn last_lsn() const { return last_lsn_; }
  // Path of the segment being written.
  const std::string& segment_path() const { return segment_path_; }

 private:
  base::Status Latch(base::Status status);
  base::Status RollSegment(Lsn first_lsn);

  FileSystem& fs_;
  const std::string dir_;
  const JournalWriterOptions options_;
  Lsn last_lsn_;
  std::string segment_path_;
  std::unique_ptr<WritableFile> file_;
  uint64_t synced_bytes_ = 0;         // file_->size() at the last successful sync
  bool segment_has_records_ = false;  // a segment never rolls before its first record
  std::string buffer_;                // encoded records not yet written; its capacity is reused
  base::Status failure_;
};

// Opens a writer whose next record is last_lsn + 1, in a new segment
// journal-<last_lsn + 1>.log (created, header written and synced, directory fsync'ed). `last_lsn`
// must be the last lsn that Recover() reported for `dir`: a file of that name holding records
// already is refused with InvalidArgument rather than overwritten. Creates `dir`
// if it does not exist.
base::Result<std::unique_ptr<JournalWriter>> OpenJournalWriter(FileSystem& fs,
                                                               const std::string& dir, Lsn last_lsn,
                                                               JournalWriterOptions options = {});

}  // namespace exactly::storage
