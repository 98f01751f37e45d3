// Reads segment files and classifies every way a scan can stop.
#include "storage/journal_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "base/assert.h"
#include "storage/journal_format.h"

namespace exactly::storage {
namespace {

// Reads are this big; holes the file system reports between them are skipped.
constexpr size_t kReadChunkBytes = 256u << 10;

bool AllZero(const char* bytes, size_t n) {
  return n == 0 || (bytes[0] == '\0' && std::memcmp(bytes, bytes + 1, n - 1) == 0);
}

// A segment as the scan sees it: `data` holds its first bytes, and every byte from
// data.size() up to size() reads as zero (reserved space that ReadSegment did not keep).
class SegmentView {
 public:
  SegmentView(std::string_view data, uint64_t size) : data_(data), size_(size) {
    EXACTLY_ASSERT(data_.size() <= size_);
  }
  uint64_t size() const { return size_; }
  // The `n` bytes at `offset` (offset + n <= size()); valid until the next call.
  std::string_view At(uint64_t offset, uint64_t n) {
    EXACTLY_ASSERT(offset + n <= size_);
    if (offset + n <= data_.size()) return data_.substr(offset, n);
    scratch_.assign(n, '\0');
    if (offset < data_.size()) {
      std::memcpy(scratch_.data(), data_.data() + offset, data_.size() - offset);
    }
    return scratch_;
  }

