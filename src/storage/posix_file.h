// PosixFileSystem: FileSystem on the real disk through POSIX calls.
//
// Every descriptor is opened with O_CLOEXEC (a forked child or an exec'ed tool
// must not inherit the journal), calls interrupted by a signal are retried, and
// short writes are continued until all bytes are written.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/file.h"

namespace exactly::storage {

class PosixFileSystem final : public FileSystem {
 public:
  base::Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override;
  base::Result<std::unique_ptr<WritableFile>> OpenTruncated(const std::string& path) override;
  base::Result<std::string> ReadFile(const std::string& path) override;
  base::Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) override;
  base::Status Truncate(const std::string& path, uint64_t size) override;
  base::Status Rename(const std::string& from, const std::string& to) override;
  base::Status Remove(const std::string& path) override;
  base::Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  base::Status CreateDir(const std::string& dir) override;
  base::Status SyncDir(const std::string& dir) override;
};

}  // namespace exactly::storage
