// Writing snapshots atomically, and pruning what a durable snapshot makes obsolete.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"

namespace exactly::storage {

// Writes `state` as snapshot-<lsn>.snap in `dir`: first to snapshot-<lsn>.tmp,
// fdatasync, rename, fsync of the directory. When it returns ok the snapshot is
// durable; after a failure or a crash, no .snap file for `lsn` exists or a
// complete one does. Uses no threads and takes no locks beyond what `fs` does, so
// a forked child may call it.
base::Status WriteSnapshot(FileSystem& fs, const std::string& dir, Lsn lsn, std::string_view state);

// After snapshot-<snapshot_lsn>.snap is durable: removes older snapshots, leftover
// .tmp files at or below snapshot_lsn, and every segment whose records are all
// <= snapshot_lsn (its successor starts at or below snapshot_lsn + 1). The newest
// segment, the one being written, is never removed. fsyncs the directory.
// NotFound if the snapshot itself is missing (then nothing is removed).
base::Status PruneBefore(FileSystem& fs, const std::string& dir, Lsn snapshot_lsn);

}  // namespace exactly::storage
