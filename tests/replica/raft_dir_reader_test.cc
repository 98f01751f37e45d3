// The offline reader of a raft log dir, on a real one: a one-voter RaftNode (C-Raft's
// own libuv backend, real files) writes a log with snapshots and several segments
// once; each test reads a copy of it, intact or damaged (a byte flipped, a segment
// cut short or dropped, a metadata file or snapshot meta broken, the last segment
// turned back into an open one) and checks what the reader reports.
#include "replica/raft_dir_reader.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "replica/raft_node.h"
#include "support/free_ports.h"
#include "support/temp_dir.h"

namespace exactly::replica {
namespace {

using exactly::testing::FreePorts;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Keeps a count of what it applied; its snapshot is that count, padded to 8 bytes.
class CountingMachine : public StateMachine {
 public:
  base::Status Apply(std::uint64_t, std::string_view) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++applied_;
    return base::Status::Ok();
  }
  base::Result<std::string> TakeSnapshot() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return "count=" + std::to_string(applied_) + std::string(8, '.');
  }
  base::Status RestoreSnapshot(std::string_view) override { return base::Status::Ok(); }

 private:
  std::mutex mutex_;
  std::uint64_t applied_ = 0;
};

// One life of a one-voter node on `dir`: waits to lead, proposes `count` entries one
// after the other (sizes vary so batches differ), stops cleanly (which closes the
// open segment into a closed one).
void RunNode(const std::string& dir, int port, int count, int first) {
  RaftNodeOptions options;
  options.id = 1;
  options.raft_address = "127.0.0.1:" + std::to_string(port);
  options.dir = dir;
  Peer self;
  self.id = 1;
  self.raft_address = options.raft_address;
  options.voters = {self};
  options.election_timeout_ms = 200;
  options.heartbeat_timeout_ms = 20;
  options.snapshot_threshold = 100;
  options.snapshot_trailing = kMinSnapshotTrailing;
  CountingMachine machine;
  auto node = RaftNode::Start(options, &machine);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while ((*node)->status().role != Role::kLeader) {
    ASSERT_LT(Clock::now(), deadline) << "the single voter never led";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int i = first; i < first + count; ++i) {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    ProposeOutcome outcome = ProposeOutcome::kRefused;
    (*node)->Propose("entry " + std::to_string(i) + std::string(static_cast<size_t>(i % 23), 'x'),
                     [&](const ProposeResult& result) {
                       std::lock_guard<std::mutex> lock(mutex);
                       outcome = result.outcome;
                       done = true;
                       cv.notify_all();
                     });
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_until(lock, deadline, [&] { return done; }));
    ASSERT_EQ(outcome, ProposeOutcome::kApplied);
  }
  (*node)->Stop();
}

