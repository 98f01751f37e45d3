// Journal reading: lists segment files and scans one segment's bytes record by
// record, classifying where and why a scan stopped (the cases of
// docs/journal_format.md). Deciding what a stop means (cut or refuse) is
// recovery's job; this file only reads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"
#include "storage/file.h"

namespace exactly::storage {

struct SegmentFile {
  std::string name;  // file name within the data directory
  Lsn first_lsn;     // from the name
};

// The journal segments in `dir`, sorted by first lsn. Other files are ignored.
base::Result<std::vector<SegmentFile>> ListSegments(FileSystem& fs, const std::string& dir);

enum class SegmentEnd {
  kClean,    // the file ends at a record boundary
  kTorn,     // something not whole, and nothing verifiable after it but the rest of its write
  kCorrupt,  // a bad record with a verifiable header of another write after it, or a wrong lsn
  kUnknownVersion,  // the segment header verifies but names a version this build cannot read
};

struct SegmentScan {
  SegmentEnd end = SegmentEnd::kClean;
  uint32_t version = 0;  // from the segment header; 0 if it did not verify
  // Bytes from the start of the file through the last whole record (or the segment
  // header if there is none); where a cut keeps everything good. 0 if the segment
  // header itself is bad. When clean, only reserved zeros follow it.
  uint64_t good_bytes = 0;
  uint64_t file_bytes = 0;
  uint64_t data_bytes = 0;  // DataEnd: what a cut would really drop ends here
  Lsn last_lsn;             // of the last whole record; first lsn - 1 if there is none
  uint64_t records = 0;     // whole records read
  // kTorn only: valid records follow the damage, all of one write that also holds
  // the damage, and this is the offset where that write began (case 5a of
  // docs/journal_format.md). nullopt when nothing verifiable follows the damage.
  std::optional<uint64_t> torn_write_offset;
  std::string problem;  // what was wrong at good_bytes, when not clean
};

// A segment file as ReadSegment leaves it in memory: its first bytes, through its
// last non-zero byte, and its length. Every byte past `data` reads as zero.
struct SegmentBytes {
  std::string data;
  uint64_t file_bytes = 0;
};

// Reads the segment at `path` in pieces and keeps only its data: the reserved zeros
// past it are checked (a non-zero byte anywhere is kept, with the zeros before it)
// but not kept, and not even read where the file system reports them as a hole, as
// ext4 does for space reserved by fallocate that no write reached. So a fresh 64 MiB
// segment costs what its records do, not 64 MiB. NotFound if it does not exist.
base::Result<SegmentBytes> ReadSegment(FileSystem& fs, const std::string& path);
// The same into `segment`, reusing the memory of its `data` (whose content is
// replaced): reading segment after segment into one buffer faults its pages in
// once. On failure `segment` holds whatever was read.
base::Status ReadSegmentInto(FileSystem& fs, const std::string& path, SegmentBytes* segment);

// Called for every whole record in order; a failure stops the scan and is returned.
using RecordVisitor = std::function<base::Status(Lsn lsn, std::string_view payload)>;

// Scans the bytes of a segment whose file name says it starts at `named_first_lsn`.
// Records must carry consecutive lsns starting there. Returns an error only when
// `visit` fails; damage is described in the SegmentScan.
base::Result<SegmentScan> ScanSegment(const SegmentBytes& segment, Lsn named_first_lsn,
                                      const RecordVisitor& visit);
// The same over a whole file held in memory.
base::Result<SegmentScan> ScanSegment(std::string_view bytes, Lsn named_first_lsn,
                                      const RecordVisitor& visit);

}  // namespace exactly::storage
