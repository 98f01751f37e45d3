// Snapshot + journal replay, torn-tail cutting and corruption reports.
#include "storage/recovery.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "storage/journal_format.h"
#include "storage/journal_reader.h"
#include "storage/segment_readahead.h"
#include "storage/snapshot_format.h"
#include "storage/snapshot_reader.h"

namespace exactly::storage {
namespace {

std::string RepairAdvice(const std::string& dir) {
  return "; refusing to start. `exactly repair --dir " + dir +
         "` cuts the journal there, losing every record from that point on";
}

// The newest snapshot that verifies, if any; notes the ones skipped.
base::Result<std::optional<Snapshot>> NewestSnapshot(FileSystem& fs, const std::string& dir,
                                                     bool* had_snapshots, RecoveryReport* report) {
  base::Result<std::vector<Lsn>> lsns = ListSnapshots(fs, dir);
  if (!lsns.ok()) return lsns.status();
  *had_snapshots = !lsns->empty();
  for (Lsn lsn : lsns.value()) {
    base::Result<Snapshot> snapshot = ReadSnapshot(fs, dir, lsn);
    if (!snapshot.ok()) {
      if (snapshot.status().code() != base::StatusCode::kCorruption) return snapshot.status();
      report->notes.push_back("skipped " + snapshot.status().message() +
                              "; falling back to an older snapshot and the journal");
      continue;
    }
    return std::optional<Snapshot>(std::move(snapshot.value()));
  }
  return std::optional<Snapshot>();
}

// Removes the part of the journal from (segments[index], offset) on: truncates
// that segment (or removes it when not even its header is good) and removes every
// later segment. Adds what goes to the report; changes nothing when !modify.
base::Status CutJournal(FileSystem& fs, const std::string& dir,
                        const std::vector<SegmentFile>& segments, size_t index, uint64_t offset,
                        uint64_t data_bytes, bool modify, RecoveryReport* report) {
  const std::string& name = segments[index].name;
  std::string path = dir + "/" + name;
  report->cut_file = name;
  // Reserved zeros past the data are not counted: they never held a record.
  const uint64_t dropped = data_bytes > offset ? data_bytes - offset : 0;
  report->bytes_cut += dropped;
  bool remove_whole = offset < kSegmentHeaderBytes;
  if (modify) {
    if (remove_whole) {
      EXACTLY_RETURN_IF_ERROR(fs.Remove(path));
    } else {
      EXACTLY_RETURN_IF_ERROR(fs.Truncate(path, offset));
    }
  }
  report->notes.push_back(std::string(modify ? "cut " : "would cut ") + std::to_string(dropped) +
                          " bytes from " + name + " at byte " + std::to_string(offset) +
                          (remove_whole ? " (the whole file)" : ""));
  for (size_t later = index + 1; later < segments.size(); ++later) {
    std::string later_path = dir + "/" + segments[later].name;
    base::Result<SegmentBytes> bytes = ReadSegment(fs, later_path);
    if (!bytes.ok()) return bytes.status();
    const uint64_t later_bytes = DataEnd(bytes->data);
    report->bytes_cut += later_bytes;
    if (modify) EXACTLY_RETURN_IF_ERROR(fs.Remove(later_path));
    report->notes.push_back(std::string(modify ? "removed " : "would remove ") +
                            segments[later].name + " (" + std::to_string(later_bytes) + " bytes)");
  }
  if (modify) EXACTLY_RETURN_IF_ERROR(fs.SyncDir(dir));
  return base::Status::Ok();
}

// Index of the segment replay starts in; Corruption if records are missing.
base::Result<size_t> StartSegment(const std::vector<SegmentFile>& segments, Lsn snapshot_lsn,
                                  const std::string& dir) {
  if (snapshot_lsn.value == 0) {
    if (segments.front().first_lsn != Lsn{1}) {
      return base::Status::Corruption(
          "no valid snapshot in " + dir + " and the journal starts at " + segments.front().name +
          ", not at lsn 1: records 1.." + std::to_string(segments.front().first_lsn.value - 1) +
          " are missing");
    }
    return size_t{0};
  }
  std::optional<size_t> start;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].first_lsn.value <= snapshot_lsn.value + 1) start = i;
  }
  if (!start) {
    return base::Status::Corruption("snapshot in " + dir + " ends at lsn " +
                                    std::to_string(snapshot_lsn.value) +
                                    " but the journal starts at " + segments.front().name +
                                    ": the records between are missing");
  }
  return *start;
}

}  // namespace