// Everything a read delivered.
class Recorder : public RaftDirVisitor {
 public:
  base::Status OnSnapshot(const RaftSnapshotFile& snapshot, std::string_view data) override {
    snapshot_name = snapshot.name;
    snapshot_data = std::string(data);
    EXPECT_TRUE(indexes.empty()) << "the snapshot comes before every entry";
    return base::Status::Ok();
  }
  base::Status OnEntry(uint64_t index, uint64_t, RaftEntryType type, std::string_view data,
                       const RaftEntryPlace& place) override {
    indexes.push_back(index);
    types.push_back(type);
    EXPECT_NE(place.file, nullptr);
    if (type == RaftEntryType::kCommand) commands.emplace_back(data);
    return base::Status::Ok();
  }
  std::string snapshot_name;
  std::string snapshot_data;
  std::vector<uint64_t> indexes;
  std::vector<RaftEntryType> types;
  std::vector<std::string> commands;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

uint64_t Get64(const std::string& bytes, uint64_t at) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

void Put64(std::string* bytes, uint64_t at, uint64_t value) {
  for (int i = 0; i < 8; ++i) (*bytes)[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Where each batch of a segment starts and its header's size (from the layout in
// raft_dir_reader.h).
struct BatchAt {
  uint64_t offset = 0;
  uint64_t header_bytes = 0;  // n and the entry headers
  uint64_t end = 0;
};

std::vector<BatchAt> Batches(const std::string& bytes) {
  std::vector<BatchAt> out;
  uint64_t at = 8;
  while (at + 16 <= bytes.size()) {
    const uint64_t n = Get64(bytes, at + 8);
    if (n == 0) break;
    BatchAt batch;
    batch.offset = at;
    batch.header_bytes = 8 + 16 * n;
    uint64_t data = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t entry = at + 16 + 16 * i;
      data += static_cast<uint32_t>(Get64(bytes, entry + 8) >> 32);
    }
    batch.end = at + 8 + batch.header_bytes + data;
    out.push_back(batch);
    at = batch.end;
  }
  return out;
}

class RaftDirReaderTest : public ::testing::Test {
 protected:
  // Three lives of the node: snapshots at about 100 and 200, then two restarts, each
  // closing a segment of its own after the newest snapshot.
  static void SetUpTestSuite() {
    source_ = new testing::TempDir();  // NOLINT: the suite's, freed in TearDownTestSuite
    const int port = FreePorts(1)[0];
    RunNode(source_->path(), port, 250, 0);
    RunNode(source_->path(), port, 20, 250);
    RunNode(source_->path(), port, 20, 270);
  }
  static void TearDownTestSuite() {
    delete source_;  // NOLINT
    source_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(source_, nullptr);
    for (const auto& entry : fs::directory_iterator(source_->path())) {
      fs::copy_file(entry.path(), fs::path(dir_.path()) / entry.path().filename());
    }
  }

  std::string Path(const std::string& name) const { return dir_.File(name); }

  // The closed segments, oldest first.
  std::vector<std::string> Closed() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      const std::string name = entry.path().filename().string();
      if (name.size() == 33 && name[16] == '-') names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::vector<std::string> Snapshots() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("snapshot-", 0) == 0 && name.find(".meta") == std::string::npos) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return std::stoull(a.substr(a.find('-', 9) + 1)) < std::stoull(b.substr(b.find('-', 9) + 1));
    });
    return names;
  }

  base::Result<RaftDirReport> Read() {
    recorder_ = Recorder();
    return ReadRaftDir(dir_.path(), &recorder_);
  }

  void FlipByte(const std::string& name, uint64_t offset) {
    std::string bytes = ReadBytes(Path(name));
    ASSERT_LT(offset, bytes.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x20);
    WriteBytes(Path(name), bytes);
  }

  // Expects Corruption whose message names `file` and holds `words`.
  void ExpectCorrupt(const std::string& file, const std::string& words) {
    auto report = Read();
    ASSERT_FALSE(report.ok()) << "damage in " << file << " went unreported";
    EXPECT_EQ(report.status().code(), base::StatusCode::kCorruption) << report.status().ToString();
    EXPECT_NE(report.status().message().find(file), std::string::npos)
        << report.status().ToString();
    EXPECT_NE(report.status().message().find(words), std::string::npos)
        << report.status().ToString();
  }

  static testing::TempDir* source_;
  testing::TempDir dir_;
  Recorder recorder_;
};

testing::TempDir* RaftDirReaderTest::source_ = nullptr;

