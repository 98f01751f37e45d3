// Recovery: rebuilds state from the newest valid snapshot plus the journal after
// it, applying the table of cases in docs/journal_format.md (replay whole records,
// cut a torn tail of the last segment, refuse to start on corruption).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"

namespace exactly::storage {

struct RecoveryReport {
  Lsn snapshot_lsn;  // 0 if none
  uint64_t records_replayed = 0;
  Lsn last_lsn;                    // highest lsn recovered (snapshot or journal)
  uint64_t bytes_cut = 0;          // torn tail removed (or that would be removed, in check mode)
  std::string cut_file;            // which segment, if any
  std::vector<std::string> notes;  // human-readable lines for `exactly check` and the server log
};

struct RecoveryOptions {
  // Cut a torn tail (truncate + fsync). false: read-only check, nothing on disk
  // changes and the report says what would be cut.
  bool cut_torn_tail = true;
  // For the repair tool only: cut the journal at the first bad record instead of
  // failing with Corruption (the segment is truncated there, later segments removed).
  bool cut_corruption = false;
  // Journal segments read and scanned ahead of replay, on a thread of its own
  // (segment_readahead.h). 0: each segment is read when replay reaches it, on
  // the calling thread.
  size_t readahead_segments = 1;
};

using RecoveryCallback = std::function<base::Status(Lsn lsn, std::string_view bytes)>;

// Loads the newest valid snapshot (load_snapshot(lsn, state), at most once), then
// calls apply(lsn, payload) for each later journal record in lsn order. A snapshot
// that fails its checksums is skipped for an older one, noted in the report.
// Fails with Corruption, naming the file, the byte offset and the repair command,
// when a bad record has good data after it or sits in a segment before the last,
// when lsns have a gap, or when no valid snapshot exists and the journal does not
// start at lsn 1. Errors from the callbacks are returned as they are. A missing
// `dir` is created (empty state), except in check mode where it is NotFound.
base::Result<RecoveryReport> Recover(FileSystem& fs, const std::string& dir,
                                     const RecoveryOptions& options,
                                     const RecoveryCallback& load_snapshot,
                                     const RecoveryCallback& apply);

}  // namespace exactly::storage
