// The offline check of a replica's raft log; see replica_check.h.
#include "server/replica_check.h"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "replica/raft_glue.h"
#include "server/log_entry.h"
#include "server/serve.h"
#include "server/state_digest.h"
#include "storage/journal_format.h"

namespace exactly::server {
namespace {

// The payload inside the glue's frame of a command entry (log_entry.h holds the
// exactly entry inside it), or what is wrong with the frame.
base::Result<std::string_view> EntryPayload(std::string_view data) {
  const void* payload = nullptr;
  size_t length = 0;
  if (exactly_raft_frame_decode(data.data(), data.size(), &payload, &length) != 0) {
    return base::Status::Corruption("not an entry frame (u64 length, payload, zero padding)");
  }
  return std::string_view(static_cast<const char*>(payload), length);
}

class Replayer final : public replica::RaftDirVisitor {
 public:
  explicit Replayer(const std::string& dir) : dir_(dir) {}

  base::Status OnSnapshot(const replica::RaftSnapshotFile& snapshot,
                          std::string_view data) override {
    snapshot_index_ = snapshot.index;
    snapshot_name_ = snapshot.name;
    if (base::Status loaded = engine_.LoadState(data); !loaded.ok()) {
      return base::Status::Corruption(
          dir_ + "/" + snapshot.name +
          " does not decode as an engine snapshot: " + loaded.message());
    }
    snapshot_lsn_ = engine_.applied_lsn();
    return base::Status::Ok();
  }

  base::Status OnEntry(uint64_t index, uint64_t term, replica::RaftEntryType type,
                       std::string_view data, const replica::RaftEntryPlace& place) override {
    if (type != replica::RaftEntryType::kCommand) return base::Status::Ok();
    auto where = [&] {
      return dir_ + "/" + *place.file + " at byte " + std::to_string(place.offset) + " (entry " +
             std::to_string(index) + ", term " + std::to_string(term) + ")";
    };
    auto payload = EntryPayload(data);
    if (!payload.ok()) return base::Status::Corruption(where() + ": " + payload.status().message());
    uint64_t incarnation = 0;
    if (base::Status decoded = DecodeLogEntry(*payload, &incarnation, &records_); !decoded.ok()) {
      return base::Status::Corruption(where() + ": " + decoded.message());
    }
    if (index > snapshot_index_ && !checked_snapshot_) EXACTLY_RETURN_IF_ERROR(CheckSnapshotLsn());
    for (const LogEntryRecord& record : records_) {
      // The leader numbers batches one after another along the log (a refused or
      // abandoned proposal hands its LSN to the next batch), so a jump is a lost entry.
      const bool after_snapshot = index > snapshot_index_ && !last_lsn_;
      const std::optional<Lsn> previous =
          after_snapshot ? std::optional<Lsn>(snapshot_lsn_) : last_lsn_;
      if (previous && record.lsn != previous->Next()) {
        return base::Status::Corruption(
            where() + ": batch lsn " + std::to_string(record.lsn.value) + " after lsn " +
            std::to_string(previous->value) + (after_snapshot ? " (the snapshot's)" : "") +
            "; batches are numbered one after another along the log, so entries are missing");
      }
      last_lsn_ = record.lsn;
      if (index <= snapshot_index_) {
        // Behind the snapshot: kept for lagging followers, already in the snapshot's state.
        last_lsn_behind_snapshot_ = record.lsn;
        continue;
      }
      const std::string_view bytes = payload->substr(record.offset, record.size);
      if (base::Status replayed = engine_.Replay(record.lsn, bytes); !replayed.ok()) {
        return base::Status::Corruption(where() + ": batch " + std::to_string(record.lsn.value) +
                                        " does not replay: " + replayed.message());
      }
      ++batches_;
    }
    return base::Status::Ok();
  }

  // The snapshot holds the state after every entry up to its index, so its LSN is
  // the last batch at or before that index, when the log still has it.
  base::Status CheckSnapshotLsn() {
    checked_snapshot_ = true;
    if (!last_lsn_behind_snapshot_ || *last_lsn_behind_snapshot_ == snapshot_lsn_) {
      return base::Status::Ok();
    }
    return base::Status::Corruption(dir_ + "/" + snapshot_name_ + " holds the state at lsn " +
                                    std::to_string(snapshot_lsn_.value) +
                                    " but the log's last batch at or before its index " +
                                    std::to_string(snapshot_index_) + " is lsn " +
                                    std::to_string(last_lsn_behind_snapshot_->value));
  }

  core::Engine& engine() { return engine_; }
  Lsn snapshot_lsn() const { return snapshot_lsn_; }
  uint64_t batches() const { return batches_; }

 private:
  const std::string dir_;
  core::Engine engine_;
  uint64_t snapshot_index_ = 0;
  std::string snapshot_name_;
  Lsn snapshot_lsn_;
  std::optional<Lsn> last_lsn_behind_snapshot_;
  std::optional<Lsn> last_lsn_;          // of the last batch record read
  std::vector<LogEntryRecord> records_;  // the entry being read
  bool checked_snapshot_ = false;
  uint64_t batches_ = 0;
};

// Whether `dir` holds a single-node journal segment.
bool HasJournal(const std::string& dir) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (storage::ParseSegmentFileName(entry.path().filename().string()).has_value()) return true;
  }
  return false;
}

bool IsDirectory(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_directory(path, error);
}

const char* RoleName(uint8_t role) {
  switch (role) {
    case 0:
      return "standby";
    case 1:
      return "voter";
    case 2:
      return "spare";
    default:
      return "?";
  }
}

