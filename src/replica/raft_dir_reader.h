// RaftDirReader: reads a replica's raft log directory offline, read-only, as C-Raft
// 0.22.1's libuv backend wrote it, and verifies every byte it can.
//
// The layout (C-Raft v0.22.1 src/uv_metadata.c, uv_segment.c, uv_snapshot.c,
// uv_encoding.c; every integer little endian, disk format 1):
//   metadata1, metadata2   32 bytes each: u64 format | u64 version | u64 term |
//                          u64 voted_for. Each write raises the version by one and
//                          goes to metadata1 when it is odd, metadata2 when even; the
//                          higher version is current. No checksum.
//   <first>-<end>          a closed segment (both 16-digit, inclusive): u64 format,
//                          then batches up to the file's last byte.
//   open-<counter>         an open segment: the same, then zeros (preallocated); its
//                          first index follows the segment before it.
//   batch                  u32 header crc | u32 data crc | u64 n | n x (u64 term |
//                          u8 type | 3 unused | u32 length) | the n entries' data.
//                          The header crc covers the 8 + 16n bytes from n on, the data
//                          crc the data; both CRC-32 (polynomial 0x04C11DB7, MSB first,
//                          initial value 0, no final xor).
//   snapshot-<term>-<index>-<ms>.meta   u64 format | u64 crc | u64 configuration
//                          index | u64 configuration length | the configuration;
//                          the crc covers the last two header words and the
//                          configuration.
//   snapshot-<term>-<index>-<ms>        the state machine's bytes; no checksum.
//   configuration          u8 format (1) | u64 n | n x (u64 id | address, NUL
//                          terminated | u8 role), zero padded to 8 bytes.
//
// Which files count is decided as the library decides at start-up (uv.c
// uvLoadSnapshotAndEntries, uvFilterSegments; uv_segment.c uvSegmentLoadAll): the
// newest snapshot whose meta verifies (older ones are fallen back to, with a note),
// the newest contiguous run of closed segments reaching back to the snapshot, then
// the open segments in counter order. Damage the library would refuse to start on is
// Corruption naming the file and byte offset; a torn last write of the last open
// segment, which the library drops at start-up, is a note (torn_bytes) as it is for
// the single-node journal. Damage the library would silently drop is Corruption:
// exactly refuses to lose acknowledged entries. Checks the library does not make
// are added where the raft invariants allow: metadata versions alternate files,
// terms never decrease along the log, no entry or snapshot has a term above the
// metadata's, the entry at the snapshot's index has the snapshot's term.
//
// What it cannot see: the commit index is not on disk (entries at the end may be
// uncommitted), a lost newest segment looks like a shorter log, and a snapshot's
// data has no checksum (the caller decodes it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace exactly::replica {

// C-Raft's entry types (raft.h: RAFT_COMMAND, RAFT_BARRIER, RAFT_CHANGE).
enum class RaftEntryType : uint8_t { kCommand = 1, kBarrier = 2, kChange = 3 };

struct RaftServerEntry {
  uint64_t id = 0;
  std::string address;
  uint8_t role = 0;  // raft.h: 0 standby, 1 voter, 2 spare
};

struct RaftConfiguration {
  uint64_t index = 0;  // log index of the entry that set it
  std::vector<RaftServerEntry> servers;
};

struct RaftMetadata {
  uint64_t term = 0;
  uint64_t voted_for = 0;
  uint64_t version1 = 0;  // metadata1's version; 0: absent (or torn, see notes)
  uint64_t version2 = 0;
};

struct RaftSnapshotFile {
  std::string name;  // the data file; its meta is name + ".meta"
  uint64_t term = 0;
  uint64_t index = 0;
  uint64_t timestamp_ms = 0;
  RaftConfiguration configuration;
  uint64_t data_bytes = 0;
};

struct RaftSegmentFile {
  std::string name;
  bool open = false;
  uint64_t first_index = 0;  // of its entries; 0 when it holds none
  uint64_t last_index = 0;
  uint64_t entries = 0;
  uint64_t file_bytes = 0;
};

// Where an entry's data lies, for error messages.
struct RaftEntryPlace {
  const std::string* file = nullptr;  // segment name
  uint64_t offset = 0;                // of the entry's data in it
};

struct RaftDirReport {
  bool pristine = false;  // neither metadata file: a node that never started
  RaftMetadata metadata;
  std::optional<RaftSnapshotFile> snapshot;  // the one the library would load
  std::vector<RaftSegmentFile> segments;     // the ones it would load, in order
  uint64_t first_index = 0;                  // first entry on disk (0: none)
  uint64_t last_index = 0;  // last entry on disk, or the snapshot's index when none follow
  uint64_t last_term = 0;   // of last_index
  uint64_t commands = 0;    // entries by type
  uint64_t barriers = 0;
  uint64_t changes = 0;
  // The newest configuration, from the log or else from the snapshot.
  std::optional<RaftConfiguration> configuration;
  uint64_t torn_bytes = 0;  // the library drops these at start-up (a torn last write)
  std::string torn_file;
  std::vector<std::string> notes;  // human-readable, for `exactly check`
};

class RaftDirVisitor {
 public:
  virtual ~RaftDirVisitor() = default;
  // The snapshot's data, once, before any entry. An error stops the read.
  virtual base::Status OnSnapshot(const RaftSnapshotFile& snapshot, std::string_view data) = 0;
  // Every entry on disk in index order, those the snapshot covers included (the
  // snapshot, if any, has been visited). `data` is valid during the call only.
  virtual base::Status OnEntry(uint64_t index, uint64_t term, RaftEntryType type,
                               std::string_view data, const RaftEntryPlace& place) = 0;
};

// Whether `dir` holds files only a C-Raft libuv log has (metadata1 or metadata2).
bool LooksLikeRaftDir(const std::string& dir);

// Reads and verifies the raft log in `dir` without changing anything, calling
// `visitor` as it goes (see RaftDirVisitor). Corruption for damage (file and byte
// offset in the message), IoError for a file that cannot be read, NotFound if `dir`
// does not exist; errors from the visitor are returned as they are.
base::Result<RaftDirReport> ReadRaftDir(const std::string& dir, RaftDirVisitor* visitor);

// CRC-32 as C-Raft's segments and snapshot metas use it (see the layout above),
// continuing from `crc`. Exposed for the tests that forge damaged files.
uint32_t RaftCrc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace exactly::replica
