// The journal's on-disk layout, shared by the writer and the reader.
// docs/journal_format.md is the prose version of this file; change both together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/units.h"

namespace exactly::storage {

inline constexpr char kSegmentMagic[4] = {'E', 'X', 'J', 'L'};
// The version the writer writes. The reader also reads kJournalVersionV1 segments
// (written before records carried their write's offset), each with its own layout.
inline constexpr uint32_t kJournalVersion = 2;
inline constexpr uint32_t kJournalVersionV1 = 1;

// Segment header: magic[4] version:u32 first_lsn:u64 header_checksum:u32 reserved:u32.
inline constexpr size_t kSegmentHeaderBytes = 24;
inline constexpr size_t kSegmentHeaderChecksumOffset = 16;

// Record header, version 2: header_checksum:u32 payload_length:u32 lsn:u64
// payload_checksum:u64 write_offset:u64, then the payload. The header checksum covers
// bytes 4..32 of the header. write_offset is the segment offset of the first byte of
// the write (WritableFile::Append) that carried the record: records written together
// share it, and the first of them starts there.
inline constexpr size_t kRecordHeaderBytes = 32;
// Version 1 had no write_offset: the same fields up to byte 24, checksum over 4..24.
inline constexpr size_t kRecordHeaderBytesV1 = 24;
inline constexpr uint32_t kRecordPayloadBytesMax = 64u << 20;

// A new segment starts once the current one has reached this many bytes.
inline constexpr uint64_t kSegmentBytesDefault = 64ull << 20;

static_assert(kSegmentHeaderChecksumOffset + 8 == kSegmentHeaderBytes);
static_assert(kRecordPayloadBytesMax <= UINT32_MAX - kRecordHeaderBytes);
static_assert(kRecordHeaderBytesV1 + 8 == kRecordHeaderBytes);

// A segment header once its magic, version and checksum have verified.
struct SegmentHeader {
  uint32_t version = kJournalVersion;  // kJournalVersion or kJournalVersionV1
  Lsn first_lsn;
};

// A record header once its checksum has verified.
struct RecordHeader {
  uint32_t payload_length = 0;
  Lsn lsn;
  uint64_t payload_checksum = 0;
  // Where the record's write began (version 2); nullopt for a version 1 record.
  std::optional<uint64_t> write_offset;
};

// "journal-<20 digits>.log"
std::string SegmentFileName(Lsn first_lsn);
// The first lsn named by a segment file name; nullopt for any other name.
std::optional<Lsn> ParseSegmentFileName(std::string_view name);

// Appends the 24-byte segment header (kJournalVersion) for a segment starting at `first_lsn`.
void EncodeSegmentHeader(Lsn first_lsn, std::string* out);
// The segment header at the start of `bytes`; nullopt if the magic or checksum is
// wrong or the version is not one this build reads. `bytes` must hold at least
// kSegmentHeaderBytes.
std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view bytes);
// Whether `bytes` (at least kSegmentHeaderBytes) start with a segment header whose
// magic and checksum verify but whose version this build does not read.
bool IsUnknownVersionSegmentHeader(std::string_view bytes);

// Record header bytes in a segment of `version` (kJournalVersion or kJournalVersionV1).
size_t RecordHeaderBytes(uint32_t version);

// Appends header + payload of one kJournalVersion record whose write begins at
// segment offset `write_offset`.
void EncodeRecord(Lsn lsn, uint64_t write_offset, std::string_view payload, std::string* out);
// The header at the start of `bytes`, laid out as in a segment of `version`, if its
// checksum verifies and its length is within the maximum; nullopt otherwise.
// `bytes` must hold at least RecordHeaderBytes(version).
std::optional<RecordHeader> DecodeRecordHeader(std::string_view bytes,
                                               uint32_t version = kJournalVersion);
// One past the last non-zero byte of a segment: the writer reserves a segment's
// full size up front, so past its data a segment holds zeros. An all-zero record
// header never verifies (journal_reader_test checks it), so no record can hide
// in that space.
uint64_t DataEnd(std::string_view bytes);
// XXH3_64bits of a payload.
uint64_t PayloadChecksum(std::string_view payload);

// Low 32 bits of XXH3_64bits: the header checksum of both journal and snapshot headers.
uint32_t HeaderChecksum(std::string_view bytes);

// Fixed-width little-endian helpers shared by the journal and snapshot codecs.
void PutU32(uint32_t value, std::string* out);
void PutU64(uint64_t value, std::string* out);
uint32_t GetU32(const char* bytes);
uint64_t GetU64(const char* bytes);

// "<prefix><20 digits><suffix>" and back: names of segments and snapshots.
std::string LsnFileName(std::string_view prefix, Lsn lsn, std::string_view suffix);
std::optional<Lsn> ParseLsnFileName(std::string_view name, std::string_view prefix,
                                    std::string_view suffix);

}  // namespace exactly::storage
