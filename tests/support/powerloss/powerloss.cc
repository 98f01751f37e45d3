// Power-loss layer: an LD_PRELOAD library that keeps, beside the real data dir,
// what the disk would hold if power were cut at this instant.
//
// The real data dir plays the page cache: the server reads and writes it as
// usual. The shadow dir ($EXACTLY_POWERLOSS_SHADOW) is the platter:
//   - a file's bytes reach the shadow only when fsync/fdatasync of that file
//     returns, and only the ranges written (or truncated) since its last sync;
//   - the names in the data dir ($EXACTLY_POWERLOSS_DATA, flat: no subdirs)
//     reach the shadow only when the directory itself is fsynced: a creation,
//     rename or unlink not followed by a directory fsync is lost.
// Renames and unlinks need no wrapper for that: they change the real directory
// only, and an fsync of the directory copies the real directory's names (each
// with its file's identity) into the shadow.
// After the server is killed with SIGKILL (at any moment), the test rebuilds
// the data dir from the shadow (tests/integration/powerloss.py) and restarts.
//
// Shadow layout (every update is atomic with respect to a kill, except the
// bytes of one sync, which may land in part as a real torn sync would):
//   lock              flock'ed around every change (the snapshot writer is a
//                     forked child, so two processes update the shadow)
//   inodes            lines "dev ino id": the file identity of each inode the
//                     layer has seen created; the last line for an inode wins
//   dirents           lines "id name": the durable directory, replaced by rename
//   data/<id>         the durable bytes of file <id>
//   datadir-absent    present while the data dir itself is not durable: it did
//                     not exist when the layer started and its parent has not
//                     been fsynced since (a cut then leaves no data dir at all)
// The layer starts by copying the data dir into an empty shadow (so a restart
// on a rebuilt dir starts from "everything is durable").
// $EXACTLY_POWERLOSS_HANG_AT_SYNC and _SYNC_DELAY_MS (below) hold one sync
// forever and slow the others, for tests that must cut power between a write
// of several records and its sync.
//
// Unsynced state (which ranges of which file are dirty) lives in the process's
// memory on purpose: a kill loses it exactly as a power cut loses the cache.
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

// The libc functions this layer wraps, found once with dlsym(RTLD_NEXT).
struct Real {
  int (*open)(const char*, int, ...) = nullptr;
  int (*openat)(int, const char*, int, ...) = nullptr;
  ssize_t (*write)(int, const void*, size_t) = nullptr;
  ssize_t (*pwrite)(int, const void*, size_t, off_t) = nullptr;
  int (*fallocate)(int, int, off_t, off_t) = nullptr;
  int (*ftruncate)(int, off_t) = nullptr;
  int (*fsync)(int) = nullptr;
  int (*fdatasync)(int) = nullptr;
  int (*rename)(const char*, const char*) = nullptr;
  int (*unlink)(const char*) = nullptr;
  int (*close)(int) = nullptr;
};

Real real;
pthread_once_t real_once = PTHREAD_ONCE_INIT;

template <typename F>
void Resolve(F*& slot, const char* name) {
  slot = reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
}

void ResolveAll() {
  Resolve(real.open, "open");
  Resolve(real.openat, "openat");
  Resolve(real.write, "write");
  Resolve(real.pwrite, "pwrite");
  Resolve(real.fallocate, "fallocate");
  Resolve(real.ftruncate, "ftruncate");
  Resolve(real.fsync, "fsync");
  Resolve(real.fdatasync, "fdatasync");
  Resolve(real.rename, "rename");
  Resolve(real.unlink, "unlink");
  Resolve(real.close, "close");
}

const Real& R() {
  pthread_once(&real_once, ResolveAll);
  return real;
}

constexpr int kFdsMax = 1 << 16;
enum FdKind : uint8_t { kUntracked = 0, kFile = 1, kDir = 2, kParentDir = 3 };

// Per descriptor: what it is and which file identity it writes. Read without
// the mutex on the fast path (sockets are never tracked), written under it.
struct FdEntry {
  uint8_t kind;
  uint64_t id;
};
FdEntry fds[kFdsMax];

// Volatile per file identity: ranges written and the lowest truncation since
// the last sync.
struct Dirty {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end)
  uint64_t lowest_truncate = UINT64_MAX;
};

