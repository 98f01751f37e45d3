// The sync thread: swaps the queue out, writes it, one fdatasync for all of it.
#include "storage/group_commit.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/assert.h"

namespace exactly::storage {
namespace {

constexpr auto kEverySecInterval = std::chrono::seconds(1);

}  // namespace

GroupCommit::GroupCommit(std::unique_ptr<JournalWriter> writer, FsyncMode mode,
                         std::function<void(Lsn)> on_durable,
                         std::function<void(base::Status)> on_failure, CommitThread commit_thread)
    : writer_(std::move(writer)),
      mode_(mode),
      commit_thread_(commit_thread),
      on_durable_(std::move(on_durable)),
      on_failure_(std::move(on_failure)) {
  EXACTLY_ASSERT(writer_ != nullptr);
  durable_lsn_.store(writer_->last_lsn().value, std::memory_order_release);
  // Only a thread of its own syncs on time, with no submit to prompt it.
  EXACTLY_ASSERT(commit_thread_ == CommitThread::kOwn || mode_ != FsyncMode::kEverySec);
  if (commit_thread_ == CommitThread::kOwn) thread_ = std::thread([this] { Run(); });
}

GroupCommit::~GroupCommit() { Stop(); }

void GroupCommit::Submit(Lsn lsn, std::string payload) {
  if (commit_thread_ == CommitThread::kCaller) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || failed()) return;
    }
    caller_batch_.push_back(Pending{lsn, std::move(payload)});
    WriteBatch(caller_batch_, /*force_sync=*/false);
    caller_batch_.clear();
    return;
  }
  bool idle = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || failed()) return;
    queue_.push_back(Pending{lsn, std::move(payload)});
    queued_while_held_ = queued_while_held_ || hold_lsn_ != 0;
    idle = idle_ && hold_lsn_ == 0;
  }
  // A busy sync thread takes the queue when it finishes its write; waking it
  // would only cost the engine thread a futex call per batch. A held one is woken
  // by ReleaseHold, or wakes at the hold's bound.
  if (idle) wake_.notify_one();
}

bool GroupCommit::EnableSyncHold() {
  if (mode_ != FsyncMode::kAlways || commit_thread_ != CommitThread::kOwn) return false;
  hold_enabled_.store(true, std::memory_order_release);
  return true;
}

void GroupCommit::ReleaseHold(Lsn durable) {
  if (!hold_enabled_.load(std::memory_order_relaxed)) return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released_lsn_ = std::max(released_lsn_, durable.value);
    if (hold_lsn_ == 0 || hold_lsn_ > durable.value) return;
    hold_lsn_ = 0;
    wake = idle_ && !queue_.empty();
  }
  if (wake) wake_.notify_one();
}

void GroupCommit::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (commit_thread_ == CommitThread::kCaller && !failed() && writer_->unsynced_bytes() != 0) {
    // What --fsync no left unsynced; the empty batch only syncs and reports.
    WriteBatch(caller_batch_, /*force_sync=*/true);
  }
}

void GroupCommit::Fail(base::Status status) {
  failed_.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
  }
  if (on_failure_) on_failure_(std::move(status));
}

void GroupCommit::ReportDurable(Lsn lsn) {
  if (lsn.value <= durable_lsn_.load(std::memory_order_relaxed)) return;
  durable_lsn_.store(lsn.value, std::memory_order_release);
  if (on_durable_) on_durable_(lsn);
}

bool GroupCommit::WriteBatch(std::vector<Pending>& batch, bool force_sync) {
  // --fsync always: a write starts only after the previous write's fdatasync has
  // returned (the end of this function, or the writer's segment roll), so at a power
  // cut at most the journal's last write can be on disk in part, in any order of
  // its pages. That is what lets recovery cut such a write as a torn tail, and
  // call damage followed by a later write corruption (docs/journal_format.md).
  if (mode_ == FsyncMode::kAlways) EXACTLY_ASSERT(writer_->unsynced_bytes() == 0);
  for (const Pending& record : batch) {
    base::Status status = writer_->Append(record.lsn, record.payload);
    if (!status.ok()) {
      Fail(std::move(status));
      return false;
    }
  }
  unsynced_records_ += batch.size();
  const bool sync = mode_ == FsyncMode::kAlways || force_sync;
  // One clock reading either side of a sync: nothing next to the fdatasync itself.
  const auto sync_start =
      sync ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  base::Status status = sync ? writer_->Sync() : writer_->Flush();
  if (!status.ok()) {
    Fail(std::move(status));
    return false;
  }
  if (sync) {
    last_sync_end_ = std::chrono::steady_clock::now();
    const auto sync_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_sync_end_ - sync_start);
    last_sync_ns_ = sync_ns;
    sync_latency_ns_.Observe(static_cast<uint64_t>(sync_ns.count()));
    records_per_sync_.Observe(unsynced_records_);
    syncs_.fetch_add(1, std::memory_order_relaxed);
    synced_records_.fetch_add(unsynced_records_, std::memory_order_relaxed);
    unsynced_records_ = 0;
  }
  ReportDurable(writer_->last_lsn());
  return true;
}

void GroupCommit::Run() {
  // Two vectors trade places so their capacity is reused: no allocation per
  // record beyond the payload the caller moved in.
  std::vector<Pending> batch;
  auto last_sync = std::chrono::steady_clock::now();
  bool unsynced = false;  // kEverySec / kNo: written but not yet fdatasync'ed
  uint64_t hold_lsn = 0;  // the lsn the last sync reported, when a hold follows it
  while (true) {
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (hold_lsn > released_lsn_) {
        hold_lsn_ = hold_lsn;
        hold_until_ = last_sync_end_ + last_sync_ns_;
        queued_while_held_ = !queue_.empty();
      }
      hold_lsn = 0;
      auto ready = [this] { return stopping_ || (!queue_.empty() && hold_lsn_ == 0); };
      idle_ = true;
      if (mode_ == FsyncMode::kEverySec && unsynced) {
        wake_.wait_until(lock, last_sync + kEverySecInterval, ready);
      } else {
        while (!ready()) {
          if (hold_lsn_ == 0) {
            wake_.wait(lock);
            continue;
          }
          wake_.wait_until(lock, hold_until_);
          if (hold_lsn_ != 0 && std::chrono::steady_clock::now() >= hold_until_) {
            hold_lsn_ = 0;  // the bound: the clients did not all come back in time
            if (!queue_.empty()) hold_timeouts_.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
      idle_ = false;
      if (queued_while_held_ && !queue_.empty()) {
        held_syncs_.fetch_add(1, std::memory_order_relaxed);
      }
      queued_while_held_ = false;
      batch.swap(queue_);
      stopping = stopping_;
    }
    bool sync_due = mode_ == FsyncMode::kEverySec &&
                    std::chrono::steady_clock::now() - last_sync >= kEverySecInterval;
    if (!batch.empty() || (stopping && unsynced) || (sync_due && unsynced)) {
      bool force_sync = stopping || sync_due;
      if (!WriteBatch(batch, force_sync)) break;
      batch.clear();
      if (mode_ == FsyncMode::kAlways || force_sync) {
        unsynced = false;
        last_sync = std::chrono::steady_clock::now();
      } else {
        unsynced = true;
      }
      if (!stopping && hold_enabled_.load(std::memory_order_acquire))
        hold_lsn = durable_lsn_.load(std::memory_order_relaxed);
    }
    if (stopping) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) break;
    }
  }
}

}  // namespace exactly::storage
