// Journal payload of one batch: the batch timestamp and the resolved commands
// that changed state, in order. storage/ frames and checksums it; this is the
// meaning inside the frame.
//
// Format (version 1), all integers varints (signed ones zigzag, see byte_codec.h):
//   u8 version | i64 timestamp_ms | command*          (until the payload ends)
//   command = u8 kind | u64 present | the present fields, in bit order:
//     0 key, 1 owner, 2 id, 3 from, 4 to (bytes) | 5 amount (i64)
//     6 min, 7 max (u8 infinite, i64 value) | 8 time (u8 kind, i64 ttl, i64 until,
//     u8 period, i64 at, i64 tz) | 9 persist (no value) | 10 note (bytes)
//     11 count (i64) | 12 expires, 13 window, 14 remember_until (i64)
//     15 group (u64 n, then n commands; a group never contains a group)
//     16 lease_ms, 17 wait_ms, 18 ttl_ms (i64) | 19 token, 20 waiter (u64)
//   Bits 16..20 (locks, IDEM, parked commands) were added without a version bump:
//   a record written before them never sets them, so it decodes as before.
//   Never logged: FENCE and LIMIT (read-only / volatile), IFLOCK (a command that
//   was applied had passed its check, so replay applies it without one).
//   Each kind's struct (core/command.h) names, in its field list, the bit of each
//   of its fields; bits 12..15 are the Command's own. The writer and the reader walk
//   that list, so the bytes are those of the one untyped struct this replaced
//   (tests/core/record_golden_test.cc). A field is present when it differs from its
//   kind's default. A bit the kind has no field for (records of earlier builds could
//   carry any field with any kind) is read by its encoding above and dropped.
//   Decoded commands have `resolved` set: replay applies them without reading the
//   clock or config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/command.h"

namespace exactly::core {

inline constexpr uint8_t kRecordVersion = 1;

// Appends to `out`; Begin once, then one Add per state-changing command.
class RecordWriter {
 public:
  explicit RecordWriter(std::string* out) : out_(out) {}
  void Begin(int64_t timestamp_ms);
  void Add(const Command& command);
  // A group, keeping only the sub-commands whose `keep` entry is non-zero.
  void AddGroup(const Command& group, std::span<const uint8_t> keep);

 private:
  std::string* out_;
};

struct DecodedRecord {
  int64_t timestamp_ms = 0;
  std::vector<Command> commands;
};

// Corruption if `payload` is not a well-formed record of a known version.
base::Result<DecodedRecord> DecodeRecord(std::string_view payload);
// The same into `record`, whose commands' memory (the vector, each string's
// buffer) is reused: replay decodes every journal record into one DecodedRecord.
// On Corruption `record` holds whatever was decoded.
base::Status DecodeRecordInto(std::string_view payload, DecodedRecord* record);

// An upper bound on the bytes `command` (a group with all its sub-commands) can add
// to a batch record, known before it is applied (from its kind's field list): the
// server uses it to cut a turn into batches whose records stay under the journal's
// maximum.
size_t RecordBytesBound(const Command& command);
// The bytes a record takes before its first command (version and timestamp).
inline constexpr size_t kRecordHeadBytesMax = 1 + 10;

// The whole payload for `commands` (all kept), for tests and tools.
std::string EncodeRecord(int64_t timestamp_ms, std::span<const Command> commands);

}  // namespace exactly::core