std::mutex mutex;  // guards fds[] writes, the dirty map and the shadow
std::map<uint64_t, Dirty>& DirtyMap() {
  static auto* map = new std::map<uint64_t, Dirty>();  // never destroyed: used until _exit
  return *map;
}

char data_dir[4096];    // no trailing slash; empty: the layer is off
char shadow_dir[4096];  // no trailing slash
char parent_dir[4096];  // the data dir's parent, whose fsync makes the data dir's name durable
bool enabled = false;
// $EXACTLY_POWERLOSS_HANG_AT_SYNC=N: the N-th file sync of this process never
// returns (nor reaches the disk), so a test can cut power between a write and
// its sync deterministically. 0: off.
uint64_t hang_at_sync = 0;
uint64_t file_syncs = 0;
// $EXACTLY_POWERLOSS_SYNC_DELAY_MS: every file sync first sleeps this long, so
// that batches queue behind it and the next write holds several records.
uint64_t sync_delay_ms = 0;

[[noreturn]] void Die(const char* what) {
  // A layer that cannot keep the shadow would let the test pass on nothing.
  char line[512];
  int n = snprintf(line, sizeof(line), "powerloss: %s: %s\n", what, strerror(errno));
  if (n > 0) {
    ssize_t ignored = R().write(2, line, static_cast<size_t>(n));
    (void)ignored;
  }
  abort();
}

std::string ShadowPath(const std::string& name) { return std::string(shadow_dir) + "/" + name; }
std::string DataPath(uint64_t id) { return ShadowPath("data/" + std::to_string(id)); }

// Takes the cross-process lock; a fresh descriptor each time, because a
// forked child would otherwise share the parent's lock.
class ShadowLock {
 public:
  ShadowLock() {
    fd_ = R().open(ShadowPath("lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) Die("open shadow lock");
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) Die("flock shadow lock");
    }
  }
  ~ShadowLock() { R().close(fd_); }  // closing releases the flock
  ShadowLock(const ShadowLock&) = delete;
  ShadowLock& operator=(const ShadowLock&) = delete;

 private:
  int fd_;
};

void WriteAll(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = R().pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("write shadow");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

// Copies [begin, end) of `from` into `to` at the same offsets.
void CopyRange(int from, int to, uint64_t begin, uint64_t end) {
  static thread_local char buffer[1 << 16];
  while (begin < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(buffer), end - begin));
    ssize_t got = pread(from, buffer, want, static_cast<off_t>(begin));
    if (got < 0) {
      if (errno == EINTR) continue;
      Die("read data file");
    }
    if (got == 0) break;  // the file is shorter than the range: nothing more to copy
    WriteAll(to, buffer, static_cast<size_t>(got), begin);
    begin += static_cast<uint64_t>(got);
  }
}

struct InodeKey {
  uint64_t dev, ino;
  bool operator<(const InodeKey& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

// Reads `inodes`: inode -> id (last line wins) and the largest id. A line cut by
// a kill (no newline) is ignored. Call with the ShadowLock held.
std::map<InodeKey, uint64_t> ReadInodes(uint64_t* max_id) {
  std::map<InodeKey, uint64_t> table;
  *max_id = 0;
  FILE* f = fopen(ShadowPath("inodes").c_str(), "re");
  if (f == nullptr) return table;
  char line[128];
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strchr(line, '\n') == nullptr) break;
    unsigned long long dev = 0, ino = 0, id = 0;
    if (sscanf(line, "%llu %llu %llu", &dev, &ino, &id) != 3) continue;
    table[InodeKey{dev, ino}] = id;
    *max_id = std::max<uint64_t>(*max_id, id);
  }
  fclose(f);
  return table;
}

// Gives the inode of `fd` a new identity. Call with the ShadowLock held.
uint64_t NewIdentity(const struct stat& st) {
  uint64_t max_id = 0;
  ReadInodes(&max_id);
  const uint64_t id = max_id + 1;
  int fd = R().open(ShadowPath("inodes").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) Die("open shadow inodes");
  std::string line = std::to_string(static_cast<uint64_t>(st.st_dev)) + " " +
                     std::to_string(static_cast<uint64_t>(st.st_ino)) + " " + std::to_string(id) +
                     "\n";
  if (R().write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    Die("append shadow inodes");
  }
  R().close(fd);
  return id;
}

