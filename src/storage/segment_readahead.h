// SegmentReadahead: reads and scans the journal segments recovery is about to
// replay on a thread of its own, so that reading and checking the journal
// overlaps with loading the snapshot and applying records (recovery.cc). A
// restart with 1 GiB of journal spent 0.8 s of its 3.6 s of journal there.
//
// The thread reads the segments in order and stays at most `depth` segments
// ahead of the caller, so memory is bounded by depth + 2 segments. Their
// buffers are reused from one segment to the next: a fresh 64 MiB string per
// segment cost more in page faults than the read itself. Each scan is the same
// ScanSegment the caller would run; what its result means (replay, cut, refuse)
// stays the caller's decision.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"
#include "storage/journal_reader.h"

namespace exactly::storage {

struct ScannedRecord {
  Lsn lsn;
  std::string_view payload;  // into ScannedSegment::bytes
};

// One segment as the scan left it.
struct ScannedSegment {
  base::Status status;  // of reading the file; when not ok, nothing below is set
  SegmentBytes bytes;
  SegmentScan scan;
  std::vector<ScannedRecord> records;  // the whole records, in order
};

class SegmentReadahead {
 public:
  // Will read dir/segments[i].name for every i, in order. depth 0 starts no
  // thread: each Next() reads its segment in the caller (the reference the
  // threaded reading is tested against). `fs` must outlive this.
  SegmentReadahead(FileSystem& fs, std::string dir, std::vector<SegmentFile> segments,
                   size_t depth);
  SegmentReadahead(const SegmentReadahead&) = delete;
  SegmentReadahead& operator=(const SegmentReadahead&) = delete;
  // Stops the thread (Stop()).
  ~SegmentReadahead();

  // The next segment, read and scanned, waiting for it. Called at most once per
  // segment and not after Stop(). One thread calls Next, Recycle and Stop.
  std::unique_ptr<ScannedSegment> Next();
  // Gives back a segment Next returned, so that its memory holds a later one.
  void Recycle(std::unique_ptr<ScannedSegment> done);
  // Stops reading: once it returns, the thread has ended and no file is read or
  // open any more, so the caller may cut or remove segments. Idempotent.
  void Stop();

 private:
  void Run();
  // Reads and scans segments_[index] into `into`, whose buffers are reused.
  void ReadInto(size_t index, ScannedSegment* into);

  FileSystem& fs_;
  const std::string dir_;
  const std::vector<SegmentFile> segments_;
  const size_t depth_;
  size_t next_ = 0;  // the caller's next segment

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<ScannedSegment>> ready_;   // guarded by mutex_, in order
  std::vector<std::unique_ptr<ScannedSegment>> spare_;  // guarded by mutex_
  bool stop_ = false;                                   // guarded by mutex_
  std::thread thread_;
};

}  // namespace exactly::storage
