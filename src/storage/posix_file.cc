// POSIX implementation of the injectable file interface.
#include "storage/posix_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace exactly::storage {
namespace {

base::Status ErrnoStatus(const char* what, const std::string& path, int error) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(error);
  if (error == ENOENT) return base::Status::NotFound(std::move(message));
  return base::Status::IoError(std::move(message));
}

int OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

void CloseQuietly(int fd) {
  // close() must not be retried on EINTR on Linux: the descriptor is already gone.
  ::close(fd);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override { CloseQuietly(fd_); }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  base::Status Append(std::string_view data) override {
    while (!data.empty()) {
      // pwrite at our own offset, not O_APPEND: the end of the file may be reserved
      // space (Reserve) that appends fill from the front.
      ssize_t written = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (written < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(written));
      size_ += static_cast<uint64_t>(written);
    }
    return base::Status::Ok();
  }

  base::Status Sync() override {
    int result = 0;
    do {
      result = ::fdatasync(fd_);
    } while (result != 0 && errno == EINTR);
    if (result != 0) return ErrnoStatus("fdatasync", path_, errno);
    return base::Status::Ok();
  }

  base::Status Reserve(uint64_t bytes) override {
    int result = 0;
    do {
      result = ::fallocate(fd_, 0, 0, static_cast<off_t>(bytes));
    } while (result != 0 && errno == EINTR);
    if (result == 0 || errno == EOPNOTSUPP || errno == ENOSYS) return base::Status::Ok();
    return ErrnoStatus("fallocate", path_, errno);
  }

  uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixReadableFile() override { CloseQuietly(fd_); }
  PosixReadableFile(const PosixReadableFile&) = delete;
  PosixReadableFile& operator=(const PosixReadableFile&) = delete;

  base::Result<size_t> ReadAt(uint64_t offset, char* out, size_t bytes) override {
    size_t done = 0;
    while (done < bytes) {
      ssize_t got = ::pread(fd_, out + done, bytes - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  uint64_t NextData(uint64_t offset) override {
    if (offset >= size_) return size_;
    off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (data < 0) return errno == ENXIO ? size_ : offset;  // ENXIO: only a hole is left
    return std::min(static_cast<uint64_t>(data), size_);
  }

  uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

// Opens `path` and reads its size: the two facts both kinds of file start from.
// On failure nothing stays open.
base::Result<std::pair<int, uint64_t>> OpenSized(const std::string& path, int flags) {
  int fd = OpenRetrying(path, flags, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    base::Status status = ErrnoStatus("fstat", path, errno);
    CloseQuietly(fd);
    return status;
  }
  return std::pair<int, uint64_t>(fd, static_cast<uint64_t>(info.st_size));
}

base::Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path, int extra_flags) {
  base::Result<std::pair<int, uint64_t>> opened = OpenSized(path, O_WRONLY | O_CREAT | extra_flags);
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<WritableFile>(
      std::make_unique<PosixWritableFile>(path, opened->first, opened->second));
}

base::Status SyncDescriptor(int fd, const std::string& path) {
  int result = 0;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  if (result != 0) return ErrnoStatus("fsync", path, errno);
  return base::Status::Ok();
}

// "/a/b/" -> "/a", "/a" -> "/", "a" -> ".".
std::string ParentDir(const std::string& dir) {
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

base::Result<std::unique_ptr<WritableFile>> PosixFileSystem::OpenForAppend(
    const std::string& path) {
  return OpenWritable(path, 0);
}

base::Result<std::unique_ptr<WritableFile>> PosixFileSystem::OpenTruncated(
    const std::string& path) {
  return OpenWritable(path, O_TRUNC);
}

base::Result<std::string> PosixFileSystem::ReadFile(const std::string& path) {
  int fd = OpenRetrying(path, O_RDONLY);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  // Read straight into the string, sized from fstat: recovery reads a GiB of
  // journal through here, and a bounce buffer would copy it twice. A file that
  // grows meanwhile is read to its end all the same.
  std::string content;
  struct stat info;
  size_t size = 0;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) size = static_cast<size_t>(info.st_size);
  // One byte more than the file, so that the read that finds its end needs no growth.
  content.resize(std::max<size_t>(size + 1, 1 << 16));
  size_t filled = 0;
  while (true) {
    if (filled == content.size()) content.resize(content.size() * 2);
    ssize_t got = ::read(fd, content.data() + filled, content.size() - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      base::Status status = ErrnoStatus("read", path, errno);
      CloseQuietly(fd);
      return status;
    }
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  CloseQuietly(fd);
  content.resize(filled);
  return content;
}

base::Result<std::unique_ptr<ReadableFile>> PosixFileSystem::OpenForRead(const std::string& path) {
  base::Result<std::pair<int, uint64_t>> opened = OpenSized(path, O_RDONLY);
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<ReadableFile>(
      std::make_unique<PosixReadableFile>(path, opened->first, opened->second));
}

base::Status PosixFileSystem::Truncate(const std::string& path, uint64_t size) {
  int fd = OpenRetrying(path, O_WRONLY);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  int result = 0;
  do {
    result = ::ftruncate(fd, static_cast<off_t>(size));
  } while (result != 0 && errno == EINTR);
  base::Status status =
      result == 0 ? SyncDescriptor(fd, path) : ErrnoStatus("ftruncate", path, errno);
  CloseQuietly(fd);
  return status;
}

base::Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
  return base::Status::Ok();
}

base::Status PosixFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  return base::Status::Ok();
}

base::Result<std::vector<std::string>> PosixFileSystem::ListDir(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return ErrnoStatus("opendir", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(handle)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int error = errno;
  ::closedir(handle);
  if (error != 0) return ErrnoStatus("readdir", dir, error);
  return names;
}

base::Status PosixFileSystem::CreateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
  // The directory's name lives in its parent, so it survives a power cut only once
  // the parent is fsynced; also when it existed already, because whoever made it
  // (std::filesystem at start-up) did not sync the parent.
  return SyncDir(ParentDir(dir));
}

base::Status PosixFileSystem::SyncDir(const std::string& dir) {
  int fd = OpenRetrying(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoStatus("open", dir, errno);
  base::Status status = SyncDescriptor(fd, dir);
  CloseQuietly(fd);
  return status;
}

FileSystem& DefaultFileSystem() {
  static PosixFileSystem file_system;  // stateless, so its destruction at exit is harmless
  return file_system;
}

}  // namespace exactly::storage
