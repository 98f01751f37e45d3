// RepairInterruptedInstall: before C-Raft opens a voter's log directory, sets aside
// the log segments an interrupted snapshot install left behind.
//
// C-Raft 0.22.1 installs a snapshot from the leader in this order (src/uv_snapshot.c,
// UvSnapshotPut with trailing 0): a blocking barrier closes the open segment (it
// becomes a closed segment, entries ..E), the snapshot's .meta and data files are
// linked into the directory at index S > E and the directory synced, and only then
// are the closed segments, now all behind the snapshot, removed. A node killed
// between the last two steps holds snapshot S, closed segments ending at E < S, and
// the two empty open segments C-Raft keeps ready. Its loader keeps closed segments
// behind the snapshot whenever an open segment exists (src/uv.c, uvFilterSegments:
// they might continue there), finds nothing after E, and with auto-recovery off
// refuses: "last entry on disk has index E, which is behind last snapshot's index S".
// Nothing is lost (every entry up to S is in the snapshot), so this finishes what
// the install began: the stale closed segments are moved, not deleted, into a
// directory C-Raft ignores. See docs/replication.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace exactly::replica {

// The subdirectory of the raft dir that set-aside segments go to, one per snapshot:
// "set-aside-behind-snapshot-<term>-<index>".
inline constexpr const char* kSetAsidePrefix = "set-aside-behind-snapshot-";

struct DirRepair {
  // Closed segments moved aside by this call (0: the directory was left as it was).
  std::size_t segments_set_aside = 0;
  std::uint64_t snapshot_index = 0;
  // One line each for the server's log: what was done and why, or why a directory
  // in the failing shape was left alone.
  std::vector<std::string> notes;
};

// Looks at `dir` as C-Raft's loader will and acts only when the loader would refuse
// as above: the snapshot it loads (the newest, whose .meta must pass C-Raft's own
// checks, else nothing is touched) is past every closed segment, and every open
// segment is empty (holds no entry). Then every closed segment is renamed into the
// set-aside directory, oldest first, and both directories are synced. Each rename is
// atomic and any prefix of them leaves the same shape, so a crash midway is finished
// by the next start. IoError if the directory cannot be read or a rename fails.
base::Result<DirRepair> RepairInterruptedInstall(const std::string& dir);

}  // namespace exactly::replica
