// The offline check of a replica's dir, on a real one: a one-voter ReplicatedLog (the
// replicated mode's own log, C-Raft's libuv files) is given 1200 engine batches, so
// it snapshots the engine once and keeps entries after it; the check must rebuild
// the committed engine's digest from the files alone, and report a snapshot or an
// entry that is not what exactly wrote.
#include "server/replica_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/engine_harness.h"
#include "replica/raft_dir_reader.h"
#include "server/replicated_log.h"
#include "server/state_digest.h"
#include "support/free_ports.h"
#include "support/temp_dir.h"

namespace exactly::server {
namespace {

using exactly::testing::FreePorts;

namespace fs = std::filesystem;
using core::testing::ClaimCmd;
using core::testing::kT0;

// Past the log's snapshot threshold of 1024 entries: one batch an entry, but for
// kMergedBatches near the end proposed kWindow at a time, which the log merges into
// entries of several records (log_entry.h, version 2).
constexpr int kBatches = 1200;
constexpr int kMergedBatches = 100;

class RecordingSink : public ReplicatedLog::Sink {
 public:
  void OnCommittedRecord(Lsn, bool, std::string_view) override {}
  void OnRestored(std::string_view) override {}
  void OnLogDone(uint64_t seq, const replica::ProposeResult& result) override {
    done[seq] = result.outcome;
  }
  void OnRaftStatus(const replica::RaftStatus& status) override {
    leader = status.role == replica::Role::kLeader;
  }
  void OnLogFailure(const base::Status& status) override { failure = status; }

  std::map<uint64_t, replica::ProposeOutcome> done;
  bool leader = false;
  base::Status failure;
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

// Runs the loop until `done` or a minute passed.
template <typename Predicate>
bool RunUntil(boost::asio::io_context& io, Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

class ReplicaCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = new testing::TempDir();  // NOLINT: the suite's, freed in TearDownTestSuite
    const std::string raft_dir = source_->File("raft");
    fs::create_directory(raft_dir);
    const uint16_t port = static_cast<uint16_t>(FreePorts(1)[0]);
    ReplicationConfig config;
    config.node_id = 1;
    config.raft_bind = "127.0.0.1:" + std::to_string(port);
    PeerConfig self;
    self.id = 1;
    self.resp_host = "127.0.0.1";
    self.resp_port = 1;
    self.raft_host = "127.0.0.1";
    self.raft_port = port;
    config.peers.push_back(self);

    boost::asio::io_context io;
    RecordingSink sink;
    ReplicatedLog log(io, core::EngineConfig{});
    base::Status started = log.Start(config, raft_dir, &sink);
    ASSERT_TRUE(started.ok()) << started.ToString();
    ASSERT_TRUE(RunUntil(io, [&] { return sink.leader; }));
    // The leader's side of the pipeline: apply, then propose the batch's record.
    core::Engine engine;
    for (int i = 0; i < kBatches; ++i) {
      const bool merged = i >= kBatches - kMergedBatches - 10 && i < kBatches - 10;
      const uint64_t window = merged ? 32 : 1;
      std::vector<core::Command> commands;
      commands.push_back(ClaimCmd("k" + std::to_string(i), "owner" + std::to_string(i % 7)));
      core::BatchOutput out;
      const Lsn lsn{static_cast<uint64_t>(i) + 1};
      engine.ApplyBatch(commands, TimestampMs{kT0 + i}, lsn, &out);
      ASSERT_FALSE(out.record.empty());
      log.Propose(static_cast<uint64_t>(i), lsn, out.record);
      if (static_cast<uint64_t>(i) >= window) {
        ASSERT_TRUE(
            RunUntil(io, [&] { return sink.done.size() + window > static_cast<size_t>(i); }));
      }
    }
    ASSERT_TRUE(RunUntil(io, [&] { return sink.done.size() == static_cast<size_t>(kBatches); }));
    for (const auto& [seq, outcome] : sink.done) {
      ASSERT_EQ(outcome, replica::ProposeOutcome::kApplied) << "batch " << seq;
    }
    ASSERT_TRUE(sink.failure.ok()) << sink.failure.ToString();
    Lsn committed_lsn;
    committed_digest_ = StateDigest(log.CommittedState(&committed_lsn));
    committed_lsn_ = committed_lsn;
    log.Stop();
  }
  static void TearDownTestSuite() {
    delete source_;  // NOLINT
    source_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(source_, nullptr);
    fs::copy(source_->path(), dir_.path(), fs::copy_options::recursive);
  }

  std::string RaftDir() const { return dir_.File("raft"); }
  std::string Find(const std::string& prefix) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(RaftDir())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && name.find(".meta") == std::string::npos) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    return names.empty() ? std::string() : names.back();
  }

  static testing::TempDir* source_;
  static uint64_t committed_digest_;
  static Lsn committed_lsn_;
  testing::TempDir dir_;
};

testing::TempDir* ReplicaCheckTest::source_ = nullptr;
uint64_t ReplicaCheckTest::committed_digest_ = 0;
Lsn ReplicaCheckTest::committed_lsn_;