void PrintReport(const std::string& raft_dir, const ReplicaCheckReport& report) {
  const replica::RaftDirReport& raft = report.raft;
  using ull = unsigned long long;
  std::printf("replica raft log %s\n", raft_dir.c_str());
  std::printf(
      "metadata: term %llu, voted for %llu (metadata1 version %llu, metadata2 version %llu)\n",
      static_cast<ull>(raft.metadata.term), static_cast<ull>(raft.metadata.voted_for),
      static_cast<ull>(raft.metadata.version1), static_cast<ull>(raft.metadata.version2));
  if (raft.snapshot) {
    const replica::RaftSnapshotFile& s = *raft.snapshot;
    std::printf("snapshot: %s, index %llu, term %llu, %llu bytes, engine state at lsn %llu\n",
                s.name.c_str(), static_cast<ull>(s.index), static_cast<ull>(s.term),
                static_cast<ull>(s.data_bytes), static_cast<ull>(report.snapshot_lsn.value));
  }
  for (const replica::RaftSegmentFile& segment : raft.segments) {
    if (segment.entries == 0) continue;
    std::printf("segment: %s, entries %llu..%llu, %llu bytes\n", segment.name.c_str(),
                static_cast<ull>(segment.first_index), static_cast<ull>(segment.last_index),
                static_cast<ull>(segment.file_bytes));
  }
  if (raft.configuration) {
    std::string servers;
    for (const replica::RaftServerEntry& server : raft.configuration->servers) {
      if (!servers.empty()) servers += ", ";
      servers += std::to_string(server.id) + "=" + server.address + " " + RoleName(server.role);
    }
    std::printf("configuration (index %llu): %s\n", static_cast<ull>(raft.configuration->index),
                servers.c_str());
  }
  for (const std::string& note : raft.notes) std::printf("%s\n", note.c_str());
  std::printf(
      "ok: snapshot at index %llu (lsn %llu), %llu batches replayed, last index %llu, last term "
      "%llu, last lsn %llu; %zu claims, %zu accounts, %zu remembered transfer ids (%zu pending), "
      "%zu locks\n",
      static_cast<ull>(raft.snapshot ? raft.snapshot->index : 0),
      static_cast<ull>(report.snapshot_lsn.value), static_cast<ull>(report.batches_replayed),
      static_cast<ull>(raft.last_index), static_cast<ull>(raft.last_term),
      static_cast<ull>(report.applied_lsn.value), report.stats.claims, report.stats.accounts,
      report.stats.transfers, report.stats.pending, report.stats.locks);
  // The lines INFO digest prints, to compare replicas (entries past the commit index,
  // which the log does not record, are replayed too).
  std::printf("applied_lsn:%llu\nstate_digest:%016llx\n",
              static_cast<ull>(report.applied_lsn.value), static_cast<ull>(report.state_digest));
  if (raft.torn_bytes > 0) {
    std::printf("torn tail: %llu bytes at the end of %s will be dropped at the next start\n",
                static_cast<ull>(raft.torn_bytes), raft.torn_file.c_str());
  }
}

}  // namespace

base::Result<ReplicaCheckReport> VerifyReplica(const std::string& raft_dir) {
  Replayer replayer(raft_dir);
  auto raft = replica::ReadRaftDir(raft_dir, &replayer);
  if (!raft.ok()) return raft.status();
  // A log whose every entry is behind the snapshot still has its LSN checked.
  if (raft->snapshot) EXACTLY_RETURN_IF_ERROR(replayer.CheckSnapshotLsn());
  ReplicaCheckReport report;
  report.raft = std::move(raft).value();
  report.snapshot_lsn = replayer.snapshot_lsn();
  report.batches_replayed = replayer.batches();
  report.applied_lsn = replayer.engine().applied_lsn();
  report.state_digest = StateDigest(replayer.engine().SaveState());
  report.stats = replayer.engine().stats();
  return report;
}

std::string FindRaftDir(const std::string& dir) {
  const std::string nested = dir + "/raft";
  if (IsDirectory(nested)) return nested;
  if (replica::LooksLikeRaftDir(dir)) return dir;
  return std::string();
}

int CheckReplica(const std::string& dir) {
  if (!IsDirectory(dir)) {
    std::fprintf(stderr, "exactly check: %s is not a directory\n", dir.c_str());
    return 2;
  }
  const std::string raft_dir = FindRaftDir(dir);
  if (raft_dir.empty()) {
    std::fprintf(stderr, "exactly check: %s holds no raft log (no %s/raft, no metadata1/2)\n",
                 dir.c_str(), dir.c_str());
    return 2;
  }
  auto report = VerifyReplica(raft_dir);
  if (!report.ok()) {
    std::printf("corrupt: %s\n", report.status().ToString().c_str());
    return 1;
  }
  PrintReport(raft_dir, *report);
  return 0;
}

int CheckDataDir(const std::string& dir, const std::string& layout) {
  if (layout == "replica") return CheckReplica(dir);
  if (layout == "journal") return Check(dir);
  if (!IsDirectory(dir) || FindRaftDir(dir).empty()) return Check(dir);
  if (HasJournal(dir)) {
    // Serve refuses replicated mode on such a dir; say which of the two was checked.
    std::printf("note: %s also holds a single-node journal; --layout journal checks it\n",
                dir.c_str());
  }
  return CheckReplica(dir);
}

}  // namespace exactly::server