// The identity of an inode, a new one if the layer never saw it. Lock held.
uint64_t IdentityOf(const struct stat& st) {
  uint64_t max_id = 0;
  std::map<InodeKey, uint64_t> table = ReadInodes(&max_id);
  auto it =
      table.find(InodeKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  if (it != table.end()) return it->second;
  return NewIdentity(st);
}

// The durable directory := the data dir's current names. Lock held.
void PersistDirectory() {
  DIR* dir = opendir(data_dir);
  std::string listing;
  while (struct dirent* entry = dir != nullptr ? readdir(dir) : nullptr) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;
    listing += std::to_string(IdentityOf(st)) + " " + name + "\n";
  }
  if (dir != nullptr) closedir(dir);
  const std::string temp = ShadowPath("dirents.tmp");
  int fd = R().open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("open shadow dirents");
  WriteAll(fd, listing.data(), listing.size(), 0);
  R().close(fd);
  if (R().rename(temp.c_str(), ShadowPath("dirents").c_str()) != 0) Die("rename shadow dirents");
}

// Makes the file's dirty ranges durable in the shadow. Lock held, fd is `id`'s.
void PersistFile(int fd, uint64_t id) {
  struct stat st;
  if (fstat(fd, &st) != 0) Die("fstat data file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  Dirty dirty;
  auto it = DirtyMap().find(id);
  if (it != DirtyMap().end()) {
    dirty = std::move(it->second);
    DirtyMap().erase(it);
  }
  int shadow = R().open(DataPath(id).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (shadow < 0) Die("open shadow data");
  struct stat shadow_st;
  if (fstat(shadow, &shadow_st) != 0) Die("fstat shadow data");
  if (dirty.lowest_truncate < static_cast<uint64_t>(shadow_st.st_size)) {
    if (R().ftruncate(shadow, static_cast<off_t>(dirty.lowest_truncate)) != 0) {
      Die("truncate shadow data");
    }
  }
  if (R().ftruncate(shadow, static_cast<off_t>(size)) != 0) Die("size shadow data");
  if (!dirty.ranges.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    int reader = R().open(self.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader < 0) Die("reopen data file for reading");
    for (const auto& [begin, end] : dirty.ranges) {
      if (begin < size) CopyRange(reader, shadow, begin, std::min(end, size));
    }
    R().close(reader);
  }
  R().close(shadow);
}

void MarkDirty(int fd, uint64_t begin, uint64_t length) {
  if (length == 0) return;
  std::lock_guard<std::mutex> guard(mutex);
  if (fds[fd].kind != kFile) return;
  auto& ranges = DirtyMap()[fds[fd].id].ranges;
  const uint64_t end = begin + length;
  if (!ranges.empty() && ranges.back().second == begin) {
    ranges.back().second = end;  // the journal appends: one growing range
  } else {
    ranges.emplace_back(begin, end);
  }
}

void MarkTruncated(uint64_t id, uint64_t size) {
  Dirty& dirty = DirtyMap()[id];
  dirty.lowest_truncate = std::min(dirty.lowest_truncate, size);
}

bool Tracked(int fd) {
  return fd >= 0 && fd < kFdsMax && __atomic_load_n(&fds[fd].kind, __ATOMIC_ACQUIRE) != kUntracked;
}

// Absolute path of `path` relative to `dirfd` (only AT_FDCWD and absolute
// paths are resolved; the server passes absolute paths).
std::string Absolute(int dirfd, const char* path) {
  if (path[0] == '/' || dirfd != AT_FDCWD) return path;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

bool SameDir(const std::string& path, const char* dir) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p == dir;
}

bool IsDataDir(const std::string& path) { return SameDir(path, data_dir); }

// True for a file directly inside the data dir.
bool InDataDir(const std::string& path) {
  const size_t n = strlen(data_dir);
  return path.size() > n + 1 && path.compare(0, n, data_dir) == 0 && path[n] == '/' &&
         path.find('/', n + 1) == std::string::npos;
}

// After a successful open of a path in (or of) the data dir: track the fd.
void Track(int fd, const std::string& path, int flags, bool existed) {
  if (fd < 0 || fd >= kFdsMax) return;
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  std::lock_guard<std::mutex> guard(mutex);
  if (S_ISDIR(st.st_mode)) {
    const FdKind kind = IsDataDir(path)             ? kDir
                        : SameDir(path, parent_dir) ? kParentDir
                                                    : kUntracked;
    if (kind == kUntracked) return;
    fds[fd].id = 0;
    __atomic_store_n(&fds[fd].kind, kind, __ATOMIC_RELEASE);
    return;
  }
  if (!S_ISREG(st.st_mode) || !InDataDir(path)) return;
  uint64_t id = 0;
  {
    ShadowLock lock;
    id = existed ? IdentityOf(st) : NewIdentity(st);
  }
  if (!existed || (flags & O_TRUNC) != 0) MarkTruncated(id, 0);
  fds[fd].id = id;
  __atomic_store_n(&fds[fd].kind, kFile, __ATOMIC_RELEASE);
}

int OpenCommon(int dirfd, const char* path, int flags, mode_t mode) {
  if (!enabled || path == nullptr) return R().openat(dirfd, path, flags, mode);
  const std::string abs = Absolute(dirfd, path);
  const bool interesting = InDataDir(abs) || IsDataDir(abs) || SameDir(abs, parent_dir);
  bool existed = true;
  if (interesting && (flags & O_CREAT) != 0) {
    struct stat st;
    existed = stat(abs.c_str(), &st) == 0;
  }
  int fd = R().openat(dirfd, path, flags, mode);
  if (fd >= 0 && interesting) {
    const int saved = errno;
    Track(fd, abs, flags, existed);
    errno = saved;
  }
  return fd;
}

int SyncCommon(int fd, int (*sync)(int)) {
  if (!enabled || !Tracked(fd)) return sync(fd);
  if (hang_at_sync > 0 && __atomic_load_n(&fds[fd].kind, __ATOMIC_ACQUIRE) == kFile &&
      __atomic_add_fetch(&file_syncs, 1, __ATOMIC_ACQ_REL) == hang_at_sync) {
    // The test cuts the power here: written, not yet synced.
    while (true) pause();
  }
  if (sync_delay_ms > 0 && __atomic_load_n(&fds[fd].kind, __ATOMIC_ACQUIRE) == kFile) {
    usleep(static_cast<useconds_t>(sync_delay_ms * 1000));
  }
  int result = sync(fd);
  if (result != 0) return result;  // a failed sync makes nothing durable
  const int saved = errno;
  {
    std::lock_guard<std::mutex> guard(mutex);
    ShadowLock lock;
    struct stat st;
    if (fds[fd].kind == kDir) {
      PersistDirectory();
    } else if (fds[fd].kind == kParentDir) {
      if (stat(data_dir, &st) == 0) R().unlink(ShadowPath("datadir-absent").c_str());
    } else if (fds[fd].kind == kFile) {
      PersistFile(fd, fds[fd].id);
    }
  }
  errno = saved;
  return 0;
}

void Untrack(int fd) {
  if (!Tracked(fd)) return;
  std::lock_guard<std::mutex> guard(mutex);
  __atomic_store_n(&fds[fd].kind, kUntracked, __ATOMIC_RELEASE);
  fds[fd].id = 0;
}

// Copies a file sparsely (data extents only) into the shadow as durable.
void SeedFile(const std::string& from, uint64_t id) {
  int in = R().open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) Die("open data file to seed the shadow");
  int out = R().open(DataPath(id).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) Die("create shadow data");
  struct stat st;
  if (fstat(in, &st) != 0) Die("fstat data file");
  const off_t size = st.st_size;
  off_t at = 0;
  while (at < size) {
    off_t data = lseek(in, at, SEEK_DATA);
    if (data < 0) break;  // only a hole is left
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    CopyRange(in, out, static_cast<uint64_t>(data), static_cast<uint64_t>(hole));
    at = hole;
  }
  if (R().ftruncate(out, size) != 0) Die("size shadow data");
  R().close(out);
  R().close(in);
}

// An empty shadow starts as a copy of the data dir: what is there now is durable.
void SeedShadow() {
  ShadowLock lock;
  struct stat st;
  if (stat(ShadowPath("dirents").c_str(), &st) == 0) return;  // a forked or later process
  if (mkdir(ShadowPath("data").c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir shadow data");
  DIR* dir = opendir(data_dir);
  if (dir != nullptr) {
    std::vector<std::string> names;
    while (struct dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    for (const std::string& name : names) {
      const std::string path = std::string(data_dir) + "/" + name;
      struct stat file_st;
      if (stat(path.c_str(), &file_st) != 0 || !S_ISREG(file_st.st_mode)) continue;
      SeedFile(path, NewIdentity(file_st));
    }
  }
  PersistDirectory();
}

void BeforeFork() { mutex.lock(); }
void AfterFork() { mutex.unlock(); }

__attribute__((constructor)) void Start() {
  R();
  const char* data = getenv("EXACTLY_POWERLOSS_DATA");
  const char* shadow = getenv("EXACTLY_POWERLOSS_SHADOW");
  if (data == nullptr || shadow == nullptr || data[0] != '/' || shadow[0] != '/') return;
  snprintf(data_dir, sizeof(data_dir), "%s", data);
  snprintf(shadow_dir, sizeof(shadow_dir), "%s", shadow);
  for (char* dir : {data_dir, shadow_dir}) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  }
  if (const char* hang = getenv("EXACTLY_POWERLOSS_HANG_AT_SYNC")) {
    hang_at_sync = strtoull(hang, nullptr, 10);
  }
  if (const char* delay = getenv("EXACTLY_POWERLOSS_SYNC_DELAY_MS")) {
    sync_delay_ms = strtoull(delay, nullptr, 10);
  }
  snprintf(parent_dir, sizeof(parent_dir), "%s", data_dir);
  if (char* slash = strrchr(parent_dir, '/')) *(slash == parent_dir ? slash + 1 : slash) = '\0';
  if (mkdir(shadow_dir, 0755) != 0 && errno != EEXIST) Die("mkdir shadow dir");
  struct stat st;
  if (stat(data_dir, &st) != 0 && stat(ShadowPath("dirents").c_str(), &st) != 0) {
    // The server will create the data dir: its name is durable only once the
    // parent is fsynced.
    int marker =
        R().open(ShadowPath("datadir-absent").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (marker < 0) Die("create the datadir-absent marker");
    R().close(marker);
  }
  SeedShadow();
  pthread_atfork(BeforeFork, AfterFork, AfterFork);
  enabled = true;
}

mode_t ModeArg(int flags, va_list args) {
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    return static_cast<mode_t>(va_arg(args, int));
  }
  return 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArg(flags, args);
  va_end(args);
  return OpenCommon(AT_FDCWD, path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArg(flags, args);
  va_end(args);
  return OpenCommon(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArg(flags, args);
  va_end(args);
  return OpenCommon(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArg(flags, args);
  va_end(args);
  return OpenCommon(dirfd, path, flags, mode);
}

int creat(const char* path, mode_t mode) {
  return OpenCommon(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

ssize_t write(int fd, const void* data, size_t size) {
  if (!enabled || !Tracked(fd)) return R().write(fd, data, size);
  ssize_t n = R().write(fd, data, size);
  if (n > 0) {
    const int saved = errno;
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (end >= n) MarkDirty(fd, static_cast<uint64_t>(end - n), static_cast<uint64_t>(n));
    errno = saved;
  }
  return n;
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  if (!enabled || !Tracked(fd)) return R().pwrite(fd, data, size, offset);
  ssize_t n = R().pwrite(fd, data, size, offset);
  if (n > 0) {
    const int saved = errno;
    MarkDirty(fd, static_cast<uint64_t>(offset), static_cast<uint64_t>(n));
    errno = saved;
  }
  return n;
}

ssize_t pwrite64(int fd, const void* data, size_t size, off_t offset) {
  return pwrite(fd, data, size, offset);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
  int result = R().fallocate(fd, mode, offset, length);
  if (result == 0 && enabled && Tracked(fd) &&
      (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0) {
    MarkDirty(fd, static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  }
  return result;
}

int fallocate64(int fd, int mode, off_t offset, off_t length) {
  return fallocate(fd, mode, offset, length);
}

int ftruncate(int fd, off_t length) {
  int result = R().ftruncate(fd, length);
  if (result == 0 && enabled && Tracked(fd)) {
    std::lock_guard<std::mutex> guard(mutex);
    if (fds[fd].kind == kFile) MarkTruncated(fds[fd].id, static_cast<uint64_t>(length));
  }
  return result;
}

int ftruncate64(int fd, off_t length) { return ftruncate(fd, length); }

int fsync(int fd) { return SyncCommon(fd, R().fsync); }

int fdatasync(int fd) { return SyncCommon(fd, R().fdatasync); }

int close(int fd) {
  Untrack(fd);
  return R().close(fd);
}

}  // extern "C"