TEST_F(RaftDirReaderTest, ReadsTheRealLogWhole) {
  auto report = Read();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->pristine);
  EXPECT_GE(report->metadata.term, 1u);
  ASSERT_TRUE(report->snapshot.has_value());
  EXPECT_EQ(report->snapshot->name, Snapshots().back());
  EXPECT_GE(report->snapshot->index, 200u);
  EXPECT_EQ(recorder_.snapshot_name, report->snapshot->name);
  EXPECT_EQ(recorder_.snapshot_data.rfind("count=", 0), 0u);
  ASSERT_TRUE(report->configuration.has_value());
  ASSERT_EQ(report->configuration->servers.size(), 1u);
  EXPECT_EQ(report->configuration->servers[0].id, 1u);
  EXPECT_EQ(report->configuration->servers[0].role, 1);  // voter

  // Every entry from the first on disk to the last, in order, none missing.
  ASSERT_FALSE(recorder_.indexes.empty());
  EXPECT_EQ(recorder_.indexes.front(), report->first_index);
  for (size_t i = 1; i < recorder_.indexes.size(); ++i) {
    ASSERT_EQ(recorder_.indexes[i], recorder_.indexes[i - 1] + 1);
  }
  EXPECT_EQ(recorder_.indexes.back(), report->last_index);
  EXPECT_LE(report->first_index, report->snapshot->index);  // the trailing entries
  // 290 proposals, each a command entry; the last 20 are the last commands.
  EXPECT_EQ(recorder_.commands.size(), report->commands);
  EXPECT_EQ(report->changes, report->first_index == 1 ? 1u : 0u);  // the bootstrap
  EXPECT_GE(report->segments.size(), 3u);
  ASSERT_FALSE(recorder_.commands.empty());
  EXPECT_NE(recorder_.commands.back().find("entry 289"), std::string::npos);
  EXPECT_EQ(report->torn_bytes, 0u);
}

TEST_F(RaftDirReaderTest, PristineDirIsNoLogAndNoError) {
  testing::TempDir empty;
  auto report = ReadRaftDir(empty.path(), &recorder_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->pristine);
  EXPECT_FALSE(LooksLikeRaftDir(empty.path()));
  EXPECT_TRUE(LooksLikeRaftDir(dir_.path()));
}

TEST_F(RaftDirReaderTest, FlippedDataByteInAClosedSegment) {
  const std::string segment = Closed().back();
  const std::string bytes = ReadBytes(Path(segment));
  const BatchAt batch = Batches(bytes).front();
  FlipByte(segment, batch.offset + 8 + batch.header_bytes + 3);
  ExpectCorrupt(segment, "at byte " + std::to_string(batch.offset) +
                             " (entries batch 1): data checksum mismatch");
}

TEST_F(RaftDirReaderTest, FlippedHeaderByteInAClosedSegment) {
  const std::string segment = Closed()[Closed().size() - 2];
  const std::vector<BatchAt> batches = Batches(ReadBytes(Path(segment)));
  ASSERT_GE(batches.size(), 2u);
  FlipByte(segment, batches[1].offset + 16);  // the first entry's term
  ExpectCorrupt(segment, "(entries batch 2): header checksum mismatch");
}

TEST_F(RaftDirReaderTest, FlippedChecksumByte) {
  const std::string segment = Closed().back();
  FlipByte(segment, 8);  // the first batch's header checksum itself
  ExpectCorrupt(segment, "header checksum mismatch");
}

TEST_F(RaftDirReaderTest, TruncatedClosedSegment) {
  const std::string segment = Closed().back();
  std::string bytes = ReadBytes(Path(segment));
  bytes.resize(bytes.size() - 5);
  WriteBytes(Path(segment), bytes);
  ExpectCorrupt(segment, "bytes left");
}

TEST_F(RaftDirReaderTest, SegmentCutAtABatchBoundaryHasTooFewEntries) {
  const std::string segment = Closed().back();
  std::string bytes = ReadBytes(Path(segment));
  const std::vector<BatchAt> batches = Batches(bytes);
  ASSERT_GE(batches.size(), 2u);
  bytes.resize(batches.back().offset);
  WriteBytes(Path(segment), bytes);
  ExpectCorrupt(segment, "entries, its name says");
}

TEST_F(RaftDirReaderTest, DroppedSegmentAfterTheSnapshot) {
  auto intact = Read();
  ASSERT_TRUE(intact.ok());
  const std::vector<std::string> closed = Closed();
  // The one before the newest starts after the snapshot (the last two lives' segments).
  const std::string dropped = closed[closed.size() - 2];
  ASSERT_GT(std::stoull(dropped.substr(0, 16)), intact->snapshot->index);
  fs::remove(Path(dropped));
  ExpectCorrupt(closed.back(), "are missing");
}

