// ReplicaCheck: `exactly check` on a replicated node's data dir, offline and read-only.
//
// A replica keeps no journal: its raft log (C-Raft's files, in <dir>/raft) holds the
// engine snapshot and one engine batch per command entry (replicated_log.h). The
// check reads and verifies that log (replica/raft_dir_reader.h), loads the snapshot
// into an engine and replays every command entry after it, as a restarting node
// would, and reports the state digest INFO digest prints (state_digest.h), so the
// dirs of a group's replicas can be compared with each other and with a live node
// without starting anything.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/units.h"
#include "core/engine.h"
#include "replica/raft_dir_reader.h"

namespace exactly::server {

struct ReplicaCheckReport {
  replica::RaftDirReport raft;
  Lsn snapshot_lsn;               // the engine's LSN in the snapshot (0: none)
  uint64_t batches_replayed = 0;  // command entries after the snapshot
  Lsn applied_lsn;                // the engine's LSN after the last one
  uint64_t state_digest = 0;      // StateDigest of the engine after the last one
  core::EngineStats stats;
};

// Verifies the raft log in `raft_dir` and replays it into an engine. Corruption,
// naming the file and byte offset, when a file is damaged, the snapshot does not
// decode as an engine state, or an entry is not an exactly batch the engine
// accepts; IoError / NotFound as the reader returns them.
base::Result<ReplicaCheckReport> VerifyReplica(const std::string& raft_dir);

// Where `dir`'s raft log is: `dir`/raft, or `dir` itself when it holds the raft files;
// empty when it holds neither.
std::string FindRaftDir(const std::string& dir);

// `exactly check` on a replica: runs VerifyReplica on FindRaftDir(dir) and prints
// its report on stdout. Exit codes as the single-node check: 0 ok (notes and a torn
// tail included), 1 damaged, 2 no raft log in `dir`.
int CheckReplica(const std::string& dir);

// `exactly check --dir D [--layout L]`: L is "journal" (the single-node check),
// "replica" (CheckReplica) or "auto" (replica when D holds a raft log, journal
// otherwise).
int CheckDataDir(const std::string& dir, const std::string& layout);

}  // namespace exactly::server
