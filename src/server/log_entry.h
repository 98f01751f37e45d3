// The bytes of one raft entry in replicated mode: the batch records it carries.
//
// Version 1 (one record, written by builds before entry batching; still read):
//   u8 1 | u64 lsn | u64 proposer incarnation | the batch record
// Version 2 (one or more records, in increasing LSN order):
//   u8 2 | u64 proposer incarnation | u32 count | count x (u64 lsn | u32 bytes | record)
// Integers are little endian. The incarnation is random per process start and tells
// a node which entries it proposed itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/units.h"

namespace exactly::server {

inline constexpr uint8_t kLogEntryVersion1 = 1;
inline constexpr uint8_t kLogEntryVersion2 = 2;
// A version 2 entry's head and the head of each record in it.
inline constexpr size_t kLogEntryHeadBytes = 1 + 8 + 4;
inline constexpr size_t kLogEntryRecordHeadBytes = 8 + 4;

// One record of an entry: `offset`, `size` locate it in the entry's bytes.
struct LogEntryRecord {
  Lsn lsn;
  size_t offset = 0;
  size_t size = 0;
};

// Builds a version 2 entry, one record at a time.
class LogEntryWriter {
 public:
  explicit LogEntryWriter(uint64_t incarnation);
  // Appends batch `lsn`'s record; LSNs must increase.
  void Add(Lsn lsn, std::string_view record);
  uint32_t count() const { return count_; }
  size_t size() const { return bytes_.size(); }
  // The entry; the writer is empty afterwards.
  std::string Finish();

 private:
  std::string bytes_;
  uint32_t count_ = 0;
  Lsn last_;
};

// Parses a version 1 or 2 entry into its records (cleared first) and proposer.
// Corruption when the bytes are neither, or the LSNs do not increase.
base::Status DecodeLogEntry(std::string_view entry, uint64_t* incarnation,
                            std::vector<LogEntryRecord>* records);

// A version 1 entry, as builds before entry batching wrote them (tests, upgrades).
std::string EncodeLogEntryVersion1(Lsn lsn, uint64_t incarnation, std::string_view record);

}  // namespace exactly::server