TEST_F(RaftDirReaderTest, DroppedSegmentHoldingTheEntryAfterTheSnapshot) {
  auto intact = Read();
  ASSERT_TRUE(intact.ok());
  const uint64_t next = intact->snapshot->index + 1;
  const std::vector<std::string> closed = Closed();
  size_t target = closed.size();
  for (size_t i = 0; i < closed.size(); ++i) {
    if (std::stoull(closed[i].substr(0, 16)) <= next && next <= std::stoull(closed[i].substr(17))) {
      target = i;
    }
  }
  ASSERT_LT(target + 1, closed.size()) << "the fixture has segments after the snapshot";
  fs::remove(Path(closed[target]));
  ExpectCorrupt(closed[target + 1], "are missing");
}

// The node falls back to the older snapshot when the newest one's meta is damaged;
// the reader does what the node would: use it if the segments reach back to it,
// report the entries missing between them otherwise.
TEST_F(RaftDirReaderTest, DamagedNewestSnapshotMetaFallsBackToTheOlder) {
  auto intact = Read();
  ASSERT_TRUE(intact.ok());
  const std::vector<std::string> snapshots = Snapshots();
  ASSERT_EQ(snapshots.back(), intact->snapshot->name);
  FlipByte(snapshots.back() + ".meta", 40);  // inside the configuration
  auto report = Read();
  if (snapshots.size() == 1) {
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("no snapshot"), std::string::npos);
    return;
  }
  const std::string older = snapshots[snapshots.size() - 2];
  const uint64_t older_index = std::stoull(older.substr(older.find('-', 9) + 1));
  if (std::stoull(Closed().front().substr(0, 16)) > older_index + 1) {
    // Compaction already removed the entries between it and the segments.
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("starts past the snapshot " + older),
              std::string::npos)
        << report.status().ToString();
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->snapshot->name, older);
  EXPECT_EQ(report->last_index, intact->last_index);
  bool noted = false;
  for (const std::string& note : report->notes) {
    noted |= note.find(snapshots.back()) != std::string::npos &&
             note.find("checksum mismatch") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST_F(RaftDirReaderTest, NoSnapshotMetaVerifies) {
  for (const std::string& snapshot : Snapshots()) FlipByte(snapshot + ".meta", 8);
  auto report = Read();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("no snapshot"), std::string::npos)
      << report.status().ToString();
}

TEST_F(RaftDirReaderTest, MetadataChecks) {
  const std::string name = ReadBytes(Path("metadata1")).size() == 32 ? "metadata1" : "metadata2";
  std::string bytes = ReadBytes(Path(name));
  const std::string intact = bytes;

  Put64(&bytes, 8, Get64(bytes, 8) + 1);  // a version of the other file's parity
  WriteBytes(Path(name), bytes);
  ExpectCorrupt(name, "belongs in metadata");

  bytes = intact;
  Put64(&bytes, 0, 7);
  WriteBytes(Path(name), bytes);
  ExpectCorrupt(name, "format 7");

  WriteBytes(Path(name), intact + "x");
  ExpectCorrupt(name, "33 bytes");
  WriteBytes(Path(name), intact);
}

TEST_F(RaftDirReaderTest, MetadataTermBelowTheLogIsCorrupt) {
  for (const std::string name : {"metadata1", "metadata2"}) {
    std::string bytes = ReadBytes(Path(name));
    if (bytes.size() != 32) continue;  // a single voter writes metadata1 only
    Put64(&bytes, 16, 0);
    WriteBytes(Path(name), bytes);
  }
  auto report = Read();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("above the metadata's term"), std::string::npos)
      << report.status().ToString();
}

