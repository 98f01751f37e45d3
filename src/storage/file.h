// FileSystem: the only way storage/ touches the disk, so tests can swap in a
// double (tests/support/fault_file.h) that forgets unsynced bytes, tears writes,
// flips bits and fails syncs on demand.
//
// Header-only on purpose: the test double implements it without linking storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace exactly::storage {

// A file open for appending. Not thread-safe: one thread uses it at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Writes all of `data` at the end of the file (short writes are continued).
  // After a failure the file's length is unknown: the caller must stop using it.
  virtual base::Status Append(std::string_view data) = 0;
  // fdatasync: everything appended so far survives a crash once this returns ok.
  virtual base::Status Sync() = 0;
  // Makes the file at least `bytes` long, reading as zeros past what was appended,
  // without moving where the next Append goes. Appends inside the reserved space
  // change no file metadata, so their fdatasync flushes data only instead of also
  // committing the file system's journal (measured: 78 us instead of 132 us per
  // sync on ext4). Durable with the next Sync. A file system that cannot reserve
  // space returns Ok and the file simply grows as it is appended to.
  virtual base::Status Reserve(uint64_t bytes) = 0;
  // Where the next Append goes: the file's length at open plus everything appended
  // since (reserved zeros past it do not count).
  virtual uint64_t size() const = 0;
};

// A file open for reading at any offset. Not thread-safe: one thread uses it at a time.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;

  // Reads up to `bytes` bytes at `offset` into `out`; returns how many were read,
  // fewer only where the file ends (short reads are continued).
  virtual base::Result<size_t> ReadAt(uint64_t offset, char* out, size_t bytes) = 0;
  // The first offset at or after `offset` that may hold a non-zero byte: the bytes
  // before it are a hole the file system knows of (lseek SEEK_DATA), which reads as
  // zeros without being read, as reserved space no write reached does on ext4 and
  // XFS. size() when only a hole follows; `offset` when the file system cannot tell.
  virtual uint64_t NextData(uint64_t offset) = 0;
  // The file's length when it was opened, reserved space included.
  virtual uint64_t size() const = 0;
};

// Files and directories by path. Implementations must be safe to call from
// several threads at once (different files).
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens `path` for appending, creating it (empty) if missing.
  virtual base::Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) = 0;
  // Creates `path` empty, or empties it if it exists, and opens it for appending.
  virtual base::Result<std::unique_ptr<WritableFile>> OpenTruncated(const std::string& path) = 0;
  // The whole content of `path`. NotFound if it does not exist.
  virtual base::Result<std::string> ReadFile(const std::string& path) = 0;
  // Opens `path` for reading in pieces. NotFound if it does not exist.
  virtual base::Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) = 0;
  // Shortens `path` to `size` bytes and syncs it.
  virtual base::Status Truncate(const std::string& path, uint64_t size) = 0;
  // Atomically replaces `to` with `from` (not durable until SyncDir).
  virtual base::Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file (not durable until SyncDir).
  virtual base::Status Remove(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, in no particular order.
  // NotFound if `dir` does not exist.
  virtual base::Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` if it does not exist (its parent must exist) and makes its name
  // durable in the parent (an fsync of the parent), whoever created it.
  virtual base::Status CreateDir(const std::string& dir) = 0;
  // fsync of the directory: makes creations, renames and removals in it durable.
  virtual base::Status SyncDir(const std::string& dir) = 0;
};

// The real file system (storage/posix_file.cc). Lives for the whole process.
FileSystem& DefaultFileSystem();

}  // namespace exactly::storage
