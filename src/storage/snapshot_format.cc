// Encoding and decoding of snapshot headers and names.
#include "storage/snapshot_format.h"

#include <cstring>

#include "base/assert.h"
#include "storage/journal_format.h"

namespace exactly::storage {

std::string SnapshotFileName(Lsn lsn) { return LsnFileName("snapshot-", lsn, ".snap"); }
std::string SnapshotTempFileName(Lsn lsn) { return LsnFileName("snapshot-", lsn, ".tmp"); }

std::optional<Lsn> ParseSnapshotFileName(std::string_view name) {
  return ParseLsnFileName(name, "snapshot-", ".snap");
}

std::optional<Lsn> ParseSnapshotTempFileName(std::string_view name) {
  return ParseLsnFileName(name, "snapshot-", ".tmp");
}

void EncodeSnapshotHeader(Lsn lsn, std::string_view payload, std::string* out) {
  size_t start = out->size();
  out->append(kSnapshotMagic, 4);
  PutU32(kSnapshotVersion, out);
  PutU64(lsn.value, out);
  PutU64(payload.size(), out);
  PutU64(PayloadChecksum(payload), out);
  PutU32(HeaderChecksum(std::string_view(*out).substr(start, kSnapshotHeaderChecksumOffset)), out);
  PutU32(0, out);
  EXACTLY_ASSERT(out->size() - start == kSnapshotHeaderBytes);
}

std::optional<SnapshotHeader> DecodeSnapshotHeader(std::string_view bytes) {
  EXACTLY_ASSERT(bytes.size() >= kSnapshotHeaderBytes);
  if (std::memcmp(bytes.data(), kSnapshotMagic, 4) != 0) return std::nullopt;
  if (GetU32(bytes.data() + 4) != kSnapshotVersion) return std::nullopt;
  uint32_t stored = GetU32(bytes.data() + kSnapshotHeaderChecksumOffset);
  if (stored != HeaderChecksum(bytes.substr(0, kSnapshotHeaderChecksumOffset))) {
    return std::nullopt;
  }
  SnapshotHeader header;
  header.lsn = Lsn{GetU64(bytes.data() + 8)};
  header.payload_length = GetU64(bytes.data() + 16);
  header.payload_checksum = GetU64(bytes.data() + 24);
  return header;
}

}  // namespace exactly::storage
