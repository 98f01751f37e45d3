// Encoding and decoding of journal segment and record headers.
#include "storage/journal_format.h"

#include <xxhash.h>

#include <bit>
#include <cstring>

#include "base/assert.h"

namespace exactly::storage {

static_assert(std::endian::native == std::endian::little,
              "the codecs copy integers as-is; a big-endian port must byte-swap");

uint32_t HeaderChecksum(std::string_view bytes) {
  return static_cast<uint32_t>(XXH3_64bits(bytes.data(), bytes.size()));
}

uint64_t DataEnd(std::string_view bytes) {
  // A word at a time: a fresh segment is megabytes of zeros.
  size_t end = bytes.size();
  while (end >= sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + end - sizeof(word), sizeof(word));
    if (word != 0) break;
    end -= sizeof(word);
  }
  while (end > 0 && bytes[end - 1] == '\0') --end;
  return end;
}

uint64_t PayloadChecksum(std::string_view payload) {
  return XXH3_64bits(payload.data(), payload.size());
}

void PutU32(uint32_t value, std::string* out) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out->append(bytes, 4);
}

void PutU64(uint64_t value, std::string* out) {
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out->append(bytes, 8);
}

uint32_t GetU32(const char* bytes) {
  uint32_t value = 0;
  std::memcpy(&value, bytes, 4);
  return value;
}

uint64_t GetU64(const char* bytes) {
  uint64_t value = 0;
  std::memcpy(&value, bytes, 8);
  return value;
}

std::string LsnFileName(std::string_view prefix, Lsn lsn, std::string_view suffix) {
  std::string digits = std::to_string(lsn.value);
  std::string name(prefix);
  name.append(20 - digits.size(), '0');
  name += digits;
  name += suffix;
  return name;
}

std::optional<Lsn> ParseLsnFileName(std::string_view name, std::string_view prefix,
                                    std::string_view suffix) {
  if (name.size() != prefix.size() + 20 + suffix.size()) return std::nullopt;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  std::string_view digits = name.substr(prefix.size(), 20);
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return Lsn{value};
}

std::string SegmentFileName(Lsn first_lsn) { return LsnFileName("journal-", first_lsn, ".log"); }

std::optional<Lsn> ParseSegmentFileName(std::string_view name) {
  return ParseLsnFileName(name, "journal-", ".log");
}

void EncodeSegmentHeader(Lsn first_lsn, std::string* out) {
  size_t start = out->size();
  out->append(kSegmentMagic, 4);
  PutU32(kJournalVersion, out);
  PutU64(first_lsn.value, out);
  PutU32(HeaderChecksum(std::string_view(*out).substr(start, kSegmentHeaderChecksumOffset)), out);
  PutU32(0, out);
  EXACTLY_ASSERT(out->size() - start == kSegmentHeaderBytes);
}

namespace {

// Magic and checksum verify; the version is whatever the header says.
std::optional<SegmentHeader> DecodeAnySegmentHeader(std::string_view bytes) {
  EXACTLY_ASSERT(bytes.size() >= kSegmentHeaderBytes);
  if (std::memcmp(bytes.data(), kSegmentMagic, 4) != 0) return std::nullopt;
  uint32_t stored = GetU32(bytes.data() + kSegmentHeaderChecksumOffset);
  if (stored != HeaderChecksum(bytes.substr(0, kSegmentHeaderChecksumOffset))) return std::nullopt;
  return SegmentHeader{.version = GetU32(bytes.data() + 4),
                       .first_lsn = Lsn{GetU64(bytes.data() + 8)}};
}

bool IsReadableVersion(uint32_t version) {
  return version == kJournalVersion || version == kJournalVersionV1;
}

}  // namespace

std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view bytes) {
  std::optional<SegmentHeader> header = DecodeAnySegmentHeader(bytes);
  if (!header || !IsReadableVersion(header->version)) return std::nullopt;
  return header;
}

bool IsUnknownVersionSegmentHeader(std::string_view bytes) {
  std::optional<SegmentHeader> header = DecodeAnySegmentHeader(bytes);
  return header && !IsReadableVersion(header->version);
}

size_t RecordHeaderBytes(uint32_t version) {
  EXACTLY_ASSERT(IsReadableVersion(version));
  return version == kJournalVersionV1 ? kRecordHeaderBytesV1 : kRecordHeaderBytes;
}

void EncodeRecord(Lsn lsn, uint64_t write_offset, std::string_view payload, std::string* out) {
  EXACTLY_ASSERT(payload.size() <= kRecordPayloadBytesMax);
  size_t start = out->size();
  PutU32(0, out);  // header checksum, filled in below
  PutU32(static_cast<uint32_t>(payload.size()), out);
  PutU64(lsn.value, out);
  PutU64(PayloadChecksum(payload), out);
  PutU64(write_offset, out);
  EXACTLY_ASSERT(out->size() - start == kRecordHeaderBytes);
  uint32_t checksum =
      HeaderChecksum(std::string_view(*out).substr(start + 4, kRecordHeaderBytes - 4));
  std::memcpy(out->data() + start, &checksum, 4);
  out->append(payload);
}

std::optional<RecordHeader> DecodeRecordHeader(std::string_view bytes, uint32_t version) {
  const size_t header_bytes = RecordHeaderBytes(version);
  EXACTLY_ASSERT(bytes.size() >= header_bytes);
  uint32_t stored = GetU32(bytes.data());
  if (stored != HeaderChecksum(bytes.substr(4, header_bytes - 4))) return std::nullopt;
  RecordHeader header;
  header.payload_length = GetU32(bytes.data() + 4);
  if (header.payload_length > kRecordPayloadBytesMax) return std::nullopt;
  header.lsn = Lsn{GetU64(bytes.data() + 8)};
  header.payload_checksum = GetU64(bytes.data() + 16);
  if (version != kJournalVersionV1) header.write_offset = GetU64(bytes.data() + 24);
  return header;
}

}  // namespace exactly::storage
