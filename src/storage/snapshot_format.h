// The snapshot file layout, shared by the writer and the reader.
// docs/snapshot_format.md is the prose version of this file; change both together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/units.h"

namespace exactly::storage {

inline constexpr char kSnapshotMagic[4] = {'E', 'X', 'S', 'N'};
inline constexpr uint32_t kSnapshotVersion = 1;

// magic[4] version:u32 lsn:u64 payload_length:u64 payload_checksum:u64
// header_checksum:u32 reserved:u32, then the payload.
inline constexpr size_t kSnapshotHeaderBytes = 40;
inline constexpr size_t kSnapshotHeaderChecksumOffset = 32;

struct SnapshotHeader {
  Lsn lsn;
  uint64_t payload_length = 0;
  uint64_t payload_checksum = 0;
};

// "snapshot-<20 digits>.snap", and the temporary name it is written under first.
std::string SnapshotFileName(Lsn lsn);
std::string SnapshotTempFileName(Lsn lsn);
std::optional<Lsn> ParseSnapshotFileName(std::string_view name);
std::optional<Lsn> ParseSnapshotTempFileName(std::string_view name);

// Appends the header for a snapshot of `payload` at `lsn`.
void EncodeSnapshotHeader(Lsn lsn, std::string_view payload, std::string* out);
// The header at the start of `bytes` if magic, version and checksum verify.
// `bytes` must hold at least kSnapshotHeaderBytes.
std::optional<SnapshotHeader> DecodeSnapshotHeader(std::string_view bytes);

}  // namespace exactly::storage
