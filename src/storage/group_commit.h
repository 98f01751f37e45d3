// GroupCommit: the journal's writer and syncer. It takes the records the engine
// submits, writes them and covers them with one fdatasync per group, so the cost of
// a sync is shared by every command that arrived while the previous one ran.
//
// Where the write and the sync run (CommitThread):
//  - kOwn: on the journal's own thread, which writes every queued record in one go.
//    The submitter never blocks. --fsync everysec needs it (the thread syncs on
//    time, with no submit to prompt it).
//  - kCaller: inside Submit, on the submitter's thread, as Redis writes its AOF. No
//    wake-up between threads per batch, and batches grow while the caller is busy
//    writing. The server uses it for --fsync no, where a write only reaches the page
//    cache: unpipelined claims over 64 connections measured 4.87 -> 3.90 us of
//    server CPU per request. (With --fsync always it measured 6.65 -> 5.30 us, but
//    the event loop would then stop for every fdatasync, PING and reads included.)
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/histogram.h"
#include "base/status.h"
#include "base/units.h"
#include "storage/journal_writer.h"

namespace exactly::storage {

// When a record counts as durable (the server's --fsync flag).
enum class FsyncMode {
  kAlways,    // after the fdatasync that covers it
  kEverySec,  // after its write; fdatasync at most once a second (and at Stop)
  kNo,        // after its write; never synced except at Stop (the OS decides)
};

enum class CommitThread { kOwn, kCaller };

// The buckets of sync_latency_ns(), in nanoseconds: 50 us to 10 s, 1-2.5-5 steps,
// around an SSD's fdatasync (tens of us to a few ms) and a disk's (tens of ms).
inline constexpr std::array<uint64_t, 17> kSyncLatencyBoundsNs = {
    50'000,      100'000,      250'000,      500'000,      1'000'000,    2'500'000,
    5'000'000,   10'000'000,   25'000'000,   50'000'000,   100'000'000,  250'000'000,
    500'000'000, 1000'000'000, 2500'000'000, 5000'000'000, 10000'000'000};

class GroupCommit {
 public:
  // With kOwn, starts the sync thread. on_durable(lsn) means every record up to lsn is
  // durable in the sense of `mode`; it is called from the sync thread with
  // strictly increasing lsns. The first write or sync error latches:
  // on_failure(status) is called once from the sync thread, nothing is reported
  // durable after it, and later Submits are dropped. Both callbacks must not call
  // back into this object except durable_lsn() and failed(). With kCaller they run
  // on the submitter's thread, inside Submit and Stop. kEverySec requires kOwn.
  GroupCommit(std::unique_ptr<JournalWriter> writer, FsyncMode mode,
              std::function<void(Lsn)> on_durable, std::function<void(base::Status)> on_failure,
              CommitThread thread = CommitThread::kOwn);
  ~GroupCommit();  // Stop()
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues one record and returns at once (kOwn), or writes it and (per mode)
  // syncs it before returning (kCaller). Lsns must be consecutive (the
  // writer's last lsn + 1, then + 1 each time); a gap latches a failure.
  // Thread-safe, but the caller must order the lsns, so in practice one thread
  // (the engine's) submits.
  void Submit(Lsn lsn, std::string payload);
  // Writes and syncs everything queued (in every mode), reports it, and joins the
  // sync thread. Later Submits are dropped. Idempotent.
  void Stop();

  // The sync hold (kAlways with kOwn only; off until enabled). After each sync the
  // journal thread holds the next one back until the submitter calls ReleaseHold
  // with an lsn at least the one that sync reported durable, or until the hold has
  // lasted as long as that sync took, whichever comes first; Stop ends it at once.
  // The submitter releases when the clients answered by that report have sent
  // their next commands, so those join the next sync instead of waiting for the
  // one after it (docs/ARCHITECTURE.md, "Threads"). Only a sync is delayed:
  // nothing is reported durable before its fdatasync returns. Call before the
  // first Submit; returns false (and enables nothing) in other modes.
  bool EnableSyncHold();
  // Ends the hold of the sync that reported `durable` (or an earlier one), waking
  // the journal thread when records wait. Thread-safe; cheap when nothing is held.
  void ReleaseHold(Lsn durable);

  // Highest lsn reported durable so far; thread-safe.
  Lsn durable_lsn() const { return Lsn{durable_lsn_.load(std::memory_order_acquire)}; }
  // Whether a write or sync has failed; thread-safe.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // Successful fdatasyncs and the records they covered, for INFO: their ratio is
  // the group size that makes a sync's cost shared. Thread-safe.
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  uint64_t synced_records() const { return synced_records_.load(std::memory_order_relaxed); }
  // Per successful fdatasync, for GET /metrics: how long Sync took (the write of
  // what was buffered, then the fdatasync), and how many records it covered.
  // Kept by the thread that syncs, one clock reading before and after; thread-safe.
  base::HistogramSnapshot sync_latency_ns() const { return sync_latency_ns_.Read(); }
  base::HistogramSnapshot records_per_sync() const { return records_per_sync_.Read(); }
  // Syncs of records that were queued while a hold was in force, and the holds
  // that ended by their bound with records waiting, rather than by ReleaseHold or
  // Stop (a high share means the clients answered rarely come back within a
  // sync's time). Thread-safe.
  uint64_t held_syncs() const { return held_syncs_.load(std::memory_order_relaxed); }
  uint64_t hold_timeouts() const { return hold_timeouts_.load(std::memory_order_relaxed); }

 private:
  struct Pending {
    Lsn lsn;
    std::string payload;
  };

  void Run();
  // Writes `batch` and (per mode) syncs; false once failed.
  bool WriteBatch(std::vector<Pending>& batch, bool force_sync);
  void Fail(base::Status status);
  void ReportDurable(Lsn lsn);

  const std::unique_ptr<JournalWriter> writer_;
  const FsyncMode mode_;
  const CommitThread commit_thread_;
  const std::function<void(Lsn)> on_durable_;
  const std::function<void(base::Status)> on_failure_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  bool idle_ = false;           // guarded by mutex_: the thread waits for work
  // The sync hold. hold_lsn_: the durable lsn of the sync whose hold is in force
  // (0: none); released_lsn_: the highest lsn ReleaseHold was given, kept so that a
  // release that comes before the thread sets the hold still counts.
  std::atomic<bool> hold_enabled_{false};
  uint64_t hold_lsn_ = 0;                             // guarded by mutex_
  uint64_t released_lsn_ = 0;                         // guarded by mutex_
  std::chrono::steady_clock::time_point hold_until_;  // guarded by mutex_
  bool queued_while_held_ = false;  // guarded by mutex_: records of the queue waited on a hold
  std::atomic<uint64_t> held_syncs_{0};
  std::atomic<uint64_t> hold_timeouts_{0};
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> durable_lsn_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> synced_records_{0};
  base::Histogram sync_latency_ns_{kSyncLatencyBoundsNs};
  base::Histogram records_per_sync_{base::kPowerOfTwoBounds};
  // Written since the last sync; touched only by whichever thread writes.
  uint64_t unsynced_records_ = 0;
  // The last sync's end and duration (write + fdatasync): when a hold after it
  // starts, and its bound. Touched only by the thread that syncs.
  std::chrono::steady_clock::time_point last_sync_end_;
  std::chrono::nanoseconds last_sync_ns_{0};
  std::vector<Pending> caller_batch_;  // kCaller: Submit's one-record batch, reused

  std::mutex stop_mutex_;  // serializes Stop()
  std::thread thread_;
};

}  // namespace exactly::storage
