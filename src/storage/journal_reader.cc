// Reads segment files and classifies every way a scan can stop.
#include "storage/journal_reader.h"

#include <algorithm>
#include <utility>

#include "storage/journal_format.h"

namespace exactly::storage {
namespace {

// Case 4 vs 5 of the recovery table: is there a verifiable record header at any
// offset from `from` on? Tries every byte offset so that a damaged length cannot
// hide good records behind it. A header starting at or past `data_end` (DataEnd)
// is all zeros and cannot verify, so reserved space is not searched.
std::optional<uint64_t> FindValidHeader(std::string_view bytes, uint64_t from, uint64_t data_end) {
  for (uint64_t offset = from; offset < data_end && offset + kRecordHeaderBytes <= bytes.size();
       ++offset) {
    if (DecodeRecordHeader(bytes.substr(offset, kRecordHeaderBytes))) return offset;
  }
  return std::nullopt;
}

void StopBad(std::string_view bytes, uint64_t offset, uint64_t resync_from, std::string problem,
             SegmentScan* scan) {
  scan->good_bytes = offset;
  std::optional<uint64_t> later = FindValidHeader(bytes, resync_from, scan->data_bytes);
  if (later) {
    scan->end = SegmentEnd::kCorrupt;
    problem += "; a valid record header follows at byte " + std::to_string(*later);
  } else {
    scan->end = SegmentEnd::kTorn;
  }
  scan->problem = std::move(problem);
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

base::Result<SegmentScan> ScanSegment(std::string_view bytes, Lsn named_first_lsn,
                                      const RecordVisitor& visit) {
  SegmentScan scan;
  scan.file_bytes = bytes.size();
  scan.data_bytes = DataEnd(bytes);
  if (named_first_lsn.value == 0) {
    scan.end = SegmentEnd::kCorrupt;
    scan.problem = "segment is named for lsn 0; lsns start at 1";
    return scan;
  }
  scan.last_lsn = Lsn{named_first_lsn.value - 1};
  if (bytes.size() < kSegmentHeaderBytes) {
    StopBad(bytes, 0, 1, "segment header is incomplete", &scan);
    return scan;
  }
  std::optional<Lsn> first = DecodeSegmentHeader(bytes.substr(0, kSegmentHeaderBytes));
  if (!first) {
    StopBad(bytes, 0, 1, "segment header has a wrong magic, version or checksum", &scan);
    return scan;
  }
  if (*first != named_first_lsn) {
    scan.end = SegmentEnd::kCorrupt;
    scan.good_bytes = 0;
    scan.problem = "segment header says first lsn " + std::to_string(first->value) +
                   " but the file name says " + std::to_string(named_first_lsn.value);
    return scan;
  }

  uint64_t offset = kSegmentHeaderBytes;
  Lsn expected = named_first_lsn;
  // Zeros from a record boundary on (past data_bytes) are reserved space no
  // record reached yet.
  while (offset < scan.data_bytes) {
    uint64_t left = bytes.size() - offset;
    if (left < kRecordHeaderBytes) {
      StopBad(bytes, offset, offset + 1, "record header is incomplete", &scan);
      return scan;
    }
    std::optional<RecordHeader> header =
        DecodeRecordHeader(bytes.substr(offset, kRecordHeaderBytes));
    if (!header) {
      StopBad(bytes, offset, offset + 1,
              "record header checksum mismatch or length over the maximum", &scan);
      return scan;
    }
    if (header->payload_length > left - kRecordHeaderBytes) {
      // The header verified, so its length is trusted: nothing can follow this record.
      StopBad(bytes, offset, bytes.size(), "record payload is incomplete", &scan);
      return scan;
    }
    // The header verified, so its length can be trusted: the search for later
    // records starts after this one's payload.
    uint64_t end = offset + kRecordHeaderBytes + header->payload_length;
    std::string_view payload = bytes.substr(offset + kRecordHeaderBytes, header->payload_length);
    if (PayloadChecksum(payload) != header->payload_checksum) {
      StopBad(bytes, offset, end, "record payload checksum mismatch", &scan);
      return scan;
    }
    if (header->lsn != expected) {
      scan.end = SegmentEnd::kCorrupt;
      scan.good_bytes = offset;
      scan.problem = "record has lsn " + std::to_string(header->lsn.value) + " where lsn " +
                     std::to_string(expected.value) + " was expected";
      return scan;
    }
    EXACTLY_RETURN_IF_ERROR(visit(header->lsn, payload));
    scan.last_lsn = header->lsn;
    ++scan.records;
    expected = expected.Next();
    offset = end;
  }
  scan.good_bytes = offset;
  return scan;
}

}  // namespace exactly::storage
