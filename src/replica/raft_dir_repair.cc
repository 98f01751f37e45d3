// RepairInterruptedInstall (see raft_dir_repair.h). The file names and the .meta
// layout are C-Raft 0.22.1's disk format (src/uv.h, src/uv_snapshot.c), read here
// the way its loader reads them.
#include "replica/raft_dir_repair.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <tuple>

#include "replica/raft_dir_reader.h"

namespace exactly::replica {
namespace {

constexpr std::uint64_t kDiskFormat = 1;                    // UV__DISK_FORMAT
constexpr std::size_t kMetaHeaderBytes = 4 * 8;             // format, crc, conf index, conf len
constexpr std::uint64_t kMaxConfigurationBytes = 1u << 20;  // UV__META_MAX_CONFIGURATION_SIZE
constexpr unsigned char kLz4Magic[4] = {0x04, 0x22, 0x4d, 0x18};

struct Segment {
  std::string name;
  std::uint64_t first = 0;
  std::uint64_t end = 0;
};

struct Snapshot {
  std::string meta;  // "snapshot-T-I-S.meta"
  std::string data;  // the same without ".meta"
  std::uint64_t term = 0;
  std::uint64_t index = 0;
  std::uint64_t timestamp = 0;
};

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

// sscanf as C-Raft matches names: the whole name must be consumed.
bool MatchClosed(const std::string& name, Segment* out) {
  unsigned long long first = 0, end = 0;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "%016llu-%016llu%n", &first, &end, &consumed) != 2 ||
      consumed != static_cast<int>(name.size())) {
    return false;
  }
  *out = Segment{name, first, end};
  return true;
}

bool MatchOpen(const std::string& name) {
  unsigned long long counter = 0;
  int consumed = 0;
  return std::sscanf(name.c_str(), "open-%llu%n", &counter, &consumed) == 1 &&
         consumed == static_cast<int>(name.size());
}

bool MatchSnapshotMeta(const std::string& name, Snapshot* out) {
  unsigned long long term = 0, index = 0, timestamp = 0;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "snapshot-%llu-%llu-%llu.meta%n", &term, &index, &timestamp,
                  &consumed) != 3 ||
      consumed != static_cast<int>(name.size())) {
    return false;
  }
  *out = Snapshot{name, name.substr(0, name.size() - 5), term, index, timestamp};
  return true;
}

std::uint64_t GetLe64(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return value;
}

// The whole file, or an error (a missing file is an error too).
base::Result<std::string> ReadAll(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::Status::IoError(ErrnoText("open " + path));
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      base::Status error = base::Status::IoError(ErrnoText("read " + path));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

base::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return base::Status::IoError(ErrnoText("open " + dir));
  int rv = ::fsync(fd);
  base::Status status =
      rv == 0 ? base::Status::Ok() : base::Status::IoError(ErrnoText("fsync " + dir));
  ::close(fd);
  return status;
}

