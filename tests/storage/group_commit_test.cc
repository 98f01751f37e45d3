// GroupCommit: coalescing, monotonic durable reports, and latched failures.
#include "storage/group_commit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/storage_test_util.h"
#include "support/fault_file.h"

namespace exactly::storage {
namespace {

using test::ExpectRecords;
using test::kDir;
using test::PayloadFor;
using test::RecoverAll;
using testing::FaultFileSystem;

// Records what the callbacks saw, and lets a test wait for a durable lsn.
class Observer {
 public:
  std::function<void(Lsn)> OnDurable() {
    return [this](Lsn lsn) {
      std::lock_guard<std::mutex> lock(mutex_);
      durable_.push_back(lsn.value);
      changed_.notify_all();
    };
  }
  std::function<void(base::Status)> OnFailure() {
    return [this](base::Status status) {
      std::lock_guard<std::mutex> lock(mutex_);
      failures_.push_back(std::move(status));
      changed_.notify_all();
    };
  }
  void WaitDurable(uint64_t lsn) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !durable_.empty() && durable_.back() >= lsn; });
  }
  void WaitFailure() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !failures_.empty(); });
  }
  std::vector<uint64_t> durable() {
    std::lock_guard<std::mutex> lock(mutex_);
    return durable_;
  }
  std::vector<base::Status> failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<uint64_t> durable_;
  std::vector<base::Status> failures_;
};

std::unique_ptr<JournalWriter> Writer(FaultFileSystem& fs, Lsn last = Lsn{0}) {
  auto writer = OpenJournalWriter(fs, kDir, last);
  EXACTLY_ASSERT(writer.ok());
  return std::move(writer.value());
}

void ExpectStrictlyIncreasing(const std::vector<uint64_t>& lsns) {
  for (size_t i = 1; i < lsns.size(); ++i) EXPECT_LT(lsns[i - 1], lsns[i]) << "at " << i;
}

TEST(GroupCommitTest, ManyThreadsSubmittingEveryLsnBecomesDurableInOrder) {
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 300;
  FaultFileSystem fs;
  Observer observer;
  {
    GroupCommit commit(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure());
    // The engine orders lsns; here a mutex stands in for it.
    std::mutex order;
    uint64_t next = 1;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (uint64_t i = 0; i < kPerThread; ++i) {
          std::lock_guard<std::mutex> lock(order);
          commit.Submit(Lsn{next}, PayloadFor(Lsn{next}));
          ++next;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    observer.WaitDurable(kThreads * kPerThread);
    EXPECT_EQ(commit.durable_lsn(), Lsn{kThreads * kPerThread});
    EXPECT_FALSE(commit.failed());
  }
  std::vector<uint64_t> durable = observer.durable();
  ExpectStrictlyIncreasing(durable);
  ASSERT_FALSE(durable.empty());
  EXPECT_EQ(durable.back(), kThreads * kPerThread);
  EXPECT_TRUE(observer.failures().empty());
  // Every report followed a sync that covered it: at most one sync per report,
  // plus the segment header's at open.
  EXPECT_LE(fs.file_syncs(), static_cast<int>(durable.size()) + 1);
  fs.Crash();
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, kThreads * kPerThread);
}

// While one fdatasync runs, everything submitted meanwhile waits and is then
// covered by a single write + sync.
TEST(GroupCommitTest, SubmitsDuringASyncShareTheNextSync) {
  FaultFileSystem fs;
  std::unique_ptr<JournalWriter> writer = Writer(fs);
  std::mutex mutex;
  std::condition_variable changed;
  bool in_sync = false;
  bool release = false;
  fs.SetSyncHook([&] {
    std::unique_lock<std::mutex> lock(mutex);
    in_sync = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  });
  const int syncs_before = fs.file_syncs();
  Observer observer;
  GroupCommit commit(std::move(writer), FsyncMode::kAlways, observer.OnDurable(),
                     observer.OnFailure());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return in_sync; });
  }
  for (uint64_t lsn = 2; lsn <= 100; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
  EXPECT_EQ(commit.durable_lsn(), Lsn{0});  // the first sync has not finished
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
  }
  changed.notify_all();
  observer.WaitDurable(100);
  commit.Stop();
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1, 100}));
  EXPECT_EQ(fs.file_syncs() - syncs_before, 2);
  EXPECT_EQ(commit.syncs(), 2u);
  EXPECT_EQ(commit.synced_records(), 100u);
  // The histograms see the same two syncs: one of 1 record, one of 99.
  const base::HistogramSnapshot records = commit.records_per_sync();
  EXPECT_EQ(records.count(), 2u);
  EXPECT_EQ(records.sum, 100u);
  EXPECT_EQ(records.counts[0], 1u);  // le 1
  EXPECT_EQ(records.counts[7], 1u);  // le 128: 99 records
  EXPECT_EQ(commit.sync_latency_ns().count(), 2u);
  EXPECT_GT(commit.sync_latency_ns().sum, 0u);
}