 private:
  std::string_view data_;
  uint64_t size_;
  std::string scratch_;  // a piece running past data_, zero-padded
};

struct FoundHeader {
  uint64_t offset = 0;
  RecordHeader header;
};

// Cases 4 and 5 of the recovery table: the first verifiable record header at any
// offset from `from` on. Tries every byte offset so that a damaged length cannot
// hide good records behind it. A header starting at or past `data_end` (DataEnd)
// is all zeros and cannot verify, so reserved space is not searched.
std::optional<FoundHeader> FindValidHeader(SegmentView& bytes, uint32_t version, uint64_t from,
                                           uint64_t data_end) {
  const size_t header_bytes = RecordHeaderBytes(version);
  for (uint64_t offset = from; offset < data_end && offset + header_bytes <= bytes.size();
       ++offset) {
    if (std::optional<RecordHeader> header =
            DecodeRecordHeader(bytes.At(offset, header_bytes), version)) {
      return FoundHeader{offset, *header};
    }
  }
  return std::nullopt;
}

// Where the scan stood when it met something not whole.
struct Stop {
  uint32_t version = kJournalVersion;
  uint64_t bad = 0;                           // first bad byte: the end of the last whole record
  uint64_t resync = 0;                        // where the search for later records starts
  Lsn last_lsn;                               // of the last whole record
  std::optional<uint64_t> last_write_offset;  // of the last whole record, if any (version 2)
};

// Why a verifiable record header found past the damage at stop.bad is not part of
// the one write that holds that damage; "" if it is. `torn_write` is the write the
// headers found before it belong to.
std::string NotInTheDamagedWrite(const Stop& stop, const FoundHeader& found,
                                 std::optional<uint64_t> torn_write) {
  const std::string at = "a valid record header follows at byte " + std::to_string(found.offset);
  if (!found.header.write_offset) return at;  // version 1: no way to tell writes apart
  const uint64_t write_offset = *found.header.write_offset;
  if (write_offset > stop.bad) {
    // A later write started after the damaged one had returned from its sync.
    return at + ", from a later write (begun at byte " + std::to_string(write_offset) + ")";
  }
  // A write that began before the damage also holds the last whole record.
  if (write_offset < stop.bad && write_offset != stop.last_write_offset) {
    return at + " whose write offset " + std::to_string(write_offset) +
           " does not match the records before it";
  }
  if (torn_write && write_offset != *torn_write) {
    return at + " from another write (begun at byte " + std::to_string(write_offset) + ")";
  }
  if (found.header.lsn <= stop.last_lsn) {
    return at + " with lsn " + std::to_string(found.header.lsn.value) +
           ", not after the last whole record's";
  }
  return "";
}

// Classifies what follows damage at stop.bad: nothing verifiable (a torn tail),
// only records of the write that holds the damage (a write that never finished its
// sync, written back in part and out of order: also a torn tail), or a record of
// another write (corruption: see docs/journal_format.md, cases 4, 5a and 5).
void StopBad(SegmentView& bytes, const Stop& stop, std::string problem, SegmentScan* scan) {
  scan->good_bytes = stop.bad;
  scan->end = SegmentEnd::kTorn;
  std::optional<uint64_t> torn_write;
  uint64_t last_found = 0;
  uint64_t from = stop.resync;
  while (std::optional<FoundHeader> found =
             FindValidHeader(bytes, stop.version, from, scan->data_bytes)) {
    std::string other = NotInTheDamagedWrite(stop, *found, torn_write);
    if (!other.empty()) {
      scan->end = SegmentEnd::kCorrupt;
      scan->torn_write_offset.reset();
      scan->problem = problem + "; " + other;
      return;
    }
    torn_write = found->header.write_offset;
    last_found = found->offset;
    // Past a whole record, the search goes on after its payload; past a header whose
    // payload does not verify (a page of it missing), at the next byte.
    const uint64_t payload_at = found->offset + RecordHeaderBytes(stop.version);
    const uint64_t end = payload_at + found->header.payload_length;
    const bool whole = end <= bytes.size() &&
                       PayloadChecksum(bytes.At(payload_at, found->header.payload_length)) ==
                           found->header.payload_checksum;
    from = whole ? end : found->offset + 1;
  }
  if (torn_write) {
    scan->torn_write_offset = torn_write;
    problem += "; the valid records after it, through the one at byte " +
               std::to_string(last_found) + ", belong to the same write (begun at byte " +
               std::to_string(*torn_write) +
               "), which reached the disk in part and out of order: it never finished its "
               "sync, so none of it was acknowledged";
  }
  scan->problem = std::move(problem);
}

// Case 6: a bad segment header. Its version is unknown, so records after it are
// searched for in every layout this build reads.
void StopAtSegmentHeader(SegmentView& bytes, std::string problem, SegmentScan* scan) {
  scan->good_bytes = 0;
  scan->end = SegmentEnd::kTorn;
  for (uint32_t version : {kJournalVersion, kJournalVersionV1}) {
    if (std::optional<FoundHeader> found = FindValidHeader(bytes, version, 1, scan->data_bytes)) {
      scan->end = SegmentEnd::kCorrupt;
      problem += "; a valid record header follows at byte " + std::to_string(found->offset);
      break;
    }
  }
  scan->problem = std::move(problem);
}

base::Result<SegmentScan> Scan(SegmentView& bytes, uint64_t data_end, Lsn named_first_lsn,
                               const RecordVisitor& visit) {
  SegmentScan scan;
  scan.file_bytes = bytes.size();
  scan.data_bytes = data_end;
  if (named_first_lsn.value == 0) {
    scan.end = SegmentEnd::kCorrupt;
    scan.problem = "segment is named for lsn 0; lsns start at 1";
    return scan;
  }
  scan.last_lsn = Lsn{named_first_lsn.value - 1};
  if (bytes.size() < kSegmentHeaderBytes) {
    StopAtSegmentHeader(bytes, "segment header is incomplete", &scan);
    return scan;
  }
  const std::string segment_header(bytes.At(0, kSegmentHeaderBytes));
  if (IsUnknownVersionSegmentHeader(segment_header)) {
    scan.end = SegmentEnd::kUnknownVersion;
    scan.problem = "segment header names journal version " +
                   std::to_string(GetU32(segment_header.data() + 4)) +
                   "; this build reads versions " + std::to_string(kJournalVersionV1) + " and " +
                   std::to_string(kJournalVersion);
    return scan;
  }
  std::optional<SegmentHeader> segment = DecodeSegmentHeader(segment_header);
  if (!segment) {
    StopAtSegmentHeader(bytes, "segment header has a wrong magic or checksum", &scan);
    return scan;
  }
  scan.version = segment->version;
  if (segment->first_lsn != named_first_lsn) {
    scan.end = SegmentEnd::kCorrupt;
    scan.good_bytes = 0;
    scan.problem = "segment header says first lsn " + std::to_string(segment->first_lsn.value) +
                   " but the file name says " + std::to_string(named_first_lsn.value);
    return scan;
  }

  const size_t header_bytes = RecordHeaderBytes(scan.version);
  uint64_t offset = kSegmentHeaderBytes;
  Lsn expected = named_first_lsn;
  std::optional<uint64_t> write_offset;  // of the last whole record (version 2)
  auto stop_at = [&](uint64_t resync) {
    return Stop{.version = scan.version,
                .bad = offset,
                .resync = resync,
                .last_lsn = scan.last_lsn,
                .last_write_offset = write_offset};
  };
  // Zeros from a record boundary on (past data_bytes) are reserved space no
  // record reached yet.
  while (offset < scan.data_bytes) {
    uint64_t left = bytes.size() - offset;
    if (left < header_bytes) {
      StopBad(bytes, stop_at(offset + 1), "record header is incomplete", &scan);
      return scan;
    }
    std::optional<RecordHeader> header =
        DecodeRecordHeader(bytes.At(offset, header_bytes), scan.version);
    if (!header) {
      StopBad(bytes, stop_at(offset + 1),
              "record header checksum mismatch or length over the maximum", &scan);
      return scan;
    }
    if (header->payload_length > left - header_bytes) {
      // The header verified, so its length is trusted: nothing can follow this record.
      StopBad(bytes, stop_at(bytes.size()), "record payload is incomplete", &scan);
      return scan;
    }
    // The header verified, so its length can be trusted: the search for later
    // records starts after this one's payload.
    uint64_t end = offset + header_bytes + header->payload_length;
    std::string_view payload = bytes.At(offset + header_bytes, header->payload_length);
    if (PayloadChecksum(payload) != header->payload_checksum) {
      StopBad(bytes, stop_at(end), "record payload checksum mismatch", &scan);
      return scan;
    }
    if (header->lsn != expected) {
      scan.end = SegmentEnd::kCorrupt;
      scan.good_bytes = offset;
      scan.problem = "record has lsn " + std::to_string(header->lsn.value) + " where lsn " +
                     std::to_string(expected.value) + " was expected";
      return scan;
    }
    // A whole record either starts a write or continues the previous record's.
    if (header->write_offset && *header->write_offset != offset &&
        *header->write_offset != write_offset) {
      scan.end = SegmentEnd::kCorrupt;
      scan.good_bytes = offset;
      scan.problem = "record says its write began at byte " +
                     std::to_string(*header->write_offset) +
                     ", neither where it starts nor where the previous record's write began";
      return scan;
    }
    EXACTLY_RETURN_IF_ERROR(visit(header->lsn, payload));
    scan.last_lsn = header->lsn;
    write_offset = header->write_offset;
    ++scan.records;
    expected = expected.Next();
    offset = end;
  }
  scan.good_bytes = offset;
  return scan;
}

}  // namespace

base::Result<std::vector<SegmentFile>> ListSegments(FileSystem& fs, const std::string& dir) {
  base::Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<SegmentFile> segments;
  for (std::string& name : names.value()) {
    if (std::optional<Lsn> first = ParseSegmentFileName(name)) {
      segments.push_back(SegmentFile{std::move(name), *first});
    }
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_lsn < b.first_lsn; });
  return segments;
}

