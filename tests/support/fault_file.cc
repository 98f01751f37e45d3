// In-memory file system that forgets unsynced data, tears writes, flips bits and
// fails on demand.
#include "support/fault_file.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/assert.h"

namespace exactly::testing {

class FaultFileSystem::Handle final : public storage::WritableFile {
 public:
  Handle(FaultFileSystem& fs, std::shared_ptr<Inode> inode, uint64_t epoch)
      : fs_(fs), inode_(std::move(inode)), epoch_(epoch) {}
  base::Status Append(std::string_view data) override {
    return fs_.AppendTo(*inode_, epoch_, data);
  }
  base::Status Sync() override { return fs_.SyncInode(*inode_, epoch_); }
  base::Status Reserve(uint64_t bytes) override { return fs_.ReserveIn(*inode_, epoch_, bytes); }
  uint64_t size() const override { return fs_.SizeOf(*inode_); }

 private:
  FaultFileSystem& fs_;
  std::shared_ptr<Inode> inode_;
  uint64_t epoch_;
};

std::string FaultFileSystem::Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

base::Result<std::unique_ptr<storage::WritableFile>> FaultFileSystem::Open(const std::string& path,
                                                                           bool truncate) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (dirs_.count(Parent(path)) == 0) return base::Status::NotFound("no directory for " + path);
  std::shared_ptr<Inode>& inode = names_[path];
  if (!inode) inode = std::make_shared<Inode>();
  if (truncate) {
    inode->data.clear();
    inode->reserved = 0;
  }
  return std::unique_ptr<storage::WritableFile>(std::make_unique<Handle>(*this, inode, epoch_));
}

base::Result<std::unique_ptr<storage::WritableFile>> FaultFileSystem::OpenForAppend(
    const std::string& path) {
  return Open(path, false);
}

base::Result<std::unique_ptr<storage::WritableFile>> FaultFileSystem::OpenTruncated(
    const std::string& path) {
  return Open(path, true);
}

base::Status FaultFileSystem::AppendTo(Inode& inode, uint64_t epoch, std::string_view data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (epoch != epoch_) return base::Status::IoError("write after crash");
  if (write_successes_left_ == 0) {
    inode.data.append(data.substr(0, std::min<uint64_t>(torn_bytes_, data.size())));
    torn_bytes_ = 0;
    return base::Status::IoError("injected write failure");
  }
  if (write_successes_left_ > 0) --write_successes_left_;
  inode.data.append(data);
  return base::Status::Ok();
}

base::Status FaultFileSystem::SyncInode(Inode& inode, uint64_t epoch) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hook = sync_hook_;
  }
  if (hook) hook();
  std::lock_guard<std::mutex> lock(mutex_);
  if (epoch != epoch_) return base::Status::IoError("sync after crash");
  if (sync_successes_left_ == 0) return base::Status::IoError("injected fdatasync failure");
  if (sync_successes_left_ > 0) --sync_successes_left_;
  inode.durable = inode.data;
  inode.durable_reserved = inode.reserved;
  ++file_syncs_;
  return base::Status::Ok();
}

base::Status FaultFileSystem::ReserveIn(Inode& inode, uint64_t epoch, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (epoch != epoch_) return base::Status::IoError("reserve after crash");
  inode.reserved = std::max(inode.reserved, bytes);
  return base::Status::Ok();
}

std::string FaultFileSystem::Padded(const Inode& inode) {
  std::string bytes = inode.data;
  if (bytes.size() < inode.reserved) bytes.resize(inode.reserved, '\0');
  return bytes;
}

uint64_t FaultFileSystem::SizeOf(const Inode& inode) {
  std::lock_guard<std::mutex> lock(mutex_);
  return inode.data.size();
}

base::Result<std::string> FaultFileSystem::ReadFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return base::Status::NotFound("no file " + path);
  return Padded(*found->second);
}

namespace {

class ReadHandle final : public storage::ReadableFile {
 public:
  ReadHandle(std::string bytes, uint64_t written) : bytes_(std::move(bytes)), written_(written) {}
  base::Result<size_t> ReadAt(uint64_t offset, char* out, size_t bytes) override {
    if (offset >= bytes_.size()) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, bytes_.size() - offset));
    std::memcpy(out, bytes_.data() + offset, n);
    return n;
  }
  uint64_t NextData(uint64_t offset) override {
    return offset < written_ ? offset : std::max<uint64_t>(offset, bytes_.size());
  }
  uint64_t size() const override { return bytes_.size(); }

 private:
  std::string bytes_;
  uint64_t written_;  // past it, reserved space: a hole
};

}  // namespace