TEST(GroupCommitTest, SyncFailureLatches) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  observer.WaitDurable(1);
  fs.FailSyncsAfter(0);
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  observer.WaitFailure();
  fs.FailSyncsAfter(-1);  // the disk recovers; the latch must not
  commit.Submit(Lsn{3}, PayloadFor(Lsn{3}));
  commit.Stop();
  EXPECT_TRUE(commit.failed());
  EXPECT_EQ(commit.durable_lsn(), Lsn{1});
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1}));
  ASSERT_EQ(observer.failures().size(), 1u);
  EXPECT_EQ(observer.failures()[0].code(), base::StatusCode::kIoError);
}

TEST(GroupCommitTest, WriteFailureLatchesAndTheTornWriteIsCutOnRecovery) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  observer.WaitDurable(1);
  fs.FailWritesAfter(0, /*torn_bytes=*/10);
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  observer.WaitFailure();
  commit.Submit(Lsn{3}, PayloadFor(Lsn{3}));
  commit.Stop();
  EXPECT_TRUE(commit.failed());
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(observer.failures().size(), 1u);
  fs.Crash(/*keep_unsynced_bytes=*/10);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 1);
  // The torn piece is the first 10 bytes of record 2, counted to its last non-zero byte.
  std::string record;
  EncodeRecord(Lsn{2}, kSegmentHeaderBytes + kRecordHeaderBytes + PayloadFor(Lsn{1}).size(),
               PayloadFor(Lsn{2}), &record);
  EXPECT_EQ(out.report.bytes_cut, DataEnd(record.substr(0, 10)));
  EXPECT_GT(out.report.bytes_cut, 0u);
}

TEST(GroupCommitTest, LsnGapLatchesAFailure) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure());
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  observer.WaitFailure();
  commit.Stop();
  EXPECT_TRUE(commit.failed());
  EXPECT_EQ(observer.failures()[0].code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(observer.durable().empty());
}

TEST(GroupCommitTest, ContinuesAfterTheRecoveredLsn) {
  FaultFileSystem fs;
  test::WriteRecords(fs, kDir, Lsn{1}, Lsn{5});
  Observer observer;
  {
    GroupCommit commit(Writer(fs, Lsn{5}), FsyncMode::kAlways, observer.OnDurable(),
                       observer.OnFailure());
    EXPECT_EQ(commit.durable_lsn(), Lsn{5});
    for (uint64_t lsn = 6; lsn <= 8; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
  }
  EXPECT_EQ(observer.durable().back(), 8u);
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 8);
}

// kNo reports after the write; until Stop nothing is synced, so a crash loses it.
TEST(GroupCommitTest, NoSyncModeReportsWrittenRecordsThatACrashLoses) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kNo, observer.OnDurable(), observer.OnFailure());
  const int syncs_before = fs.file_syncs();
  for (uint64_t lsn = 1; lsn <= 20; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
  observer.WaitDurable(20);
  EXPECT_EQ(fs.file_syncs(), syncs_before);
  fs.Crash();
  commit.Stop();  // its final sync fails: the handle died in the crash
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.records.empty());
}

TEST(GroupCommitTest, StopSyncsInEveryMode) {
  for (FsyncMode mode : {FsyncMode::kEverySec, FsyncMode::kNo}) {
    FaultFileSystem fs;
    Observer observer;
    {
      GroupCommit commit(Writer(fs), mode, observer.OnDurable(), observer.OnFailure());
      for (uint64_t lsn = 1; lsn <= 20; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
      commit.Stop();
      commit.Submit(Lsn{21}, PayloadFor(Lsn{21}));  // dropped after Stop
      EXPECT_EQ(commit.durable_lsn(), Lsn{20});
      EXPECT_GE(commit.syncs(), 1u);
      EXPECT_EQ(commit.synced_records(), 20u);
    }
    EXPECT_TRUE(observer.failures().empty());
    ExpectStrictlyIncreasing(observer.durable());
    fs.Crash();
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ExpectRecords(out.records, 1, 20);
  }
}

TEST(GroupCommitTest, EverySecSyncsWithoutFurtherSubmits) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kEverySec, observer.OnDurable(), observer.OnFailure());
  const int syncs_before = fs.file_syncs();
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  observer.WaitDurable(1);
  // No assertion on how long it takes: only that a sync comes without a Submit.
  while (fs.file_syncs() == syncs_before) std::this_thread::yield();
  fs.Crash();
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 1);
}

