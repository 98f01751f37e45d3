// Reading and verifying snapshot files.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"

namespace exactly::storage {

struct Snapshot {
  Lsn lsn;
  std::string state;  // the payload, as given to WriteSnapshot
};

// Lsns of the snapshot files (.snap) in `dir`, newest first.
base::Result<std::vector<Lsn>> ListSnapshots(FileSystem& fs, const std::string& dir);

// Reads and verifies snapshot-<lsn>.snap in `dir`. Corruption (naming the file and
// what is wrong) if the header, the size, the lsn or the payload checksum is bad;
// IoError or NotFound if it cannot be read.
base::Result<Snapshot> ReadSnapshot(FileSystem& fs, const std::string& dir, Lsn lsn);

}  // namespace exactly::storage
