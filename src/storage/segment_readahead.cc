// Reads and scans journal segments ahead of replay, on a thread of its own.
#include "storage/segment_readahead.h"

#include <utility>

#include "base/assert.h"

namespace exactly::storage {

SegmentReadahead::SegmentReadahead(FileSystem& fs, std::string dir,
                                   std::vector<SegmentFile> segments, size_t depth)
    : fs_(fs), dir_(std::move(dir)), segments_(std::move(segments)), depth_(depth) {
  if (depth_ > 0 && !segments_.empty()) thread_ = std::thread([this] { Run(); });
}

SegmentReadahead::~SegmentReadahead() { Stop(); }

void SegmentReadahead::ReadInto(size_t index, ScannedSegment* into) {
  into->records.clear();
  into->scan = SegmentScan();
  into->status = ReadSegmentInto(fs_, dir_ + "/" + segments_[index].name, &into->bytes);
  if (!into->status.ok()) return;
  base::Result<SegmentScan> scanned =
      ScanSegment(into->bytes, segments_[index].first_lsn, [into](Lsn lsn, std::string_view bytes) {
        into->records.push_back(ScannedRecord{lsn, bytes});
        return base::Status::Ok();
      });
  // The visitor never fails, and only a failing visitor fails a scan.
  EXACTLY_ASSERT(scanned.ok());
  into->scan = std::move(scanned.value());
}

void SegmentReadahead::Run() {
  for (size_t index = 0; index < segments_.size(); ++index) {
    std::unique_ptr<ScannedSegment> segment;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
      if (stop_) return;
      if (!spare_.empty()) {
        segment = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (!segment) segment = std::make_unique<ScannedSegment>();
    ReadInto(index, segment.get());
    // A failed read ends the reading: the caller stops at that segment.
    const bool failed = !segment->status.ok();
    {
      std::lock_guard lock(mutex_);
      ready_.push_back(std::move(segment));
    }
    changed_.notify_all();
    if (failed) return;
  }
}

std::unique_ptr<ScannedSegment> SegmentReadahead::Next() {
  EXACTLY_ASSERT(next_ < segments_.size());
  const size_t index = next_++;
  std::unique_ptr<ScannedSegment> segment;
  if (depth_ == 0) {
    EXACTLY_ASSERT(!stop_);
    if (!spare_.empty()) {
      segment = std::move(spare_.back());
      spare_.pop_back();
    } else {
      segment = std::make_unique<ScannedSegment>();
    }
    ReadInto(index, segment.get());
    return segment;
  }
  {
    std::unique_lock lock(mutex_);
    EXACTLY_ASSERT(!stop_);
    changed_.wait(lock, [this] { return !ready_.empty(); });
    segment = std::move(ready_.front());
    ready_.pop_front();
  }
  changed_.notify_all();
  return segment;
}

void SegmentReadahead::Recycle(std::unique_ptr<ScannedSegment> done) {
  {
    std::lock_guard lock(mutex_);
    spare_.push_back(std::move(done));
  }
  changed_.notify_all();
}

void SegmentReadahead::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace exactly::storage
