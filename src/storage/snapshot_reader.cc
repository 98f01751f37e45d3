// Reads snapshot files and refuses any whose checksums do not verify.
#include "storage/snapshot_reader.h"

#include <algorithm>
#include <optional>

#include "storage/journal_format.h"
#include "storage/snapshot_format.h"

namespace exactly::storage {

base::Result<std::vector<Lsn>> ListSnapshots(FileSystem& fs, const std::string& dir) {
  base::Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<Lsn> lsns;
  for (const std::string& name : names.value()) {
    if (std::optional<Lsn> lsn = ParseSnapshotFileName(name)) lsns.push_back(*lsn);
  }
  std::sort(lsns.begin(), lsns.end(), [](Lsn a, Lsn b) { return a > b; });
  return lsns;
}

base::Result<Snapshot> ReadSnapshot(FileSystem& fs, const std::string& dir, Lsn lsn) {
  std::string name = SnapshotFileName(lsn);
  base::Result<std::string> bytes = fs.ReadFile(dir + "/" + name);
  if (!bytes.ok()) return bytes.status();
  auto corrupt = [&](const std::string& why) {
    return base::Status::Corruption("snapshot " + name + ": " + why);
  };
  if (bytes->size() < kSnapshotHeaderBytes) return corrupt("shorter than its header");
  std::optional<SnapshotHeader> header = DecodeSnapshotHeader(*bytes);
  if (!header) return corrupt("header has a wrong magic, version or checksum");
  if (header->lsn != lsn) {
    return corrupt("header says lsn " + std::to_string(header->lsn.value));
  }
  if (header->payload_length != bytes->size() - kSnapshotHeaderBytes) {
    return corrupt("header says " + std::to_string(header->payload_length) +
                   " payload bytes, the file holds " +
                   std::to_string(bytes->size() - kSnapshotHeaderBytes));
  }
  std::string_view payload = std::string_view(*bytes).substr(kSnapshotHeaderBytes);
  if (PayloadChecksum(payload) != header->payload_checksum) {
    return corrupt("payload checksum mismatch");
  }
  Snapshot snapshot;
  snapshot.lsn = lsn;
  // Drop the header in place rather than copying a possibly large payload.
  snapshot.state = std::move(bytes.value());
  snapshot.state.erase(0, kSnapshotHeaderBytes);
  return snapshot;
}

}  // namespace exactly::storage