base::Result<RecoveryReport> Recover(FileSystem& fs, const std::string& dir,
                                     const RecoveryOptions& options,
                                     const RecoveryCallback& load_snapshot,
                                     const RecoveryCallback& apply) {
  RecoveryReport report;
  const bool modify = options.cut_torn_tail || options.cut_corruption;
  base::Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) {
    if (names.status().code() != base::StatusCode::kNotFound || !modify) return names.status();
    EXACTLY_RETURN_IF_ERROR(fs.CreateDir(dir));
    report.notes.push_back("created the empty data directory " + dir);
    return report;
  }

  bool had_snapshots = false;
  base::Result<std::optional<Snapshot>> snapshot = NewestSnapshot(fs, dir, &had_snapshots, &report);
  if (!snapshot.ok()) return snapshot.status();
  const Lsn snapshot_lsn = *snapshot ? (*snapshot)->lsn : Lsn{0};

  // The journal is listed before the snapshot is loaded, so that its segments
  // are read and scanned while the snapshot loads.
  base::Result<std::vector<SegmentFile>> listed = ListSegments(fs, dir);
  base::Result<size_t> start = size_t{0};
  if (listed.ok() && !listed->empty()) start = StartSegment(*listed, snapshot_lsn, dir);
  std::vector<SegmentFile> to_read;
  if (listed.ok() && start.ok()) {
    to_read.assign(listed->begin() + static_cast<std::ptrdiff_t>(*start), listed->end());
  }
  SegmentReadahead readahead(fs, dir, std::move(to_read), options.readahead_segments);

  if (*snapshot) {
    Snapshot& loaded = **snapshot;
    EXACTLY_RETURN_IF_ERROR(load_snapshot(loaded.lsn, loaded.state));
    report.snapshot_lsn = loaded.lsn;
    report.last_lsn = loaded.lsn;
    report.notes.push_back("loaded " + SnapshotFileName(loaded.lsn) + " (" +
                           std::to_string(loaded.state.size()) + " bytes)");
    loaded.state = std::string();  // its memory is not needed for the journal
  }

  if (!listed.ok()) return listed.status();
  const std::vector<SegmentFile>& segments = listed.value();
  if (segments.empty()) {
    if (had_snapshots && snapshot_lsn.value == 0) {
      return base::Status::Corruption("no snapshot in " + dir +
                                      " verifies and there is no journal to rebuild from");
    }
    return report;
  }
  if (!start.ok()) return start.status();

  auto visit = [&](Lsn lsn, std::string_view payload) {
    if (lsn <= snapshot_lsn) return base::Status::Ok();
    EXACTLY_RETURN_IF_ERROR(apply(lsn, payload));
    ++report.records_replayed;
    return base::Status::Ok();
  };

  std::optional<Lsn> previous_last;
  for (size_t i = *start; i < segments.size(); ++i) {
    const SegmentFile& segment = segments[i];
    const bool last_segment = i + 1 == segments.size();
    std::string path = dir + "/" + segment.name;
    std::unique_ptr<ScannedSegment> read = readahead.Next();
    if (!read->status.ok()) return read->status;

    SegmentScan scan;
    if (previous_last && segment.first_lsn != previous_last->Next()) {
      scan.end = SegmentEnd::kCorrupt;
      scan.file_bytes = read->bytes.file_bytes;
      scan.data_bytes = DataEnd(read->bytes.data);
      scan.problem = "segment starts at lsn " + std::to_string(segment.first_lsn.value) +
                     " but the previous one ends at lsn " + std::to_string(previous_last->value);
    } else {
      for (const ScannedRecord& record : read->records) {
        EXACTLY_RETURN_IF_ERROR(visit(record.lsn, record.payload));
      }
      scan = std::move(read->scan);
      previous_last = scan.last_lsn;
      report.last_lsn = std::max(report.last_lsn, scan.last_lsn);
    }
    readahead.Recycle(std::move(read));
    // From here on files may be cut: no reading may be under way.
    if (scan.end != SegmentEnd::kClean || last_segment) readahead.Stop();
    if (scan.end == SegmentEnd::kClean) {
      // The writer starts a new segment after recovery, so the reserved space of
      // the last one would never be used: give it back.
      if (last_segment && options.cut_torn_tail && scan.good_bytes < scan.file_bytes) {
        EXACTLY_RETURN_IF_ERROR(fs.Truncate(path, scan.good_bytes));
      }
      continue;
    }

    if (scan.end == SegmentEnd::kUnknownVersion) {
      // Not damage, so neither cut nor repaired: another build wrote it.
      return base::Status::Corruption("journal segment " + path +
                                      " cannot be read: " + scan.problem +
                                      "; refusing to start. Run the build that wrote it");
    }
    if (scan.end == SegmentEnd::kTorn && last_segment) {
      EXACTLY_RETURN_IF_ERROR(CutJournal(fs, dir, segments, i, scan.good_bytes, scan.data_bytes,
                                         options.cut_torn_tail, &report));
      report.notes.push_back("torn tail: " + scan.problem);
      return report;
    }
    std::string where = "journal corruption in " + path + " at byte " +
                        std::to_string(scan.good_bytes) + ": " + scan.problem;
    if (scan.end == SegmentEnd::kTorn) where += " (in a segment that is not the last)";
    if (!options.cut_corruption) return base::Status::Corruption(where + RepairAdvice(dir));
    EXACTLY_RETURN_IF_ERROR(
        CutJournal(fs, dir, segments, i, scan.good_bytes, scan.data_bytes, true, &report));
    report.notes.push_back("repaired " + where);
    return report;
  }
  return report;
}

}  // namespace exactly::storage
