// Appends framed records to segment files, rolling segments by size.
#include "storage/journal_writer.h"

#include <utility>

namespace exactly::storage {
namespace {

std::string JoinPath(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Creates (or replaces an empty leftover of) the segment starting at first_lsn,
// reserves its full size, writes and syncs its header and makes its name durable,
// so that a clean segment never lacks a header (recovery would have to cut it).
base::Result<std::unique_ptr<WritableFile>> CreateSegment(FileSystem& fs, const std::string& dir,
                                                          const std::string& path, Lsn first_lsn,
                                                          uint64_t segment_bytes) {
  base::Result<std::string> existing = fs.ReadFile(path);
  if (existing.ok()) {
    if (DataEnd(*existing) > kSegmentHeaderBytes) {
      return base::Status::InvalidArgument("journal segment " + path +
                                           " already holds records; open the writer at the "
                                           "last lsn that recovery reported");
    }
  } else if (existing.status().code() != base::StatusCode::kNotFound) {
    return existing.status();
  }
  base::Result<std::unique_ptr<WritableFile>> file = fs.OpenTruncated(path);
  if (!file.ok()) return file.status();
  std::string header;
  EncodeSegmentHeader(first_lsn, &header);
  EXACTLY_RETURN_IF_ERROR((*file)->Reserve(segment_bytes));
  EXACTLY_RETURN_IF_ERROR((*file)->Append(header));
  EXACTLY_RETURN_IF_ERROR((*file)->Sync());
  EXACTLY_RETURN_IF_ERROR(fs.SyncDir(dir));
  return file;
}

}  // namespace

JournalWriter::JournalWriter(FileSystem& fs, std::string dir, JournalWriterOptions options,
                             Lsn last_lsn, std::string segment_path,
                             std::unique_ptr<WritableFile> file)
    : fs_(fs),
      dir_(std::move(dir)),
      options_(options),
      last_lsn_(last_lsn),
      segment_path_(std::move(segment_path)),
      file_(std::move(file)),
      synced_bytes_(file_->size()) {}

JournalWriter::~JournalWriter() = default;

base::Status JournalWriter::Latch(base::Status status) {
  if (failure_.ok()) failure_ = status;
  return status;
}

base::Status JournalWriter::Append(Lsn lsn, std::string_view payload) {
  if (!failure_.ok()) return failure_;
  if (lsn != last_lsn_.Next()) {
    return base::Status::InvalidArgument("journal lsn " + std::to_string(lsn.value) +
                                         " does not follow " + std::to_string(last_lsn_.value));
  }
  if (payload.size() > kRecordPayloadBytesMax) {
    return base::Status::InvalidArgument("journal record of " + std::to_string(payload.size()) +
                                         " bytes is over the maximum");
  }
  if (segment_has_records_ && file_->size() + buffer_.size() >= options_.segment_bytes) {
    EXACTLY_RETURN_IF_ERROR(RollSegment(lsn));
  }
  // The buffer goes out in one Append at the segment's current end (Flush), so
  // every record in it carries that offset: recovery tells the records of one
  // write from those of the next by it.
  EncodeRecord(lsn, file_->size(), payload, &buffer_);
  last_lsn_ = lsn;
  segment_has_records_ = true;
  return base::Status::Ok();
}

base::Status JournalWriter::Flush() {
  if (!failure_.ok()) return failure_;
  if (buffer_.empty()) return base::Status::Ok();
  base::Status status = file_->Append(buffer_);
  buffer_.clear();
  if (!status.ok()) return Latch(std::move(status));
  return base::Status::Ok();
}

base::Status JournalWriter::Sync() {
  EXACTLY_RETURN_IF_ERROR(Flush());
  base::Status status = file_->Sync();
  if (!status.ok()) return Latch(std::move(status));
  synced_bytes_ = file_->size();
  return base::Status::Ok();
}

base::Status JournalWriter::RollSegment(Lsn first_lsn) {
  // Everything in the old segment must be durable before records in the new one
  // can be: a later fdatasync covers only the new file.
  EXACTLY_RETURN_IF_ERROR(Sync());
  std::string path = JoinPath(dir_, SegmentFileName(first_lsn));
  base::Result<std::unique_ptr<WritableFile>> file =
      CreateSegment(fs_, dir_, path, first_lsn, options_.segment_bytes);
  if (!file.ok()) return Latch(file.status());
  file_ = std::move(file.value());
  segment_path_ = std::move(path);
  segment_has_records_ = false;
  synced_bytes_ = file_->size();  // CreateSegment synced the header
  return base::Status::Ok();
}

base::Result<std::unique_ptr<JournalWriter>> OpenJournalWriter(FileSystem& fs,
                                                               const std::string& dir, Lsn last_lsn,
                                                               JournalWriterOptions options) {
  if (options.segment_bytes == 0) {
    return base::Status::InvalidArgument("journal segment size must be positive");
  }
  EXACTLY_RETURN_IF_ERROR(fs.CreateDir(dir));
  Lsn first_lsn = last_lsn.Next();
  std::string path = JoinPath(dir, SegmentFileName(first_lsn));
  base::Result<std::unique_ptr<WritableFile>> file =
      CreateSegment(fs, dir, path, first_lsn, options.segment_bytes);
  if (!file.ok()) return file.status();
  return std::make_unique<JournalWriter>(fs, dir, options, last_lsn, std::move(path),
                                         std::move(file.value()));
}

}  // namespace exactly::storage
