// Atomic snapshot writes and pruning of obsolete snapshots and segments.
#include "storage/snapshot_writer.h"

#include <memory>
#include <optional>
#include <vector>

#include "storage/journal_reader.h"
#include "storage/snapshot_format.h"

namespace exactly::storage {

base::Status WriteSnapshot(FileSystem& fs, const std::string& dir, Lsn lsn,
                           std::string_view state) {
  std::string temp_path = dir + "/" + SnapshotTempFileName(lsn);
  std::string final_path = dir + "/" + SnapshotFileName(lsn);
  std::string header;
  EncodeSnapshotHeader(lsn, state, &header);
  {
    base::Result<std::unique_ptr<WritableFile>> file = fs.OpenTruncated(temp_path);
    if (!file.ok()) return file.status();
    EXACTLY_RETURN_IF_ERROR((*file)->Append(header));
    EXACTLY_RETURN_IF_ERROR((*file)->Append(state));
    EXACTLY_RETURN_IF_ERROR((*file)->Sync());
  }
  EXACTLY_RETURN_IF_ERROR(fs.Rename(temp_path, final_path));
  return fs.SyncDir(dir);
}

base::Status PruneBefore(FileSystem& fs, const std::string& dir, Lsn snapshot_lsn) {
  base::Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  bool snapshot_present = false;
  std::vector<std::string> doomed;
  for (const std::string& name : names.value()) {
    if (std::optional<Lsn> lsn = ParseSnapshotFileName(name)) {
      if (*lsn == snapshot_lsn) snapshot_present = true;
      if (*lsn < snapshot_lsn) doomed.push_back(name);
    } else if (std::optional<Lsn> temp_lsn = ParseSnapshotTempFileName(name)) {
      // A .tmp above snapshot_lsn may be a snapshot being written right now.
      if (*temp_lsn <= snapshot_lsn) doomed.push_back(name);
    }
  }
  if (!snapshot_present) {
    return base::Status::NotFound("snapshot " + SnapshotFileName(snapshot_lsn) + " not in " + dir +
                                  "; nothing pruned");
  }
  base::Result<std::vector<SegmentFile>> segments = ListSegments(fs, dir);
  if (!segments.ok()) return segments.status();
  // Segment i holds lsns [first_i, first_{i+1}); the last one has no successor
  // and is never removed.
  for (size_t i = 0; i + 1 < segments->size(); ++i) {
    if ((*segments)[i + 1].first_lsn.value <= snapshot_lsn.value + 1) {
      doomed.push_back((*segments)[i].name);
    }
  }
  for (const std::string& name : doomed) {
    base::Status status = fs.Remove(dir + "/" + name);
    if (!status.ok() && status.code() != base::StatusCode::kNotFound) return status;
  }
  return fs.SyncDir(dir);
}

}  // namespace exactly::storage