// A node that voted writes the next version into the other file.
TEST_F(RaftDirReaderTest, MetadataPairPicksTheNewerAndChecksTheirVersions) {
  std::string bytes = ReadBytes(Path("metadata1"));
  ASSERT_EQ(Get64(bytes, 8), 1u) << "a single voter writes its term once";
  Put64(&bytes, 8, 2);
  Put64(&bytes, 24, 1);  // voted for 1
  WriteBytes(Path("metadata2"), bytes);
  auto report = Read();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->metadata.voted_for, 1u);
  EXPECT_EQ(report->metadata.version2, 2u);

  Put64(&bytes, 8, 4);
  WriteBytes(Path("metadata2"), bytes);
  ExpectCorrupt("metadata2", "raises the version by one");

  // A write the crash cut short is what the node removes at start-up.
  WriteBytes(Path("metadata2"), bytes.substr(0, 12));
  report = Read();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->metadata.version2, 0u);
  EXPECT_EQ(report->metadata.version1, 1u);
  ASSERT_FALSE(report->notes.empty());
  EXPECT_NE(report->notes.front().find("torn write"), std::string::npos);
}

TEST_F(RaftDirReaderTest, MissingMetadataWithALogIsCorrupt) {
  fs::remove(Path("metadata1"));
  fs::remove(Path("metadata2"));
  auto report = Read();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("no metadata1 or metadata2"), std::string::npos);
}

// The newest closed segment turned back into an open one, as a node killed before
// its clean stop leaves it: the same bytes followed by preallocated zeros.
class OpenSegmentTest : public RaftDirReaderTest {
 protected:
  void SetUp() override {
    RaftDirReaderTest::SetUp();
    auto intact = Read();
    ASSERT_TRUE(intact.ok());
    last_index_ = intact->last_index;
    recorder_ = Recorder();
    const std::string last = Closed().back();
    bytes_ = ReadBytes(Path(last));
    batches_ = Batches(bytes_);
    ASSERT_GE(batches_.size(), 3u);
    fs::remove(Path(last));
    WriteBytes(Path("open-7"), bytes_ + std::string(64 * 1024, '\0'));
    WriteBytes(Path("open-8"), std::string(64 * 1024, '\0'));  // preallocated, unused
  }
  uint64_t last_index_ = 0;
  std::string bytes_;
  std::vector<BatchAt> batches_;
};

TEST_F(OpenSegmentTest, ReadsTheSameEntries) {
  auto report = Read();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->last_index, last_index_);
  EXPECT_EQ(report->torn_bytes, 0u);
}

TEST_F(OpenSegmentTest, DamagedLastBatchIsATornTail) {
  const BatchAt last = batches_.back();
  FlipByte("open-7", last.end - 1);
  auto report = Read();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->torn_file, "open-7");
  EXPECT_EQ(report->torn_bytes, last.end - last.offset);
  EXPECT_LT(report->last_index, last_index_);
}

TEST_F(OpenSegmentTest, DamagedMiddleBatchIsCorrupt) {
  FlipByte("open-7", batches_[1].end - 1);
  ExpectCorrupt("open-7", "data checksum mismatch; valid-looking data follows");
}

TEST_F(OpenSegmentTest, DamageBeforeAnotherOpenSegmentWithDataIsCorrupt) {
  FlipByte("open-7", batches_.back().end - 1);
  std::string later = std::string(64 * 1024, '\0');
  later[100] = 1;
  WriteBytes(Path("open-8"), later);
  ExpectCorrupt("open-7", "valid-looking data follows");
}

TEST_F(OpenSegmentTest, OpenSegmentCutShortIsCorrupt) {
  WriteBytes(Path("open-7"), bytes_.substr(0, batches_.back().end - 4));
  ExpectCorrupt("open-7", "cut short");
}

TEST(RaftCrc32Test, MatchesTheNonReflectedCrc32) {
  // CRC-32 with polynomial 0x04C11DB7, MSB first, init 0, no final xor ("123456789").
  EXPECT_EQ(RaftCrc32("123456789"), 0x89A1897Fu);
  EXPECT_EQ(RaftCrc32(""), 0u);
  EXPECT_EQ(RaftCrc32("6789", RaftCrc32("12345")), RaftCrc32("123456789"));
}

}  // namespace
}  // namespace exactly::replica