base::Result<std::unique_ptr<storage::ReadableFile>> FaultFileSystem::OpenForRead(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return base::Status::NotFound("no file " + path);
  return std::unique_ptr<storage::ReadableFile>(
      std::make_unique<ReadHandle>(Padded(*found->second), found->second->data.size()));
}

base::Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(path);
  if (found == names_.end()) return base::Status::NotFound("no file " + path);
  Inode& inode = *found->second;
  if (size < inode.data.size()) inode.data.resize(size);
  inode.reserved = std::min(inode.reserved, size);
  inode.durable = inode.data;
  inode.durable_reserved = inode.reserved;
  return base::Status::Ok();
}

base::Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(from);
  if (found == names_.end()) return base::Status::NotFound("no file " + from);
  std::shared_ptr<Inode> inode = found->second;
  names_.erase(found);
  names_[to] = std::move(inode);
  return base::Status::Ok();
}

base::Status FaultFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (names_.erase(path) == 0) return base::Status::NotFound("no file " + path);
  return base::Status::Ok();
}

base::Result<std::vector<std::string>> FaultFileSystem::ListDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (dirs_.count(dir) == 0) return base::Status::NotFound("no directory " + dir);
  std::vector<std::string> names;
  for (const auto& [path, inode] : names_) {
    if (Parent(path) == dir) names.push_back(path.substr(dir.size() + 1));
  }
  return names;
}

base::Status FaultFileSystem::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  dirs_.insert(dir);
  return base::Status::Ok();
}

base::Status FaultFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (dirs_.count(dir) == 0) return base::Status::NotFound("no directory " + dir);
  if (fail_dir_syncs_) return base::Status::IoError("injected directory fsync failure");
  for (auto it = durable_names_.begin(); it != durable_names_.end();) {
    it = Parent(it->first) == dir ? durable_names_.erase(it) : std::next(it);
  }
  for (const auto& [path, inode] : names_) {
    if (Parent(path) == dir) durable_names_[path] = inode;
  }
  ++dir_syncs_;
  return base::Status::Ok();
}

void FaultFileSystem::Crash(uint64_t keep_unsynced_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++epoch_;
  names_ = durable_names_;
  for (auto& [path, inode] : names_) {
    std::string survived = inode->durable;
    if (inode->data.size() > survived.size() && inode->data.starts_with(survived)) {
      survived += inode->data.substr(survived.size(), keep_unsynced_bytes);
    }
    inode->data = survived;
    inode->durable = std::move(survived);
    inode->reserved = inode->durable_reserved;
  }
}

void FaultFileSystem::FailSyncsAfter(int successes) {
  std::lock_guard<std::mutex> lock(mutex_);
  sync_successes_left_ = successes;
}

void FaultFileSystem::FailWritesAfter(int successes, uint64_t torn_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_successes_left_ = successes;
  torn_bytes_ = torn_bytes;
}

void FaultFileSystem::FailDirSyncs(bool fail) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_dir_syncs_ = fail;
}

void FaultFileSystem::SetSyncHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  sync_hook_ = std::move(hook);
}

void FaultFileSystem::FlipBit(const std::string& path, uint64_t offset, int bit) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(path);
  EXACTLY_ASSERT(found != names_.end());
  EXACTLY_ASSERT(offset < found->second->data.size());
  const char mask = static_cast<char>(1 << bit);
  found->second->data[offset] ^= mask;
  if (offset < found->second->durable.size()) found->second->durable[offset] ^= mask;
}

void FaultFileSystem::SetContents(const std::string& path, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  dirs_.insert(Parent(path));
  std::shared_ptr<Inode>& inode = names_[path];
  if (!inode) inode = std::make_shared<Inode>();
  inode->data = bytes;
  inode->durable = bytes;
  inode->reserved = 0;
  inode->durable_reserved = 0;
  durable_names_[path] = inode;
}

bool FaultFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  return names_.count(path) != 0;
}

std::string FaultFileSystem::Contents(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = names_.find(path);
  return found == names_.end() ? std::string() : found->second->data;
}

int FaultFileSystem::file_syncs() {
  std::lock_guard<std::mutex> lock(mutex_);
  return file_syncs_;
}

int FaultFileSystem::dir_syncs() {
  std::lock_guard<std::mutex> lock(mutex_);
  return dir_syncs_;
}

}  // namespace exactly::testing