// The scan of the recovery table's cases over `bytes`, whose data ends at `data_end`.
base::Result<SegmentBytes> ReadSegment(FileSystem& fs, const std::string& path) {
  SegmentBytes segment;
  EXACTLY_RETURN_IF_ERROR(ReadSegmentInto(fs, path, &segment));
  return segment;
}

base::Status ReadSegmentInto(FileSystem& fs, const std::string& path, SegmentBytes* segment) {
  base::Result<std::unique_ptr<ReadableFile>> file = fs.OpenForRead(path);
  if (!file.ok()) return file.status();
  segment->data.clear();
  segment->file_bytes = (*file)->size();
  // Room for the whole file up front: growing by appends would copy every byte
  // read so far at each doubling (a second pass over a 1 GiB journal). Reserved
  // pages that no chunk reaches are never touched, so a fresh reservation costs
  // nothing but address space.
  segment->data.reserve(static_cast<size_t>(segment->file_bytes));
  std::string chunk(kReadChunkBytes, '\0');
  uint64_t offset = 0;
  while (offset < segment->file_bytes) {
    const uint64_t data = (*file)->NextData(offset);
    if (data > offset) {
      offset = data;  // a hole reads as zeros: nothing to read or keep
      continue;
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(kReadChunkBytes, segment->file_bytes - offset));
    base::Result<size_t> got = (*file)->ReadAt(offset, chunk.data(), want);
    if (!got.ok()) return got.status();
    if (*got == 0) break;  // the file ended sooner than it said
    // A chunk of zeros is kept only once something non-zero follows it.
    if (!AllZero(chunk.data(), *got)) {
      segment->data.resize(offset, '\0');
      segment->data.append(chunk.data(), *got);
    }
    offset += *got;
  }
  segment->data.resize(DataEnd(segment->data));
  return base::Status::Ok();
}

base::Result<SegmentScan> ScanSegment(const SegmentBytes& segment, Lsn named_first_lsn,
                                      const RecordVisitor& visit) {
  SegmentView view(segment.data, segment.file_bytes);
  return Scan(view, DataEnd(segment.data), named_first_lsn, visit);
}

base::Result<SegmentScan> ScanSegment(std::string_view bytes, Lsn named_first_lsn,
                                      const RecordVisitor& visit) {
  SegmentView view(bytes, bytes.size());
  return Scan(view, DataEnd(bytes), named_first_lsn, visit);
}

}  // namespace exactly::storage
