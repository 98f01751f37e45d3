// FaultFileSystem: an in-memory storage::FileSystem that misbehaves on demand, for
// storage tests. It remembers what has been made durable (file contents at their
// last Sync, directory entries at their last SyncDir) separately from what has
// merely been written, so Crash() can forget exactly what a power cut would. It
// can also tear the write in progress at a crash, fail writes and syncs after a
// number of successes, and flip bits.
//
// Thread-safe: every operation takes one mutex. Handles opened before a Crash()
// fail every later call, like descriptors of a process that died.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "storage/file.h"

namespace exactly::testing {

class FaultFileSystem final : public storage::FileSystem {
 public:
  FaultFileSystem() = default;
  FaultFileSystem(const FaultFileSystem&) = delete;
  FaultFileSystem& operator=(const FaultFileSystem&) = delete;

  // storage::FileSystem
  base::Result<std::unique_ptr<storage::WritableFile>> OpenForAppend(
      const std::string& path) override;
  base::Result<std::unique_ptr<storage::WritableFile>> OpenTruncated(
      const std::string& path) override;
  base::Result<std::string> ReadFile(const std::string& path) override;
  // A copy of the file as it is now. Its NextData knows the Reserve()d space past
  // what was written as a hole, as ext4 knows an unwritten extent.
  base::Result<std::unique_ptr<storage::ReadableFile>> OpenForRead(
      const std::string& path) override;
  base::Status Truncate(const std::string& path, uint64_t size) override;
  base::Status Rename(const std::string& from, const std::string& to) override;
  base::Status Remove(const std::string& path) override;
  base::Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  base::Status CreateDir(const std::string& dir) override;
  base::Status SyncDir(const std::string& dir) override;

  // Power cut: every file reverts to its content at its last Sync (or Truncate),
  // every directory to its entries at its last SyncDir. A file keeps up to
  // `keep_unsynced_bytes` of what was appended after its last sync, modelling a
  // write that reached the disk only in part. Open handles go dead.
  void Crash(uint64_t keep_unsynced_bytes = 0);

  // The next `successes` file syncs succeed, every later one fails with IoError
  // (and makes nothing durable). Negative: never fail (the default).
  void FailSyncsAfter(int successes);
  // The next `successes` appends succeed, every later one fails with IoError.
  // With `torn_bytes` > 0 the first failing append still writes that many bytes.
  void FailWritesAfter(int successes, uint64_t torn_bytes = 0);
  // While set, SyncDir fails with IoError.
  void FailDirSyncs(bool fail);
  // Called at the start of every WritableFile::Sync, outside the lock, so a test
  // can hold a sync in progress (e.g. to see what queues up behind it).
  void SetSyncHook(std::function<void()> hook);

  // Flips bit `bit` (0..7) of byte `offset` of `path`, in both the written and the
  // durable content (damage on the medium).
  void FlipBit(const std::string& path, uint64_t offset, int bit);
  // Replaces the content of `path` (created if missing), durably, entry included.
  void SetContents(const std::string& path, const std::string& bytes);

  // Inspection.
  bool Exists(const std::string& path);
  std::string Contents(const std::string& path);  // "" if missing; reserved zeros not included
  int file_syncs();                               // successful WritableFile::Sync calls
  int dir_syncs();                                // successful SyncDir calls

 private:
  struct Inode {
    std::string data;     // what was written; appends go at its end
    std::string durable;  // what survives a crash
    // Reserve()d length: reads see `data` padded with zeros up to it.
    uint64_t reserved = 0;
    uint64_t durable_reserved = 0;  // as of the last Sync
  };
  class Handle;
  friend class Handle;

  base::Result<std::unique_ptr<storage::WritableFile>> Open(const std::string& path, bool truncate);
  base::Status AppendTo(Inode& inode, uint64_t epoch, std::string_view data);
  base::Status SyncInode(Inode& inode, uint64_t epoch);
  base::Status ReserveIn(Inode& inode, uint64_t epoch, uint64_t bytes);
  static std::string Padded(const Inode& inode);
  uint64_t SizeOf(const Inode& inode);
  static std::string Parent(const std::string& path);

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Inode>> names_;
  std::map<std::string, std::shared_ptr<Inode>> durable_names_;
  std::set<std::string> dirs_;
  uint64_t epoch_ = 0;  // bumped by Crash
  int sync_successes_left_ = -1;
  int write_successes_left_ = -1;
  uint64_t torn_bytes_ = 0;
  bool fail_dir_syncs_ = false;
  std::function<void()> sync_hook_;
  int file_syncs_ = 0;
  int dir_syncs_ = 0;
};

}  // namespace exactly::testing