TEST_F(ReplicaCheckTest, RebuildsTheCommittedEngineFromTheFiles) {
  auto report = VerifyReplica(RaftDir());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->raft.snapshot.has_value()) << "over 1100 entries pass the snapshot threshold";
  EXPECT_GT(report->snapshot_lsn.value, 0u);
  EXPECT_GT(report->batches_replayed, 0u);
  EXPECT_EQ(report->snapshot_lsn.value + report->batches_replayed, Lsn{kBatches}.value);
  EXPECT_EQ(report->applied_lsn, committed_lsn_);
  EXPECT_EQ(report->applied_lsn, Lsn{kBatches});
  EXPECT_NE(committed_digest_, 0u);
  EXPECT_EQ(report->state_digest, committed_digest_);
  EXPECT_EQ(report->stats.claims, static_cast<size_t>(kBatches));
  EXPECT_EQ(report->raft.commands, report->raft.last_index - report->raft.first_index + 1 -
                                       report->raft.barriers - report->raft.changes);
  // Some entries carried several batches, and all of them replayed.
  EXPECT_LT(report->raft.last_index, static_cast<uint64_t>(kBatches));
}

TEST_F(ReplicaCheckTest, FindsTheRaftDirUnderTheDataDir) {
  EXPECT_EQ(FindRaftDir(dir_.path()), RaftDir());
  EXPECT_EQ(FindRaftDir(RaftDir()), RaftDir());
  testing::TempDir journal_dir;
  EXPECT_EQ(FindRaftDir(journal_dir.path()), "");
}

TEST_F(ReplicaCheckTest, CheckPrintsTheDigestAndExitCodes) {
  ::testing::internal::CaptureStdout();
  const int ok = CheckDataDir(dir_.path(), "auto");
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(ok, 0) << out;
  char digest[32];
  std::snprintf(digest, sizeof digest, "state_digest:%016llx\n",
                static_cast<unsigned long long>(committed_digest_));
  EXPECT_NE(out.find(digest), std::string::npos) << out;
  EXPECT_NE(out.find("applied_lsn:" + std::to_string(kBatches) + "\n"), std::string::npos) << out;

  WriteBytes(RaftDir() + "/" + Find("snapshot-"), "not a state");
  ::testing::internal::CaptureStdout();
  const int damaged = CheckDataDir(dir_.path(), "replica");
  const std::string corrupt = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(damaged, 1) << corrupt;
  EXPECT_EQ(corrupt.rfind("corrupt: ", 0), 0u) << corrupt;

  testing::TempDir empty;
  EXPECT_EQ(CheckReplica(empty.path()), 2);  // no raft log there
  EXPECT_EQ(CheckReplica(empty.File("missing")), 2);
}

TEST_F(ReplicaCheckTest, SnapshotThatIsNotAnEngineState) {
  const std::string snapshot = Find("snapshot-");
  ASSERT_FALSE(snapshot.empty());
  std::string bytes = ReadBytes(RaftDir() + "/" + snapshot);
  bytes[0] = 99;  // the state's version byte
  WriteBytes(RaftDir() + "/" + snapshot, bytes);
  auto report = VerifyReplica(RaftDir());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find(snapshot + " does not decode as an engine snapshot"),
            std::string::npos)
      << report.status().ToString();
}

// Rewrites the first entry of the last batch of the log's newest segment with
// `change` (given the entry's bytes: the glue's frame) and recomputes the batch's data
// checksum, as a writer with a bug would have; returns the segment's name and the
// entry's offset in it.
std::pair<std::string, uint64_t> RewriteLastBatch(const std::string& raft_dir,
                                                  void (*change)(char* frame)) {
  auto intact = VerifyReplica(raft_dir);
  EXPECT_TRUE(intact.ok());
  const std::string name = intact->raft.segments.back().name;
  const std::string path = raft_dir + "/" + name;
  std::string bytes = ReadBytes(path);
  // The last batch of the segment: walk the batches (layout in raft_dir_reader.h).
  uint64_t at = 8;
  uint64_t batch = 0;
  while (at < bytes.size()) {
    batch = at;
    uint64_t n = 0;
    std::memcpy(&n, bytes.data() + at + 8, 8);
    uint64_t data = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t len = 0;
      std::memcpy(&len, bytes.data() + at + 16 + 16 * i + 12, 4);
      data += len;
    }
    at += 16 + 16 * n + data;
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data() + batch + 8, 8);
  const uint64_t data_at = batch + 16 + 16 * n;
  change(bytes.data() + data_at);
  const uint32_t crc = replica::RaftCrc32(std::string_view(bytes).substr(data_at));
  std::memcpy(bytes.data() + batch + 4, &crc, 4);
  WriteBytes(path, bytes);
  return {name, data_at};
}

// An entry whose checksums verify but whose bytes are not an exactly batch.
TEST_F(ReplicaCheckTest, EntryThatIsNotAnExactlyBatch) {
  // Inside the frame: u64 length, then the entry's version byte (1 and 2 exist).
  const auto [name, offset] = RewriteLastBatch(RaftDir(), [](char* frame) { frame[8] = 3; });
  auto report = VerifyReplica(RaftDir());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find(name + " at byte " + std::to_string(offset)),
            std::string::npos)
      << report.status().ToString();
  EXPECT_NE(report.status().message().find("not an exactly raft entry: version 3"),
            std::string::npos)
      << report.status().ToString();
}

// A batch number out of sequence: what a lost entry looks like from the next one.
TEST_F(ReplicaCheckTest, BatchNumberThatJumps) {
  // Frame length (8), then a version 2 entry's head (13, log_entry.h), then its first
  // record's batch LSN, low byte first.
  RewriteLastBatch(RaftDir(), [](char* frame) { frame[21] = static_cast<char>(frame[21] + 1); });
  auto report = VerifyReplica(RaftDir());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("numbered one after another"), std::string::npos)
      << report.status().ToString();
}

}  // namespace
}  // namespace exactly::server
