// Repair: the explicit, human-invoked cut of a corrupt journal (`exactly repair`).
#pragma once

#include <string>

#include "base/status.h"
#include "storage/file.h"
#include "storage/recovery.h"

namespace exactly::storage {

// Cuts the journal in `dir` at the first bad record, keeping everything before it:
// that segment is truncated there (removed if its header is bad) and every later
// segment is removed. A torn tail is cut as at start-up. Reports what was cut
// (bytes_cut, cut_file, notes); records_replayed counts the records kept after the
// snapshot. Corruption only for what cutting cannot fix (no valid snapshot and a
// journal that does not start at lsn 1, or a snapshot newer than the journal's start).
base::Result<RecoveryReport> Repair(FileSystem& fs, const std::string& dir);

}  // namespace exactly::storage
