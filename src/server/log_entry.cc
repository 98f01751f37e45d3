// Encoding and decoding of replicated-mode raft entries; see log_entry.h.
#include "server/log_entry.h"

#include "base/assert.h"

namespace exactly::server {
namespace {

constexpr size_t kVersion1HeadBytes = 1 + 8 + 8;
constexpr size_t kCountOffset = 1 + 8;

void PutFixed(std::string* out, uint64_t value, int bytes) {
  char buffer[8];
  for (int i = 0; i < bytes; ++i) buffer[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out->append(buffer, static_cast<size_t>(bytes));
}

uint64_t GetFixed(const char* bytes, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i)
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  return value;
}

base::Status Bad(const std::string& why) {
  return base::Status::Corruption("not an exactly raft entry: " + why);
}

}  // namespace

LogEntryWriter::LogEntryWriter(uint64_t incarnation) {
  bytes_.push_back(static_cast<char>(kLogEntryVersion2));
  PutFixed(&bytes_, incarnation, 8);
  PutFixed(&bytes_, 0, 4);  // the count, set by Finish
}

void LogEntryWriter::Add(Lsn lsn, std::string_view record) {
  EXACTLY_ASSERT(count_ == 0 || lsn > last_);
  EXACTLY_ASSERT(record.size() <= UINT32_MAX);
  bytes_.reserve(bytes_.size() + kLogEntryRecordHeadBytes + record.size());
  PutFixed(&bytes_, lsn.value, 8);
  PutFixed(&bytes_, record.size(), 4);
  bytes_.append(record);
  ++count_;
  last_ = lsn;
}

std::string LogEntryWriter::Finish() {
  for (int i = 0; i < 4; ++i) {
    bytes_[kCountOffset + static_cast<size_t>(i)] = static_cast<char>((count_ >> (8 * i)) & 0xff);
  }
  std::string entry = std::move(bytes_);
  bytes_.clear();
  count_ = 0;
  return entry;
}

base::Status DecodeLogEntry(std::string_view entry, uint64_t* incarnation,
                            std::vector<LogEntryRecord>* records) {
  records->clear();
  if (entry.empty()) return Bad("empty");
  const auto version = static_cast<uint8_t>(entry[0]);
  if (version == kLogEntryVersion1) {
    if (entry.size() < kVersion1HeadBytes) return Bad("short version 1 head");
    *incarnation = GetFixed(entry.data() + 9, 8);
    records->push_back(LogEntryRecord{Lsn{GetFixed(entry.data() + 1, 8)}, kVersion1HeadBytes,
                                      entry.size() - kVersion1HeadBytes});
    return base::Status::Ok();
  }
  if (version != kLogEntryVersion2) return Bad("version " + std::to_string(version));
  if (entry.size() < kLogEntryHeadBytes) return Bad("short version 2 head");
  *incarnation = GetFixed(entry.data() + 1, 8);
  const uint64_t count = GetFixed(entry.data() + kCountOffset, 4);
  if (count == 0) return Bad("no record");
  size_t at = kLogEntryHeadBytes;
  for (uint64_t i = 0; i < count; ++i) {
    if (entry.size() - at < kLogEntryRecordHeadBytes) return Bad("short record head");
    const Lsn lsn{GetFixed(entry.data() + at, 8)};
    const uint64_t size = GetFixed(entry.data() + at + 8, 4);
    at += kLogEntryRecordHeadBytes;
    if (entry.size() - at < size) return Bad("record past the end");
    if (!records->empty() && lsn <= records->back().lsn) return Bad("lsns do not increase");
    records->push_back(LogEntryRecord{lsn, at, static_cast<size_t>(size)});
    at += size;
  }
  if (at != entry.size()) return Bad("bytes after the last record");
  return base::Status::Ok();
}

std::string EncodeLogEntryVersion1(Lsn lsn, uint64_t incarnation, std::string_view record) {
  std::string entry;
  entry.reserve(kVersion1HeadBytes + record.size());
  entry.push_back(static_cast<char>(kLogEntryVersion1));
  PutFixed(&entry, lsn.value, 8);
  PutFixed(&entry, incarnation, 8);
  entry.append(record);
  return entry;
}

}  // namespace exactly::server
