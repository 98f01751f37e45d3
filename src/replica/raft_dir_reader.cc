// Offline reading and verification of a C-Raft 0.22.1 libuv log; see raft_dir_reader.h.
#include "replica/raft_dir_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <utility>

namespace exactly::replica {
namespace {

constexpr uint64_t kDiskFormat = 1;    // UV__DISK_FORMAT
constexpr size_t kMetadataBytes = 32;  // format, version, term, vote
constexpr size_t kBatchPreamble = 8;   // the two checksums
constexpr size_t kEntryHeaderBytes = 16;
// C-Raft's own bound on a batch's entry count (uv_segment.c: a segment's maximum
// size over the smallest entry), which keeps a damaged count from sizing anything.
constexpr uint64_t kMaxBatchEntries = (8u << 20) / 32;
// uv_snapshot.c's bound on a snapshot meta's configuration.
constexpr uint64_t kMaxConfigurationBytes = 1u << 20;
constexpr uint8_t kConfigurationFormat = 1;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i << 24;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint64_t Get64(const char* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return value;
}

uint32_t Get32(const char* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return value;
}

std::string Num(uint64_t value) { return std::to_string(value); }

// The whole of `path`; NotFound if it does not exist.
base::Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return base::Status::NotFound(path + " does not exist");
    return base::Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string bytes;
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      close(fd);
      return base::Status::IoError("cannot read " + path + ": " + why);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return bytes;
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

// Parses a decimal number that is all of `text`.
std::optional<uint64_t> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// "a-b-c..." split on '-' into exactly `n` numbers.
std::optional<std::vector<uint64_t>> ParseNumbers(std::string_view text, size_t n) {
  std::vector<uint64_t> out;
  while (true) {
    const size_t dash = text.find('-');
    auto number = ParseNumber(text.substr(0, dash));
    if (!number) return std::nullopt;
    out.push_back(*number);
    if (dash == std::string_view::npos) break;
    text.remove_prefix(dash + 1);
  }
  if (out.size() != n) return std::nullopt;
  return out;
}

struct Listing {
  bool metadata1 = false;
  bool metadata2 = false;
  std::vector<RaftSegmentFile> closed;
  std::vector<std::pair<uint64_t, std::string>> open;  // counter, name
  std::vector<RaftSnapshotFile> snapshots;             // with both files present
  std::vector<std::string> others;
};

base::Result<Listing> List(const std::string& dir) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return base::Status::NotFound(dir + " does not exist");
    return base::Status::IoError("cannot list " + dir + ": " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (const dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(handle);
  std::sort(names.begin(), names.end());

  Listing listing;
  std::map<std::string, bool> snapshot_data;  // data file names seen
  std::vector<std::string> metas;
  const std::string_view kOpen = "open-";
  const std::string_view kSnapshot = "snapshot-";
  const std::string_view kMeta = ".meta";
  for (const std::string& name : names) {
    const std::string_view view = name;
    if (name == "metadata1") {
      listing.metadata1 = true;
    } else if (name == "metadata2") {
      listing.metadata2 = true;
    } else if (view.substr(0, kOpen.size()) == kOpen) {
      auto counter = ParseNumber(view.substr(kOpen.size()));
      if (counter) {
        listing.open.emplace_back(*counter, name);
      } else {
        listing.others.push_back(name);
      }
    } else if (view.substr(0, kSnapshot.size()) == kSnapshot) {
      const bool meta =
          view.size() > kMeta.size() && view.substr(view.size() - kMeta.size()) == kMeta;
      std::string_view rest = view.substr(kSnapshot.size());
      if (meta) rest.remove_suffix(kMeta.size());
      if (!ParseNumbers(rest, 3)) {
        listing.others.push_back(name);
      } else if (meta) {
        metas.push_back(name);
      } else {
        snapshot_data[name] = true;
      }
    } else if (auto range = ParseNumbers(view, 2); range && view.find('-') == 16) {
      RaftSegmentFile segment;
      segment.name = name;
      segment.first_index = (*range)[0];
      segment.last_index = (*range)[1];
      listing.closed.push_back(std::move(segment));
    } else {
      listing.others.push_back(name);
    }
  }
  for (const std::string& meta : metas) {
    std::string data = meta.substr(0, meta.size() - kMeta.size());
    if (snapshot_data.erase(data) == 0) {
      // The library ignores a meta without its data (a snapshot being written).
      listing.others.push_back(meta + " (no " + data + ")");
      continue;
    }
    auto numbers = ParseNumbers(std::string_view(data).substr(kSnapshot.size()), 3);
    RaftSnapshotFile snapshot;
    snapshot.name = data;
    snapshot.term = (*numbers)[0];
    snapshot.index = (*numbers)[1];
    snapshot.timestamp_ms = (*numbers)[2];
    listing.snapshots.push_back(std::move(snapshot));
  }
  for (const auto& [data, unused] : snapshot_data) listing.others.push_back(data + " (no .meta)");
  std::sort(listing.closed.begin(), listing.closed.end(),
            [](const RaftSegmentFile& a, const RaftSegmentFile& b) {
              return a.first_index < b.first_index;
            });
  std::sort(listing.open.begin(), listing.open.end());
  std::sort(listing.snapshots.begin(), listing.snapshots.end(),
            [](const RaftSnapshotFile& a, const RaftSnapshotFile& b) {
              if (a.term != b.term) return a.term < b.term;
              if (a.index != b.index) return a.index < b.index;
              return a.timestamp_ms < b.timestamp_ms;
            });
  return listing;
}

struct MetadataFile {
  uint64_t version = 0;  // 0: absent, or torn short
  uint64_t term = 0;
  uint64_t voted_for = 0;
};

// One metadata file (the layout in the header).
base::Result<MetadataFile> ReadMetadataFile(const std::string& dir, const std::string& name,
                                            RaftDirReport* report) {
  const std::string path = dir + "/" + name;
  auto bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  MetadataFile file;
  if (bytes->size() < kMetadataBytes) {
    // uv_metadata.c: a short file is a write the crash cut; it is removed at start-up.
    report->notes.push_back(name + " has " + Num(bytes->size()) + " bytes instead of " +
                            Num(kMetadataBytes) +
                            ": a torn write, ignored (removed at the next start)");
    return file;
  }
  if (bytes->size() > kMetadataBytes) {
    return base::Status::Corruption(path + " has " + Num(bytes->size()) + " bytes instead of " +
                                    Num(kMetadataBytes));
  }
  const char* p = bytes->data();
  if (Get64(p) != kDiskFormat) {
    return base::Status::Corruption(path + " at byte 0: format " + Num(Get64(p)) + ", not " +
                                    Num(kDiskFormat));
  }
  file.version = Get64(p + 8);
  file.term = Get64(p + 16);
  file.voted_for = Get64(p + 24);
  if (file.version == 0) return base::Status::Corruption(path + " at byte 8: version 0");
  const bool odd = file.version % 2 == 1;
  if (odd != (name == "metadata1")) {
    return base::Status::Corruption(path + " at byte 8: version " + Num(file.version) +
                                    " belongs in metadata" + (odd ? "1" : "2") +
                                    " (odd versions go to metadata1, even ones to metadata2)");
  }
  return file;
}

base::Status ReadMetadata(const std::string& dir, const Listing& listing, RaftDirReport* report) {
  MetadataFile files[2];
  for (int i = 0; i < 2; ++i) {
    if (!(i == 0 ? listing.metadata1 : listing.metadata2)) continue;
    auto file = ReadMetadataFile(dir, i == 0 ? "metadata1" : "metadata2", report);
    if (!file.ok()) return file.status();
    files[i] = *file;
  }
  const uint64_t v1 = files[0].version;
  const uint64_t v2 = files[1].version;
  RaftMetadata& metadata = report->metadata;
  metadata.version1 = v1;
  metadata.version2 = v2;
  if (v1 == 0 && v2 == 0) {
    report->pristine = true;
    return base::Status::Ok();
  }
  if (v1 != 0 && v2 != 0 && (v1 > v2 ? v1 - v2 : v2 - v1) != 1) {
    // Each write raises the version by one and alternates files, so the pair is
    // always two neighbours.
    return base::Status::Corruption(dir + "/metadata1 is at version " + Num(v1) + " and " + dir +
                                    "/metadata2 at version " + Num(v2) +
                                    ": each write raises the version by one, alternating files");
  }
  const MetadataFile& current = v1 > v2 ? files[0] : files[1];
  metadata.term = current.term;
  metadata.voted_for = current.voted_for;
  return base::Status::Ok();
}

// Decodes a configuration (the layout in the header) from `bytes`; `where` names it.
base::Result<RaftConfiguration> DecodeConfiguration(std::string_view bytes,
                                                    const std::string& where) {
  auto bad = [&](const std::string& why) {
    return base::Status::Corruption(where + ": configuration " + why);
  };
  if (bytes.size() < 9) return bad("is " + Num(bytes.size()) + " bytes long");
  if (static_cast<uint8_t>(bytes[0]) != kConfigurationFormat) {
    return bad("has format " + Num(static_cast<uint8_t>(bytes[0])));
  }
  const uint64_t n = Get64(bytes.data() + 1);
  size_t at = 9;
  RaftConfiguration configuration;
  if (n == 0 || n > bytes.size()) return bad("has " + Num(n) + " servers");
  for (uint64_t i = 0; i < n; ++i) {
    RaftServerEntry server;
    if (at + 8 > bytes.size()) return bad("ends inside server " + Num(i + 1));
    server.id = Get64(bytes.data() + at);
    at += 8;
    const size_t nul = bytes.find('\0', at);
    if (nul == std::string_view::npos || nul + 1 >= bytes.size()) {
      return bad("ends inside server " + Num(server.id) + "'s address");
    }
    server.address = std::string(bytes.substr(at, nul - at));
    at = nul + 1;
    server.role = static_cast<uint8_t>(bytes[at]);
    at += 1;
    if (server.id == 0 || server.role > 2) {
      return bad("names server " + Num(server.id) + " with role " + Num(server.role));
    }
    configuration.servers.push_back(std::move(server));
  }
  if (!AllZero(bytes.substr(at))) return bad("has bytes after its last server");
  return configuration;
}

// Loads the snapshot meta of `snapshot` (its configuration), verifying its checksum.
base::Status LoadSnapshotMeta(const std::string& dir, RaftSnapshotFile* snapshot) {
  const std::string name = snapshot->name + ".meta";
  const std::string path = dir + "/" + name;
  auto bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = *bytes;
  if (b.size() < 32) {
    return base::Status::Corruption(path + " has " + Num(b.size()) +
                                    " bytes, fewer than its header");
  }
  if (Get64(b.data()) != kDiskFormat) {
    return base::Status::Corruption(path + " at byte 0: format " + Num(Get64(b.data())));
  }
  const uint32_t stored = static_cast<uint32_t>(Get64(b.data() + 8));
  const uint64_t configuration_index = Get64(b.data() + 16);
  const uint64_t length = Get64(b.data() + 24);
  if (length == 0 || length > kMaxConfigurationBytes || 32 + length > b.size()) {
    return base::Status::Corruption(path + " at byte 24: configuration length " + Num(length) +
                                    " in a file of " + Num(b.size()) + " bytes");
  }
  const std::string_view configuration(b.data() + 32, length);
  const uint32_t computed =
      RaftCrc32(configuration, RaftCrc32(std::string_view(b.data() + 16, 16)));
  if (stored != computed) return base::Status::Corruption(path + " at byte 8: checksum mismatch");
  if (32 + length != b.size()) {
    return base::Status::Corruption(path + " at byte " + Num(32 + length) + ": " +
                                    Num(b.size() - 32 - length) + " bytes after the configuration");
  }
  auto decoded = DecodeConfiguration(configuration, path + " at byte 32");
  if (!decoded.ok()) return decoded.status();
  snapshot->configuration = std::move(decoded).value();
  snapshot->configuration.index = configuration_index;
  if (configuration_index == 0 || configuration_index > snapshot->index) {
    return base::Status::Corruption(path + " at byte 16: configuration index " +
                                    Num(configuration_index) + " for a snapshot at index " +
                                    Num(snapshot->index));
  }
  return base::Status::Ok();
}

// A batch that did not verify, and whether the bytes simply ran out (a file cut
// short: the library fails to start) or were wrong (the library calls it corrupt).
struct BatchProblem {
  bool short_read = false;
  std::optional<uint64_t> extent;  // bytes the batch claims, when its header verified
  std::string what;
};

struct ParsedEntry {
  uint64_t term = 0;
  RaftEntryType type = RaftEntryType::kCommand;
  uint64_t offset = 0;  // of its data in the file
  uint32_t length = 0;
};

// Parses the batch at `*offset` of `file`; on success appends its entries and
// advances *offset past it.
std::optional<BatchProblem> ParseBatch(std::string_view file, uint64_t* offset,
                                       std::vector<ParsedEntry>* entries) {
  const uint64_t start = *offset;
  auto short_read = [&](const std::string& what, uint64_t need) {
    BatchProblem problem;
    problem.short_read = true;
    problem.what = what + ": " + Num(file.size() - std::min<uint64_t>(file.size(), start)) +
                   " bytes left, " + Num(need) + " needed";
    return problem;
  };
  auto corrupt = [&](const std::string& what) {
    BatchProblem problem;
    problem.what = what;
    return problem;
  };
  if (start + kBatchPreamble + 8 > file.size()) return short_read("batch preamble", 16);
  const uint32_t header_crc = Get32(file.data() + start);
  const uint32_t data_crc = Get32(file.data() + start + 4);
  const uint64_t n = Get64(file.data() + start + 8);
  if (n == 0) return corrupt("entries count in preamble is zero");
  if (n > kMaxBatchEntries) return corrupt("entries count " + Num(n) + " in preamble is too high");
  const uint64_t header_bytes = 8 + kEntryHeaderBytes * n;
  if (start + kBatchPreamble + header_bytes > file.size()) {
    return short_read("batch header", kBatchPreamble + header_bytes);
  }
  const std::string_view header = file.substr(start + kBatchPreamble, header_bytes);
  if (RaftCrc32(header) != header_crc) return corrupt("header checksum mismatch");
  uint64_t data_bytes = 0;
  const size_t first = entries->size();
  for (uint64_t i = 0; i < n; ++i) {
    const char* p = header.data() + 8 + kEntryHeaderBytes * i;
    ParsedEntry entry;
    entry.term = Get64(p);
    const uint8_t type = static_cast<uint8_t>(p[8]);
    entry.length = Get32(p + 12);
    if (type < 1 || type > 3) {
      entries->resize(first);
      return corrupt("entry " + Num(i + 1) + " of the batch has type " + Num(type));
    }
    if (entry.length % 8 != 0) {
      // 0.22.1 refuses to store such entries; every one exactly writes is framed to 8.
      entries->resize(first);
      return corrupt("entry " + Num(i + 1) + " of the batch is " + Num(entry.length) +
                     " bytes, not a multiple of 8");
    }
    entry.type = static_cast<RaftEntryType>(type);
    entry.offset = start + kBatchPreamble + header_bytes + data_bytes;
    data_bytes += entry.length;
    entries->push_back(entry);
  }
  const uint64_t extent = kBatchPreamble + header_bytes + data_bytes;
  if (start + extent > file.size()) {
    entries->resize(first);
    BatchProblem problem = short_read("batch data", extent);
    problem.extent = extent;
    return problem;
  }
  if (RaftCrc32(file.substr(start + kBatchPreamble + header_bytes, data_bytes)) != data_crc) {
    entries->resize(first);
    BatchProblem problem = corrupt("data checksum mismatch");
    problem.extent = extent;
    return problem;
  }
  *offset = start + extent;
  return std::nullopt;
}

std::string BatchWhere(const std::string& path, uint64_t offset, size_t batch) {
  return path + " at byte " + Num(offset) + " (entries batch " + Num(batch) + ")";
}

class Reader {
 public:
  Reader(const std::string& dir, RaftDirVisitor* visitor) : dir_(dir), visitor_(visitor) {}

  base::Result<RaftDirReport> Read() {
    auto listing = List(dir_);
    if (!listing.ok()) return listing.status();
    EXACTLY_RETURN_IF_ERROR(ReadMetadata(dir_, *listing, &report_));
    for (const std::string& other : listing->others) {
      report_.notes.push_back("ignored " + other + ": not a file the raft log reads");
    }
    if (report_.pristine) {
      if (!listing->closed.empty() || !listing->open.empty() || !listing->snapshots.empty()) {
        return base::Status::Corruption(dir_ +
                                        " has segments or snapshots but no metadata1 or "
                                        "metadata2: the node's term and vote are lost");
      }
      report_.notes.push_back(dir_ + " is a pristine raft log (the node never started)");
      return report_;
    }
    EXACTLY_RETURN_IF_ERROR(PickSnapshot(*listing));
    EXACTLY_RETURN_IF_ERROR(PickSegments(*listing));
    EXACTLY_RETURN_IF_ERROR(LoadSegments());
    EXACTLY_RETURN_IF_ERROR(CheckEnd());
    return std::move(report_);
  }

 private:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // The newest snapshot whose meta verifies, as uvLoadSnapshotAndEntries picks it.
  base::Status PickSnapshot(const Listing& listing) {
    for (auto it = listing.snapshots.rbegin(); it != listing.snapshots.rend(); ++it) {
      RaftSnapshotFile snapshot = *it;
      base::Status meta = LoadSnapshotMeta(dir_, &snapshot);
      if (!meta.ok()) {
        if (meta.code() != base::StatusCode::kCorruption) return meta;
        report_.notes.push_back("skipped " + snapshot.name + ": " + meta.message() +
                                "; the node falls back to an older snapshot");
        continue;
      }
      auto data = ReadWholeFile(Path(snapshot.name));
      if (!data.ok()) return data.status();
      if (data->empty()) {
        // The library lists an empty data file as no snapshot at all.
        report_.notes.push_back("skipped " + snapshot.name + ": empty (an unfinished write)");
        continue;
      }
      snapshot.data_bytes = data->size();
      if (snapshot.term > report_.metadata.term) {
        return base::Status::Corruption(Path(snapshot.name) + ": term " + Num(snapshot.term) +
                                        " is above the metadata's term " +
                                        Num(report_.metadata.term));
      }
      EXACTLY_RETURN_IF_ERROR(visitor_->OnSnapshot(snapshot, *data));
      report_.configuration = snapshot.configuration;
      report_.snapshot = std::move(snapshot);
      return base::Status::Ok();
    }
    if (!listing.snapshots.empty()) {
      return base::Status::Corruption("no snapshot in " + dir_ + " verifies (" +
                                      Num(listing.snapshots.size()) + " found)");
    }
    return base::Status::Ok();
  }

  // The segments the library loads (uvFilterSegments) and the index the first starts at.
  base::Status PickSegments(const Listing& listing) {
    std::vector<RaftSegmentFile> closed = listing.closed;
    for (size_t i = 0; i < closed.size(); ++i) {
      const RaftSegmentFile& segment = closed[i];
      if (segment.first_index == 0 || segment.first_index > segment.last_index) {
        return base::Status::Corruption(Path(segment.name) + ": not a range of entries");
      }
      if (i > 0 && segment.first_index <= closed[i - 1].last_index) {
        return base::Status::Corruption(Path(segment.name) + " overlaps " + closed[i - 1].name);
      }
    }
    next_index_ = 1;
    if (report_.snapshot) {
      const uint64_t snapshot_index = report_.snapshot->index;
      next_index_ = snapshot_index + 1;
      if (!closed.empty()) {
        if (closed.back().last_index < snapshot_index && listing.open.empty()) {
          report_.notes.push_back("every closed segment ends before the snapshot at index " +
                                  Num(snapshot_index) + ": the node loads none of them");
          closed.clear();
        } else {
          // The newest contiguous run of closed segments.
          size_t i = closed.size() - 1;
          while (i > 0 && closed[i - 1].last_index + 1 == closed[i].first_index) --i;
          if (closed[i].first_index > snapshot_index + 1) {
            const uint64_t missing_from =
                i > 0 ? std::max(closed[i - 1].last_index, snapshot_index) + 1 : snapshot_index + 1;
            return base::Status::Corruption(Path(closed[i].name) + " starts past the snapshot " +
                                            report_.snapshot->name + " at index " +
                                            Num(snapshot_index) + ": entries " + Num(missing_from) +
                                            ".." + Num(closed[i].first_index - 1) + " are missing");
          }
          if (i > 0) {
            report_.notes.push_back(
                "entries " + Num(closed[i - 1].last_index + 1) + ".." +
                Num(closed[i].first_index - 1) + " are missing between " + closed[i - 1].name +
                " and " + closed[i].name + "; the snapshot at index " + Num(snapshot_index) +
                " covers them, so the node loads from " + closed[i].name +
                " on (a log only loses entries from its start: a file was removed)");
            closed.erase(closed.begin(), closed.begin() + static_cast<std::ptrdiff_t>(i));
          }
          next_index_ = closed.front().first_index;
        }
      }
    }
    report_.segments = std::move(closed);
    for (const auto& [counter, name] : listing.open) {
      RaftSegmentFile segment;
      segment.name = name;
      segment.open = true;
      report_.segments.push_back(std::move(segment));
    }
    return base::Status::Ok();
  }

  base::Status LoadSegments() {
    for (size_t i = 0; i < report_.segments.size(); ++i) {
      RaftSegmentFile& segment = report_.segments[i];
      auto bytes = ReadWholeFile(Path(segment.name));
      if (!bytes.ok()) return bytes.status();
      segment.file_bytes = bytes->size();
      if (segment.open) {
        EXACTLY_RETURN_IF_ERROR(LoadOpen(i, *bytes));
      } else {
        EXACTLY_RETURN_IF_ERROR(LoadClosed(segment, *bytes));
      }
    }
    return base::Status::Ok();
  }

  base::Status LoadClosed(RaftSegmentFile& segment, const std::string& bytes) {
    const std::string path = Path(segment.name);
    if (segment.first_index != next_index_) {
      return base::Status::Corruption(path + ": first index should have been " + Num(next_index_) +
                                      ": entries " + Num(next_index_) + ".." +
                                      Num(segment.first_index - 1) + " are missing");
    }
    if (bytes.empty()) return base::Status::Corruption(path + " is empty");
    if (bytes.size() < 8 || Get64(bytes.data()) != kDiskFormat) {
      return base::Status::Corruption(path + " at byte 0: not format " + Num(kDiskFormat));
    }
    std::vector<ParsedEntry> entries;
    uint64_t offset = 8;
    size_t batch = 1;
    while (offset < bytes.size()) {
      if (auto problem = ParseBatch(bytes, &offset, &entries)) {
        return base::Status::Corruption(BatchWhere(path, offset, batch) + ": " + problem->what);
      }
      ++batch;
    }
    if (entries.empty()) return base::Status::Corruption(path + " holds no batch");
    const uint64_t expected = segment.last_index - segment.first_index + 1;
    if (entries.size() != expected) {
      return base::Status::Corruption(path + ": found " + Num(entries.size()) +
                                      " entries, its name says " + Num(expected));
    }
    return Deliver(segment, bytes, entries);
  }

  base::Status LoadOpen(size_t position, const std::string& bytes) {
    RaftSegmentFile& segment = report_.segments[position];
    const std::string path = Path(segment.name);
    if (bytes.empty()) {
      report_.notes.push_back(segment.name + " is empty (removed at the next start)");
      return base::Status::Ok();
    }
    if (bytes.size() < 8)
      return base::Status::Corruption(path + ": only " + Num(bytes.size()) + " bytes");
    const uint64_t format = Get64(bytes.data());
    if (format == 0 && AllZero(bytes)) return base::Status::Ok();  // preallocated, never written
    if (format != kDiskFormat) {
      return base::Status::Corruption(path + " at byte 0: format " + Num(format));
    }
    std::vector<ParsedEntry> entries;
    uint64_t offset = 8;
    size_t batch = 1;
    while (offset < bytes.size()) {
      auto problem = ParseBatch(bytes, &offset, &entries);
      if (!problem) {
        ++batch;
        continue;
      }
      const std::string where = BatchWhere(path, offset, batch) + ": " + problem->what;
      if (problem->short_read) {
        // uv_segment.c fails the start on a short read: the file was cut.
        return base::Status::Corruption(where + " (the file was cut short)");
      }
      const std::string_view rest = std::string_view(bytes).substr(offset);
      if (AllZero(rest)) break;  // the end of the data: preallocated zeros follow
      // The library stops here and cuts the file: fine for a torn last write (never
      // synced, so never acknowledged), a loss of acknowledged entries otherwise.
      const bool torn = problem->extent && *problem->extent <= rest.size() &&
                        AllZero(rest.substr(*problem->extent)) && !LaterOpenHasData(position);
      if (!torn) {
        return base::Status::Corruption(
            where + "; valid-looking data follows, which the node would drop at start-up");
      }
      report_.torn_bytes = *problem->extent;
      report_.torn_file = segment.name;
      report_.notes.push_back("torn tail: " + where + "; the last " + Num(*problem->extent) +
                              " bytes written (never synced, so never acknowledged) are "
                              "dropped at the next start");
      break;
    }
    if (entries.empty()) return base::Status::Ok();
    segment.first_index = next_index_;
    segment.last_index = next_index_ + entries.size() - 1;
    return Deliver(segment, bytes, entries);
  }

  // Whether an open segment after `position` holds anything but zeros.
  bool LaterOpenHasData(size_t position) const {
    for (size_t i = position + 1; i < report_.segments.size(); ++i) {
      auto bytes = ReadWholeFile(Path(report_.segments[i].name));
      if (!bytes.ok() || !AllZero(*bytes)) return true;
    }
    return false;
  }

  base::Status Deliver(RaftSegmentFile& segment, const std::string& bytes,
                       const std::vector<ParsedEntry>& entries) {
    const std::string path = Path(segment.name);
    segment.entries = entries.size();
    RaftEntryPlace place;
    place.file = &segment.name;
    for (const ParsedEntry& entry : entries) {
      const uint64_t index = next_index_++;
      place.offset = entry.offset;
      const std::string at = path + " at byte " + Num(entry.offset) + " (entry " + Num(index) + ")";
      if (entry.term == 0 || entry.term < report_.last_term) {
        return base::Status::Corruption(at + ": term " + Num(entry.term) + " after term " +
                                        Num(report_.last_term) + " (terms never decrease)");
      }
      if (entry.term > report_.metadata.term) {
        return base::Status::Corruption(at + ": term " + Num(entry.term) +
                                        " is above the metadata's term " +
                                        Num(report_.metadata.term));
      }
      if (report_.snapshot && index == report_.snapshot->index &&
          entry.term != report_.snapshot->term) {
        return base::Status::Corruption(at + ": term " + Num(entry.term) + " but the snapshot " +
                                        report_.snapshot->name + " at this index has term " +
                                        Num(report_.snapshot->term));
      }
      const std::string_view data = std::string_view(bytes).substr(entry.offset, entry.length);
      switch (entry.type) {
        case RaftEntryType::kCommand:
          ++report_.commands;
          break;
        case RaftEntryType::kBarrier:
          ++report_.barriers;
          break;
        case RaftEntryType::kChange: {
          ++report_.changes;
          auto configuration = DecodeConfiguration(data, at);
          if (!configuration.ok()) return configuration.status();
          configuration->index = index;
          report_.configuration = std::move(configuration).value();
          break;
        }
      }
      if (report_.first_index == 0) report_.first_index = index;
      report_.last_index = index;
      report_.last_term = entry.term;
      EXACTLY_RETURN_IF_ERROR(visitor_->OnEntry(index, entry.term, entry.type, data, place));
    }
    return base::Status::Ok();
  }

  base::Status CheckEnd() {
    if (!report_.snapshot) return base::Status::Ok();
    if (report_.last_index != 0 && report_.last_index < report_.snapshot->index) {
      return base::Status::Corruption("the last entry in " + dir_ + " has index " +
                                      Num(report_.last_index) + ", behind the snapshot " +
                                      report_.snapshot->name);
    }
    if (report_.last_index < report_.snapshot->index) {
      report_.last_index = report_.snapshot->index;
      report_.last_term = report_.snapshot->term;
    }
    return base::Status::Ok();
  }

  const std::string dir_;
  RaftDirVisitor* const visitor_;
  RaftDirReport report_;
  uint64_t next_index_ = 1;
};

}  // namespace

uint32_t RaftCrc32(std::string_view bytes, uint32_t crc) {
  for (char c : bytes) {
    crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ static_cast<uint8_t>(c)) & 0xffu];
  }
  return crc;
}

bool LooksLikeRaftDir(const std::string& dir) {
  struct stat st {};
  return stat((dir + "/metadata1").c_str(), &st) == 0 ||
         stat((dir + "/metadata2").c_str(), &st) == 0;
}

base::Result<RaftDirReport> ReadRaftDir(const std::string& dir, RaftDirVisitor* visitor) {
  EXACTLY_ASSERT(visitor != nullptr);
  Reader reader(dir, visitor);
  return reader.Read();
}

}  // namespace exactly::replica