// kCaller: Submit itself writes and syncs, so a record is durable (and reported)
// when Submit returns, one sync per record with --fsync always, none with --fsync no
// until Stop.
TEST(GroupCommitTest, CallerThreadIsDurableWhenSubmitReturns) {
  for (FsyncMode mode : {FsyncMode::kAlways, FsyncMode::kNo}) {
    FaultFileSystem fs;
    Observer observer;
    {
      GroupCommit commit(Writer(fs), mode, observer.OnDurable(), observer.OnFailure(),
                         CommitThread::kCaller);
      const int syncs_before = fs.file_syncs();
      for (uint64_t lsn = 1; lsn <= 5; ++lsn) {
        commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
        EXPECT_EQ(commit.durable_lsn(), Lsn{lsn});
        ASSERT_FALSE(observer.durable().empty());
        EXPECT_EQ(observer.durable().back(), lsn);
      }
      EXPECT_EQ(fs.file_syncs() - syncs_before, mode == FsyncMode::kAlways ? 5 : 0);
      commit.Stop();
      commit.Submit(Lsn{6}, PayloadFor(Lsn{6}));  // dropped after Stop
      EXPECT_EQ(commit.synced_records(), 5u);
      // --fsync always: a sync of one record per Submit; no: Stop's one sync of all 5.
      const base::HistogramSnapshot records = commit.records_per_sync();
      EXPECT_EQ(records.count(), mode == FsyncMode::kAlways ? 5u : 1u);
      EXPECT_EQ(records.sum, 5u);
      EXPECT_EQ(commit.sync_latency_ns().count(), commit.syncs());
    }
    EXPECT_TRUE(observer.failures().empty());
    fs.Crash();
    test::Recovered out = RecoverAll(fs, kDir);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ExpectRecords(out.records, 1, 5);
  }
}

// A failed sync on the caller's thread latches before Submit returns: the record is
// never reported durable, and nothing after it is written.
TEST(GroupCommitTest, CallerThreadSyncFailureLatchesInsideSubmit) {
  FaultFileSystem fs;
  Observer observer;
  GroupCommit commit(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure(),
                     CommitThread::kCaller);
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  fs.FailSyncsAfter(0);
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  EXPECT_TRUE(commit.failed());
  ASSERT_EQ(observer.failures().size(), 1u);
  fs.FailSyncsAfter(-1);  // the disk recovers; the latch must not
  commit.Submit(Lsn{3}, PayloadFor(Lsn{3}));
  commit.Stop();
  EXPECT_EQ(commit.durable_lsn(), Lsn{1});
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(observer.failures().size(), 1u);
}

// The sync hold. A sync hook that blocks until the test lets it go makes the first
// sync last as long as the test likes, and so sets the bound of the hold after it.
class SlowFirstSync {
 public:
  explicit SlowFirstSync(FaultFileSystem& fs) {
    fs.SetSyncHook([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (done_) return;
      in_sync_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
      done_ = true;
    });
  }
  void WaitInSync() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return in_sync_; });
  }
  // Ends the first sync once it has lasted at least `duration`: the bound of the
  // hold that follows it.
  void FinishAfter(std::chrono::milliseconds duration) {
    std::this_thread::sleep_for(duration);
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool in_sync_ = false;
  bool released_ = false;
  bool done_ = false;
};

TEST(GroupCommitTest, SyncHoldIsOnlyForAlwaysOnItsOwnThread) {
  for (FsyncMode mode : {FsyncMode::kEverySec, FsyncMode::kNo}) {
    FaultFileSystem fs;
    Observer observer;
    GroupCommit commit(Writer(fs), mode, observer.OnDurable(), observer.OnFailure());
    EXPECT_FALSE(commit.EnableSyncHold());
  }
  FaultFileSystem fs;
  Observer observer;
  GroupCommit caller(Writer(fs), FsyncMode::kAlways, observer.OnDurable(), observer.OnFailure(),
                     CommitThread::kCaller);
  EXPECT_FALSE(caller.EnableSyncHold());
}