// Whether C-Raft will load this snapshot (listed, so its data file is not empty):
// the .meta's format, sizes and checksum (uvSnapshotLoadMeta). A snapshot failing
// these makes C-Raft fall back to an older one, which needs the segments: leave them.
bool Loadable(const std::string& dir, const Snapshot& snapshot, std::string* why) {
  auto meta = ReadAll(dir + "/" + snapshot.meta);
  if (!meta.ok()) {
    *why = meta.status().ToString();
    return false;
  }
  const std::string& m = meta.value();
  if (m.size() < kMetaHeaderBytes) {
    *why = "its .meta is short";
    return false;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(m.data());
  std::uint64_t format = GetLe64(bytes);
  auto crc = static_cast<std::uint32_t>(GetLe64(bytes + 8));
  std::uint64_t configuration_len = GetLe64(bytes + 24);
  if (format != kDiskFormat || configuration_len == 0 ||
      configuration_len > kMaxConfigurationBytes ||
      m.size() - kMetaHeaderBytes < configuration_len) {
    *why = "its .meta has an unexpected header";
    return false;
  }
  std::uint32_t actual = RaftCrc32(std::string_view(m).substr(16, 16));
  actual = RaftCrc32(std::string_view(m).substr(kMetaHeaderBytes, configuration_len), actual);
  if (actual != crc) {
    *why = "its .meta fails its checksum";
    return false;
  }
  // A compressed snapshot may fail to decompress, another fallback: not judged here.
  char head[4] = {};
  int fd = ::open((dir + "/" + snapshot.data).c_str(), O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? ::read(fd, head, sizeof head) : -1;
  if (fd >= 0) ::close(fd);
  if (n == static_cast<ssize_t>(sizeof head) && std::memcmp(head, kLz4Magic, sizeof head) == 0) {
    *why = "its data is compressed";
    return false;
  }
  return true;
}

// An open segment that holds no entry: empty, or zeros only (as C-Raft allocates
// them). Anything else might hold entries, whose indexes only the loader knows.
base::Result<bool> HoldsNoEntry(const std::string& path) {
  auto bytes = ReadAll(path);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = bytes.value();
  return std::all_of(b.begin(), b.end(), [](char c) { return c == '\0'; });
}

}  // namespace

base::Result<DirRepair> RepairInterruptedInstall(const std::string& dir) {
  DirRepair repair;
  std::vector<Segment> closed;
  std::vector<std::string> open_segments;
  std::vector<Snapshot> snapshots;
  {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return base::Status::IoError(ErrnoText("open " + dir));
    for (;;) {
      errno = 0;  // readdir reports its errors through errno alone
      dirent* entry = ::readdir(d);
      if (entry == nullptr) break;
      std::string name = entry->d_name;
      Segment segment;
      Snapshot snapshot;
      if (MatchSnapshotMeta(name, &snapshot)) {
        // As UvList: only a .meta whose data file is there and not empty counts.
        struct stat st {};
        if (::stat((dir + "/" + snapshot.data).c_str(), &st) == 0 && st.st_size > 0) {
          snapshots.push_back(snapshot);
        }
      } else if (MatchClosed(name, &segment)) {
        closed.push_back(segment);
      } else if (MatchOpen(name)) {
        open_segments.push_back(name);
      }
    }
    int error = errno;
    ::closedir(d);
    if (error != 0) return base::Status::IoError("read " + dir + ": " + std::strerror(error));
  }
  if (snapshots.empty() || closed.empty() || open_segments.empty()) return repair;

  // C-Raft's order (uvSnapshotCompare): term, then index, then timestamp.
  auto newest = std::max_element(snapshots.begin(), snapshots.end(), [](auto& a, auto& b) {
    return std::tie(a.term, a.index, a.timestamp) < std::tie(b.term, b.index, b.timestamp);
  });
  std::sort(closed.begin(), closed.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });
  std::uint64_t last_on_disk = 0;
  for (const Segment& s : closed) last_on_disk = std::max(last_on_disk, s.end);
  if (last_on_disk >= newest->index) return repair;  // the log reaches the snapshot

  // The failing shape, as far as names tell. Act only if the loader will load this
  // snapshot and no open segment holds entries.
  char head[160];
  std::snprintf(head, sizeof head,
                "raft: the log on disk ends at %" PRIu64 ", behind snapshot %" PRIu64
                " (term %" PRIu64 ")",
                last_on_disk, newest->index, newest->term);
  std::string why;
  if (!Loadable(dir, *newest, &why)) {
    repair.notes.push_back(std::string(head) + ", but " + why + ": left as it is");
    return repair;
  }
  for (const std::string& name : open_segments) {
    auto empty = HoldsNoEntry(dir + "/" + name);
    if (!empty.ok()) return empty.status();
    if (!empty.value()) {
      repair.notes.push_back(std::string(head) + ", but open segment " + name +
                             " holds data: left as it is");
      return repair;
    }
  }

  const std::string aside_name =
      kSetAsidePrefix + std::to_string(newest->term) + "-" + std::to_string(newest->index);
  const std::string aside = dir + "/" + aside_name;
  if (::mkdir(aside.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::Status::IoError(ErrnoText("mkdir " + aside));
  }
  if (base::Status synced = SyncDir(dir); !synced.ok()) return synced;
  // Oldest first: whatever prefix is moved, the rest still ends behind the snapshot.
  for (const Segment& s : closed) {
    if (::rename((dir + "/" + s.name).c_str(), (aside + "/" + s.name).c_str()) != 0) {
      return base::Status::IoError(ErrnoText("rename " + s.name + " into " + aside_name));
    }
    repair.segments_set_aside++;
  }
  if (base::Status synced = SyncDir(aside); !synced.ok()) return synced;
  if (base::Status synced = SyncDir(dir); !synced.ok()) return synced;
  repair.snapshot_index = newest->index;
  char line[400];
  std::snprintf(line, sizeof line,
                "%s: a snapshot install was cut off before the segments it replaces were "
                "removed. Moved %zu closed segment(s), entries %" PRIu64 "-%" PRIu64
                ", all in the snapshot, into %s",
                head, repair.segments_set_aside, closed.front().first, last_on_disk,
                aside_name.c_str());
  repair.notes.emplace_back(line);
  return repair;
}

}  // namespace exactly::replica