// After a sync, the records submitted next wait for ReleaseHold with the lsn that
// sync reported; then one sync covers them all.
TEST(GroupCommitTest, HeldSyncWaitsForItsRelease) {
  FaultFileSystem fs;
  std::unique_ptr<JournalWriter> writer = Writer(fs);  // its header's sync is not the first
  SlowFirstSync slow(fs);
  Observer observer;
  GroupCommit commit(std::move(writer), FsyncMode::kAlways, observer.OnDurable(),
                     observer.OnFailure());
  ASSERT_TRUE(commit.EnableSyncHold());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  slow.WaitInSync();
  slow.FinishAfter(std::chrono::seconds(2));  // the hold after it may last 2 s
  observer.WaitDurable(1);
  const int syncs_before = fs.file_syncs();
  for (uint64_t lsn = 2; lsn <= 10; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // far below the bound
  EXPECT_EQ(commit.durable_lsn(), Lsn{1});
  EXPECT_EQ(fs.file_syncs(), syncs_before);
  commit.ReleaseHold(Lsn{0});  // an older report's release ends nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(commit.durable_lsn(), Lsn{1});
  commit.ReleaseHold(Lsn{1});
  observer.WaitDurable(10);
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1, 10}));
  EXPECT_EQ(fs.file_syncs() - syncs_before, 1);
  EXPECT_EQ(commit.held_syncs(), 1u);
  EXPECT_EQ(commit.hold_timeouts(), 0u);
  commit.Stop();
  EXPECT_TRUE(observer.failures().empty());
}

// Nobody releases: the hold ends by itself at its bound (the last sync's duration),
// and the records are synced and reported.
TEST(GroupCommitTest, HeldSyncIsReleasedByItsBound) {
  FaultFileSystem fs;
  std::unique_ptr<JournalWriter> writer = Writer(fs);  // its header's sync is not the first
  SlowFirstSync slow(fs);
  Observer observer;
  GroupCommit commit(std::move(writer), FsyncMode::kAlways, observer.OnDurable(),
                     observer.OnFailure());
  ASSERT_TRUE(commit.EnableSyncHold());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  slow.WaitInSync();
  slow.FinishAfter(std::chrono::milliseconds(200));
  observer.WaitDurable(1);
  for (uint64_t lsn = 2; lsn <= 5; ++lsn) commit.Submit(Lsn{lsn}, PayloadFor(Lsn{lsn}));
  observer.WaitDurable(5);  // never released: the bound ends the hold
  EXPECT_EQ(commit.hold_timeouts(), 1u);
  EXPECT_EQ(commit.held_syncs(), 1u);
  EXPECT_EQ(observer.durable(), (std::vector<uint64_t>{1, 5}));
  commit.Stop();
  fs.Crash();
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 5);
}

// A release that comes before the journal thread has set the hold (the loop got the
// durable report and its client came back at once) still ends it: one client alone
// is never held.
TEST(GroupCommitTest, ReleaseBeforeTheHoldStartsCounts) {
  FaultFileSystem fs;
  std::unique_ptr<JournalWriter> writer = Writer(fs);  // its header's sync is not the first
  SlowFirstSync slow(fs);
  Observer observer;
  GroupCommit commit(std::move(writer), FsyncMode::kAlways, observer.OnDurable(),
                     observer.OnFailure());
  ASSERT_TRUE(commit.EnableSyncHold());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  slow.WaitInSync();
  commit.ReleaseHold(Lsn{1});                 // before the sync of lsn 1 has even returned
  slow.FinishAfter(std::chrono::seconds(1));  // a hold after it would last 1 s
  observer.WaitDurable(1);
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  observer.WaitDurable(2);
  EXPECT_EQ(commit.held_syncs(), 0u);
  EXPECT_EQ(commit.hold_timeouts(), 0u);
}

// Stop does not wait for a hold: it writes, syncs and reports what is queued.
TEST(GroupCommitTest, StopEndsAHold) {
  FaultFileSystem fs;
  std::unique_ptr<JournalWriter> writer = Writer(fs);  // its header's sync is not the first
  SlowFirstSync slow(fs);
  Observer observer;
  GroupCommit commit(std::move(writer), FsyncMode::kAlways, observer.OnDurable(),
                     observer.OnFailure());
  ASSERT_TRUE(commit.EnableSyncHold());
  commit.Submit(Lsn{1}, PayloadFor(Lsn{1}));
  slow.WaitInSync();
  slow.FinishAfter(std::chrono::seconds(1));
  observer.WaitDurable(1);
  commit.Submit(Lsn{2}, PayloadFor(Lsn{2}));
  commit.Stop();
  EXPECT_EQ(commit.durable_lsn(), Lsn{2});
  EXPECT_EQ(commit.hold_timeouts(), 0u);
  fs.Crash();
  test::Recovered out = RecoverAll(fs, kDir);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ExpectRecords(out.records, 1, 2);
}

}  // namespace
}  // namespace exactly::storage
